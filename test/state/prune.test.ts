import { afterAll, describe, expect, it } from 'vitest';
import { StorageError } from '../../core/errors.js';
import { RADIX } from '../../state/hashSpec.js';
import {
  decodeKeyList,
  decodeRootRecord,
  KeyListWriter,
  rootRecordKey,
  SUBLEVEL_META,
  SUBLEVEL_NODES,
  staleListKey,
} from '../../state/layout.js';
import { childRef, decodeInternal, type NodeRef, nodeKey } from '../../state/node.js';
import { verifyProof } from '../../state/proof.js';
import { PRUNE_VERSIONS_PER_COMMIT_MAX, StateDb } from '../../state/stateDb.js';
import { tempDirs, text } from './reference.js';

const dirs = tempDirs('prune');
afterAll(() => dirs.cleanup());

const KEYS = 250;
const keyOf = (i: number) => text(`k${i}`);

/** Deterministic block contents: what block `v` writes. */
function blockWrites(v: number): [number, Uint8Array | null][] {
  const out: [number, Uint8Array | null][] = [];
  for (let j = 0; j < 40; j++) {
    const k = (v * 97 + j * 31) % KEYS;
    out.push([k, (v + j) % 4 === 0 ? null : text(`v${v}.${j}`)]);
  }
  return out;
}

async function diskNodeKeys(state: StateDb): Promise<Set<string>> {
  const out = new Set<string>();
  const nodes = state.db.sublevel<Buffer, Buffer>(SUBLEVEL_NODES, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  for await (const k of nodes.keys()) out.add(k.toString('hex'));
  return out;
}

/** Every node reachable from the retained versions' roots, walked from the raw disk bytes. */
async function reachableNodeKeys(state: StateDb): Promise<Set<string>> {
  const meta = state.db.sublevel<Buffer, Buffer>(SUBLEVEL_META, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  const nodes = state.db.sublevel<Buffer, Buffer>(SUBLEVEL_NODES, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  const out = new Set<string>();
  const visit = async (ref: NodeRef, path: Uint8Array, depth: number) => {
    const key = nodeKey(ref.version, path, depth);
    out.add(key.toString('hex'));
    if (ref.leaf) return;
    const node = decodeInternal((await nodes.get(key)) as Buffer);
    expect(node).toBeDefined();
    for (let i = 0; i < RADIX; i++) {
      if (!((node!.bitmap >> i) & 1)) continue;
      const child = new Uint8Array(32);
      child.set(path.subarray(0, 32));
      const b = depth >> 1;
      child[b] = depth % 2 === 0 ? (i << 4) | (child[b] & 15) : (child[b] & 0xf0) | i;
      await visit(childRef(node!, i)!, child, depth + 1);
    }
  };
  for (let v = state.oldestVersion!; v <= state.latestVersion!; v++) {
    const rec = decodeRootRecord((await meta.get(rootRecordKey(v))) as Buffer);
    if (rec?.root) await visit(rec.root, new Uint8Array(32), 0);
  }
  return out;
}

describe('pruning', () => {
  it('keeps every retained version readable and provable, and leaves exactly the reachable nodes on disk', async () => {
    const KEPT = 3;
    const dir = dirs.make();
    let state = await StateDb.open(dir, { versionsKept: KEPT });
    const history: Map<number, Uint8Array>[] = [];
    const model = new Map<number, Uint8Array>();
    try {
      for (let v = 0; v < 30; v++) {
        const o = state.overlay();
        for (const [k, value] of blockWrites(v)) {
          if (value === null) {
            o.delete(keyOf(k));
            model.delete(k);
          } else {
            o.set(keyOf(k), value);
            model.set(k, value);
          }
        }
        await o.commit(v);
        history[v] = new Map(model);
        if (v === 15) {
          await state.close();
          state = await StateDb.open(dir, { versionsKept: KEPT });
        }
        expect(state.oldestVersion).toBe(Math.max(0, v - KEPT + 1));
        for (let r = state.oldestVersion!; r <= v; r++) {
          const root = state.rootAt(r);
          for (let k = 0; k < KEYS; k += 7) {
            expect(state.getAt(keyOf(k), r)).toEqual(history[r].get(k));
            const { value, proof } = state.prove(keyOf(k), r);
            expect(verifyProof(root, keyOf(k), value, proof)).toBe(true);
          }
        }
        if (v >= KEPT) {
          expect(() => state.getAt(keyOf(1), v - KEPT)).toThrow(
            expect.objectContaining({ code: 'STATE_VERSION_NOT_RETAINED' }),
          );
        }
        if (v % 5 === 4) expect(await diskNodeKeys(state)).toEqual(await reachableNodeKeys(state));
      }
    } finally {
      await state.close();
    }
  });

  it('catches up on a long unpruned history a bounded number of versions per commit', async () => {
    const dir = dirs.make();
    let state = await StateDb.open(dir);
    const total = PRUNE_VERSIONS_PER_COMMIT_MAX + 20;
    try {
      for (let v = 0; v < total; v++) {
        const o = state.overlay();
        for (const [k, value] of blockWrites(v)) value === null ? o.delete(keyOf(k)) : o.set(keyOf(k), value);
        await o.commit(v);
      }
      await state.close();
      state = await StateDb.open(dir, { versionsKept: 2 });
      const oneMore = async (v: number) => {
        const o = state.overlay();
        o.set(keyOf(1), text(`again${v}`));
        await o.commit(v);
      };
      await oneMore(total);
      expect(state.oldestVersion).toBe(PRUNE_VERSIONS_PER_COMMIT_MAX);
      await oneMore(total + 1);
      expect(state.oldestVersion).toBe(total);
      expect(state.getAt(keyOf(1), total)).toEqual(text(`again${total}`));
      expect(await diskNodeKeys(state)).toEqual(await reachableNodeKeys(state));
      expect(() => state.rootAt(total - 1)).toThrow(StorageError);
    } finally {
      await state.close();
    }
  });

  it('with a window of one version keeps only the latest tree', async () => {
    const state = await StateDb.open(dirs.make(), { versionsKept: 1 });
    try {
      for (let v = 0; v < 8; v++) {
        const o = state.overlay();
        for (const [k, value] of blockWrites(v)) value === null ? o.delete(keyOf(k)) : o.set(keyOf(k), value);
        await o.commit(v);
        expect(state.oldestVersion).toBe(v);
        expect(await diskNodeKeys(state)).toEqual(await reachableNodeKeys(state));
      }
    } finally {
      await state.close();
    }
  });

  it('rejects a window below one', async () => {
    await expect(StateDb.open(dirs.make(), { versionsKept: 0 })).rejects.toMatchObject({
      code: 'BAD_VERSIONS_KEPT',
    });
  });
});

describe('stale lists', () => {
  it('KeyListWriter round-trips node keys of every depth through decodeKeyList, across growth', () => {
    const writer = new KeyListWriter();
    const expected: Buffer[] = [];
    const prefix = Buffer.from('!state-node!');
    for (let i = 0; i < 2_000; i++) {
      const path = Buffer.alloc(32, i & 0xff);
      path[0] = i >> 8;
      const depth = i % 65;
      writer.addNodeKey(i * 7, path, depth);
      expected.push(Buffer.concat([prefix, nodeKey(i * 7, path, depth)]));
    }
    expect(writer.count).toBe(2_000);
    const decoded = decodeKeyList(writer.bytes(), prefix);
    expect(decoded?.map((k) => k.toString('hex'))).toEqual(expected.map((k) => k.toString('hex')));
  });

  it('a malformed stale list fails the commit that prunes it with STATE_META_CORRUPT, and that commit writes nothing', async () => {
    const state = await StateDb.open(dirs.make(), { versionsKept: 2 });
    try {
      for (let v = 1; v <= 2; v++) {
        const o = state.overlay();
        o.set(keyOf(v), text(`v${v}`));
        o.set(keyOf(0), text(`zero at ${v}`));
        await o.commit(v);
      }
      const meta = state.db.sublevel<Buffer, Buffer>(SUBLEVEL_META, bin);
      // Version 3 prunes version 2's stale list: a length byte past the end makes it malformed.
      await meta.put(staleListKey(2), Buffer.from([200, 1, 2]));
      const failed = state.overlay();
      failed.set(keyOf(99), text('never'));
      await expect(failed.commit(3)).rejects.toMatchObject({ code: 'STATE_META_CORRUPT' });
      expect(state.latestVersion).toBe(2);
      // Repaired, the next commit carries nothing of the failed one (its batch was cleared).
      await meta.del(staleListKey(2));
      const next = state.overlay();
      next.set(keyOf(3), text('v3'));
      await next.commit(3);
      expect(state.get(keyOf(99))).toBeUndefined();
      expect(state.getAt(keyOf(99), 3)).toBeUndefined();
      expect(Buffer.from(state.get(keyOf(3)) as Uint8Array).toString()).toBe('v3');
    } finally {
      await state.close();
    }
  });
});

const bin = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
