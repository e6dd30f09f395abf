import { readFileSync } from 'node:fs';

/**
 * `tsx bench/profile.ts FILE.cpuprofile [--top N]`: where a V8 CPU profile's time went, as one JSON
 * line — self time by category (signature checks, codec, vm execution, state tree and LevelDB,
 * hashing, consensus, p2p/gossip, RPC, GC, idle) and the top functions by self time. A category is
 * chosen from the file of the function (the repo's layout is by concern), so it stays meaningful
 * as the code changes.
 */

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const CATEGORIES: [string, RegExp][] = [
  ['idle', /^\(idle\)$/],
  ['gc', /^\(garbage collector\)$/],
  ['signatures', /noble\/curves|ed25519|sigCache|sigPool|sigWorker|core\/keys|internal\/crypto\/(sig|keys)|^verifyOneShot$|^createPublicKey$/],
  ['hashing', /noble\/hashes|core\/hash|sha2|blake|internal\/crypto\/hash/],
  ['disk (fs, fsync)', /^fsync$|^fdatasync$|internal\/fs/],
  ['sockets', /^writev$|^writeBuffer$|internal\/stream|^net$|node:net|internal\/net/],
  ['module loading', /internal\/modules|^compileSourceTextModule$|hooks|tsx|esbuild/],
  ['codec', /core\/codec|core\/tx|core\/block|msgpackr|wire/],
  ['vm', /\/vm\//],
  ['state/leveldb', /\/state\/|classic-level|abstract-level|level-transcoder/],
  ['consensus', /\/consensus\//],
  ['p2p/gossip', /libp2p|chainsafe|\/p2p\/|it-|uint8arraylist|multiformats|protons/],
  ['rpc', /\/rpc\/|node:http|_http|ws\//],
  ['node', /\/node\//],
  ['attribution', /\/attribution\//],
  ['logging/metrics', /pino|prom-client|sonic-boom/],
  ['node internals', /^node:|^$/],
];

function category(n: Node): string {
  const key = n.callFrame.url === '' ? n.callFrame.functionName : n.callFrame.url;
  for (const [name, re] of CATEGORIES) if (re.test(key) || re.test(n.callFrame.functionName)) return name;
  return 'other';
}

export function summarise(p: Profile, top = 25) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const cats = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const c = category(n);
    cats.set(c, (cats.get(c) ?? 0) + us);
    const short = n.callFrame.url.replace(/^.*\/(node_modules\/)?/, '');
    const f = `${n.callFrame.functionName || '(anonymous)'} ${short}:${n.callFrame.lineNumber + 1}`;
    fns.set(f, (fns.get(f) ?? 0) + us);
  }
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  return {
    seconds: Math.round(total / 1e4) / 100,
    byCategoryPct: Object.fromEntries([...cats].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, pct(v)])),
    topSelfPct: [...fns]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => [k, pct(v)]),
  };
}

if (process.argv[1]?.endsWith('profile.ts')) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: tsx bench/profile.ts FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  const topAt = process.argv.indexOf('--top');
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  process.stdout.write(`${JSON.stringify(summarise(p, topAt > 0 ? Number(process.argv[topAt + 1]) : 25))}\n`);
}
