import { describe, expect, it } from 'vitest';
import { FUTURE_INPUTS_MAX } from '../../consensus/stateMachine.js';
import { CONSENSUS_MESSAGE_BYTES_MAX, MessageValidator } from '../../consensus/validation.js';
import { scanWal, WAL_FRAME_HEADER_BYTES } from '../../consensus/wal.js';
import { WAL_RECORD_BYTES_MAX } from '../../consensus/walRecord.js';
import { VOTE_PREVOTE } from '../../core/block.js';
import { parseCli } from '../../devnet/sim/options.js';
import { SIM_NODES_MAX } from '../../devnet/sim/simulation.js';
import { CHAIN, Harness, vote } from './helpers.js';

describe('named limits, at and just above', () => {
  it(`FUTURE_INPUTS_MAX (${FUTURE_INPUTS_MAX}) early messages are held, the next is dropped and counted`, () => {
    const h = new Harness();
    h.input({ type: 'start' });
    for (let i = 0; i < FUTURE_INPUTS_MAX; i++) {
      h.input({ type: 'vote', vote: vote(h.keys[i % 4], VOTE_PREVOTE, 2, i % 100, null) });
    }
    expect(h.state.future.length).toBe(FUTURE_INPUTS_MAX);
    const ignored = h.state.ignored;
    h.input({ type: 'vote', vote: vote(h.keys[1], VOTE_PREVOTE, 2, 0, null) });
    expect(h.state.future.length).toBe(FUTURE_INPUTS_MAX);
    expect(h.state.ignored).toBe(ignored + 1);
  });

  it(`CONSENSUS_MESSAGE_BYTES_MAX (${CONSENSUS_MESSAGE_BYTES_MAX}): one byte more is a DECODE rejection`, () => {
    const v = new MessageValidator();
    const ctx = { chainId: CHAIN, height: 1, validatorsAt: () => null };
    const r = v.validateBytes(new Uint8Array(CONSENSUS_MESSAGE_BYTES_MAX + 1), ctx);
    expect(r).toMatchObject({
      ok: false,
      reason: 'DECODE',
      detail: expect.stringMatching(/exceeds the limit/),
    });
  });

  it(`WAL_RECORD_BYTES_MAX (${WAL_RECORD_BYTES_MAX}): a frame claiming one byte more is corrupt`, () => {
    const frame = new Uint8Array(WAL_FRAME_HEADER_BYTES + WAL_RECORD_BYTES_MAX + 1);
    new DataView(frame.buffer).setUint32(0, WAL_RECORD_BYTES_MAX + 1);
    expect(scanWal(frame)).toMatchObject({ tail: 'corrupt', validBytes: 0 });
    new DataView(frame.buffer).setUint32(0, WAL_RECORD_BYTES_MAX);
    expect(scanWal(frame.subarray(0, frame.length - 1)).tail).toBe('corrupt'); // right length, bad checksum
  });

  it(`SIM_NODES_MAX (${SIM_NODES_MAX}) nodes are accepted, one more is not`, () => {
    expect(parseCli(['--nodes', String(SIM_NODES_MAX)]).nodes).toBe(SIM_NODES_MAX);
    expect(() => parseCli(['--nodes', String(SIM_NODES_MAX + 1)])).toThrow(/--nodes must be in \[1, 64\]/);
  });
});
