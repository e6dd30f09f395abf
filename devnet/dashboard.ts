/**
 * The demo's terminal dashboard as a pure function of its state, so it can be tested and so the
 * redraw loop stays trivial: height, tx/s, receipts, settlements, who earned what, and the last
 * answer with the payouts its attribution produced.
 */

export interface Earner {
  name: string;
  address: string;
  earned: bigint;
  payouts: number;
  balance: bigint;
}

export interface DashboardState {
  chainId: string;
  height: number;
  txPerSec: number;
  receipts: number;
  settlements: number;
  requestsSent: number;
  requestErrors: number;
  firstBlockSec: number;
  firstPayoutSec: number | null;
  phase: string;
  earners: Earner[];
  lastAnswer: {
    receipt: string;
    model: string;
    output: string;
    fee: bigint;
    payouts: { to: string; amount: bigint }[];
  } | null;
  nodes: { name: string; rpc: string; height: number | null }[];
  /** The explorer's URL (node0 serves it), or null. */
  explorer: string | null;
  notes: string[];
}

const pad = (s: string, n: number) => (s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

export function renderDashboard(
  s: DashboardState,
  o: { formatAmount: (units: bigint) => string; width?: number },
): string {
  const w = o.width ?? 78;
  const amt = (u: bigint) => {
    const t = o.formatAmount(u);
    const [i, f = ''] = t.split('.');
    return `${i}.${(f + '0000').slice(0, 4)}`;
  };
  const lines: string[] = [];
  lines.push(`OpenLedger devnet "${s.chainId}" — height ${s.height} — ${s.txPerSec.toFixed(1)} tx/s`);
  lines.push(
    `receipts ${s.receipts}  settlements ${s.settlements}  requests sent ${s.requestsSent} (errors ${s.requestErrors})`,
  );
  lines.push(
    `first block after ${s.firstBlockSec.toFixed(1)} s; first payout ${s.firstPayoutSec === null ? 'pending' : `after ${s.firstPayoutSec.toFixed(1)} s`} — ${s.phase}`,
  );
  lines.push('');
  lines.push(`nodes: ${s.nodes.map((n) => `${n.name}@${n.height === null ? 'down' : n.height}`).join('  ')}`);
  if (s.explorer !== null) lines.push(`explorer: ${s.explorer}  (answers highlighted, who earned what)`);
  lines.push('');
  lines.push(
    `${pad('top earners', 14)}${lpad('earned OPEN', 16)}${lpad('payouts', 10)}${lpad('balance OPEN', 18)}`,
  );
  for (const e of s.earners) {
    lines.push(
      `${pad(e.name, 14)}${lpad(amt(e.earned), 16)}${lpad(String(e.payouts), 10)}${lpad(amt(e.balance), 18)}`,
    );
  }
  lines.push('');
  if (s.lastAnswer !== null) {
    const a = s.lastAnswer;
    const text = a.output.replace(/\s+/g, ' ');
    lines.push(`last settled answer (${a.model}), fee ${amt(a.fee)} OPEN:`);
    lines.push(`  "${text.length > w - 4 ? `${text.slice(0, w - 7)}...` : text}"`);
    lines.push(
      `  paid: ${a.payouts
        .filter((p) => p.amount > 0n)
        .map((p) => `${p.to} ${amt(p.amount)}`)
        .join(', ')}`,
    );
  } else lines.push('waiting for the first settled answer…');
  lines.push('');
  for (const n of s.notes) lines.push(`· ${n.length > w - 2 ? `${n.slice(0, w - 5)}...` : n}`);
  lines.push('');
  lines.push('Ctrl-C stops every process.');
  return lines.join('\n');
}
