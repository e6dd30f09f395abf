import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsensusDriver, type DriverEffects } from '../../consensus/driver.js';
import type { CoreInput } from '../../consensus/messages.js';
import { FileSignerStateStore, SignerGuard } from '../../consensus/signerGuard.js';
import { createState } from '../../consensus/stateMachine.js';
import type { ConsensusMessage } from '../../consensus/validation.js';
import { FileWalBackend, frameRecord, scanWal, WAL_FRAME_HEADER_BYTES, Wal } from '../../consensus/wal.js';
import { encodeWalInput, type WalInput } from '../../consensus/walRecord.js';
import { VOTE_PRECOMMIT, VOTE_PREVOTE } from '../../core/block.js';
import { sign } from '../../core/keys.js';
import { CHAIN, Harness, hashOf, proposal, TIMEOUTS, validators, vote } from './helpers.js';

const A = hashOf('A');
const B = hashOf('B');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ol-wal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const { keys, set } = validators([1, 1, 1, 1]);
const sampleInputs: WalInput[] = [
  { type: 'proposal', proposal: proposal(keys[set.proposerIndex(0)], 1, 0, A) },
  { type: 'vote', vote: vote(keys[1], VOTE_PREVOTE, 1, 0, A) },
  { type: 'timeout', kind: 'prevote', height: 1, round: 0 },
  { type: 'proposalBuilt', height: 1, round: 2, blockHash: B },
  { type: 'valueValidity', height: 1, blockHash: A, valid: false },
  { type: 'vote', vote: vote(keys[2], VOTE_PRECOMMIT, 1, 0, null) },
];
const frames = (inputs: WalInput[]) => {
  const parts = inputs.map((i) => frameRecord(encodeWalInput(i)));
  return Buffer.concat(parts);
};

describe('WAL framing', () => {
  it('round-trips every record kind', () => {
    const scan = scanWal(frames(sampleInputs));
    expect(scan.tail).toBe('clean');
    expect(scan.inputs).toEqual(sampleInputs);
  });

  it('ignores a torn last record, whatever byte the write stopped at', () => {
    const whole = frames(sampleInputs);
    const lastStart = frames(sampleInputs.slice(0, -1)).length;
    for (let cut = lastStart + 1; cut < whole.length; cut++) {
      const scan = scanWal(whole.subarray(0, cut));
      expect(scan.tail).toBe('torn');
      expect(scan.validBytes).toBe(lastStart);
      expect(scan.inputs).toEqual(sampleInputs.slice(0, -1));
    }
  });

  it('stops at a corrupt record: flipped payload bit, bad length, valid checksum over garbage', () => {
    const whole = frames(sampleInputs);
    const third = frames(sampleInputs.slice(0, 2)).length;
    const flipped = Buffer.from(whole);
    flipped[third + WAL_FRAME_HEADER_BYTES + 3] ^= 0x10;
    expect(scanWal(flipped)).toMatchObject({ tail: 'corrupt', validBytes: third });
    const badLength = Buffer.from(whole);
    badLength.writeUInt32BE(0xffff_ffff, third);
    expect(scanWal(badLength)).toMatchObject({ tail: 'corrupt', validBytes: third });
    const zero = Buffer.from(whole);
    zero.writeUInt32BE(0, third);
    expect(scanWal(zero)).toMatchObject({ tail: 'corrupt', validBytes: third });
    const garbage = Buffer.concat([whole.subarray(0, third), frameRecord(new Uint8Array([0x93, 9, 9, 9]))]);
    expect(scanWal(garbage)).toMatchObject({ tail: 'corrupt', validBytes: third });
  });

  it('open() cuts a damaged tail on disk so new records follow intact ones; rotation drops old heights', () => {
    const backend = new FileWalBackend(dir);
    const wal = new Wal(backend);
    wal.open(1);
    for (const i of sampleInputs.slice(0, 3)) wal.append(i);
    wal.sync();
    backend.close();
    const path = join(dir, 'wal-000000000001.log');
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 5));
    const wal2 = new Wal(new FileWalBackend(dir));
    const opened = wal2.open(1);
    expect(opened).toMatchObject({ tail: 'torn', inputs: sampleInputs.slice(0, 2) });
    expect(opened.droppedBytes).toBeGreaterThan(0);
    wal2.append(sampleInputs[3]);
    wal2.sync();
    expect(scanWal(readFileSync(path)).inputs).toEqual([...sampleInputs.slice(0, 2), sampleInputs[3]]);
    wal2.rotate(2);
    wal2.rotate(3);
    wal2.rotate(4);
    expect(readdirSync(dir).sort()).toEqual(['wal-000000000003.log', 'wal-000000000004.log']);
  });
});

/** A node of a 4-validator set run through the real driver with files, recording what it sent. */
class Node {
  readonly sent: ConsensusMessage[] = [];
  readonly driver: ConsensusDriver;
  readonly backend: FileWalBackend;

  constructor(
    readonly home: string,
    readonly self: number,
  ) {
    this.backend = new FileWalBackend(join(home, 'wal'));
    const effects: DriverEffects = {
      broadcast: (m) => this.sent.push(m),
      scheduleTimeout: () => {},
      buildProposal: () => {},
      validateValue: () => {},
      decide: () => {},
      evidence: () => {},
    };
    const guard = new SignerGuard(
      CHAIN,
      (m) => sign(m, keys[self].secretKey),
      new FileSignerStateStore(join(home, 'signer.bin')),
    );
    const state = createState({
      chainId: CHAIN,
      self: keys[self].address,
      height: 1,
      validators: set,
      nextValidators: set.next([]),
      timeouts: TIMEOUTS,
    });
    this.driver = new ConsensusDriver(state, new Wal(this.backend), guard, effects);
  }
}

const keyText = (m: ConsensusMessage): string =>
  m.type === 'vote'
    ? `${m.vote.kind}/${m.vote.round}`
    : m.type === 'proposal'
      ? `p/${m.proposal.round}`
      : 'e';
const valueText = (m: ConsensusMessage): string =>
  m.type === 'vote'
    ? String(m.vote.blockHash && Buffer.from(m.vote.blockHash).toString('hex'))
    : m.type === 'proposal'
      ? Buffer.from(m.proposal.blockHash).toString('hex')
      : '';

describe('crash and replay at every WAL boundary', () => {
  it('comes back with its lock, and never signs anything conflicting, wherever the log was cut', () => {
    const self = Harness.nonProposerFor([0, 1, 2]);
    const rest = [0, 1, 2, 3].filter((i) => i !== self);
    // The external inputs of one height: lock A in round 0, refuse B in round 1, see a round-1
    // polka for B late, then unlock for B in round 2 (as in the scripted core tests).
    const script: CoreInput[] = [
      { type: 'proposal', proposal: proposal(keys[set.proposerIndex(0)], 1, 0, A) },
      { type: 'valueValidity', height: 1, blockHash: A, valid: true },
      { type: 'vote', vote: vote(keys[rest[0]], VOTE_PREVOTE, 1, 0, A) },
      { type: 'vote', vote: vote(keys[rest[1]], VOTE_PREVOTE, 1, 0, A) },
      { type: 'vote', vote: vote(keys[rest[0]], VOTE_PRECOMMIT, 1, 0, null) },
      { type: 'vote', vote: vote(keys[rest[1]], VOTE_PRECOMMIT, 1, 0, null) },
      { type: 'timeout', kind: 'precommit', height: 1, round: 0 },
      { type: 'proposal', proposal: proposal(keys[set.proposerIndex(1)], 1, 1, B) },
      { type: 'valueValidity', height: 1, blockHash: B, valid: true },
      { type: 'vote', vote: vote(keys[rest[0]], VOTE_PREVOTE, 1, 1, B) },
      { type: 'vote', vote: vote(keys[rest[1]], VOTE_PREVOTE, 1, 1, B) },
      { type: 'timeout', kind: 'prevote', height: 1, round: 1 },
      { type: 'timeout', kind: 'precommit', height: 1, round: 1 },
      { type: 'vote', vote: vote(keys[rest[2]], VOTE_PREVOTE, 1, 1, B) },
      { type: 'proposal', proposal: proposal(keys[set.proposerIndex(2)], 1, 2, B, 1) },
    ];
    const home = join(dir, 'original');
    const original = new Node(home, self);
    original.driver.start();
    const walPath = join(home, 'wal', 'wal-000000000001.log');
    const signerPath = join(home, 'signer.bin');
    // After each step: WAL length and a copy of the signer state.
    const steps: { walBytes: number; signer: Buffer | null; sent: number }[] = [];
    const snap = () => {
      let signer: Buffer | null = null;
      try {
        signer = readFileSync(signerPath);
      } catch {}
      steps.push({ walBytes: readFileSync(walPath).length, signer, sent: original.sent.length });
    };
    snap();
    for (const input of script) {
      original.driver.input(input);
      snap();
    }
    const final = original.driver.state;
    expect(final.lockedRound).toBe(0); // round 2's B prevote unlocks only for the vote, lock stays on A until a polka in round 2
    expect(original.sent.map((m) => `${keyText(m)}=${valueText(m).slice(0, 4)}`)).toEqual([
      `1/0=${Buffer.from(A).toString('hex').slice(0, 4)}`,
      `2/0=${Buffer.from(A).toString('hex').slice(0, 4)}`,
      '1/1=null',
      '2/1=null',
      `1/2=${Buffer.from(B).toString('hex').slice(0, 4)}`,
    ]);
    original.backend.close();

    const whole = readFileSync(walPath);
    const boundaries: number[] = [0];
    for (let pos = 0; pos < whole.length; ) {
      pos += WAL_FRAME_HEADER_BYTES + whole.readUInt32BE(pos);
      boundaries.push(pos);
    }
    // Every record boundary, and a torn cut in the middle of each record.
    const cuts = [...boundaries, ...boundaries.slice(1).map((b, i) => Math.floor((boundaries[i] + b) / 2))];
    expect(boundaries.length).toBeGreaterThan(script.length);
    for (const cut of cuts) {
      // The guard may be ahead of the log (it persists before the WAL append): use the signer
      // state of the first step whose log reached this cut.
      const stepIndex = steps.findIndex((s) => s.walBytes >= cut);
      const crashHome = join(dir, `crash-${cut}`);
      mkdirSync(join(crashHome, 'wal'), { recursive: true });
      writeFileSync(join(crashHome, 'wal', 'wal-000000000001.log'), whole.subarray(0, cut));
      const signer = steps[stepIndex].signer;
      if (signer !== null) writeFileSync(join(crashHome, 'signer.bin'), signer);
      const node = new Node(crashHome, self);
      const opened = node.driver.start();
      expect(opened.tail).toBe(boundaries.includes(cut) ? 'clean' : 'torn');
      // Then the rest of the height arrives again (peers and timers repeat themselves).
      for (const input of script.slice(Math.max(0, stepIndex))) node.driver.input(input);
      // What the node had signed and sent before the crash is out in the world: nothing it
      // signs after the restart may contradict it.
      const signedBefore = new Map(
        original.sent.slice(0, steps[stepIndex].sent).map((m) => [keyText(m), valueText(m)]),
      );
      for (const m of node.sent) {
        const prior = signedBefore.get(keyText(m));
        if (prior !== undefined)
          expect(`${cut}:${keyText(m)}=${valueText(m)}`).toBe(`${cut}:${keyText(m)}=${prior}`);
      }
      const seen = new Map<string, string>();
      for (const m of node.sent) {
        const p = seen.get(keyText(m));
        if (p !== undefined) expect(valueText(m)).toBe(p);
        seen.set(keyText(m), valueText(m));
      }
      if (cut === whole.length) {
        expect(node.driver.state).toMatchObject({
          round: final.round,
          step: final.step,
          lockedRound: final.lockedRound,
          validRound: final.validRound,
        });
      }
      node.backend.close();
      rmSync(crashHome, { recursive: true, force: true });
    }
    copyFileSync(walPath, join(dir, 'kept.log')); // the original log is intact after all that
    expect(scanWal(readFileSync(join(dir, 'kept.log'))).tail).toBe('clean');
  });
});
