import { useEffect, useMemo, useState } from 'preact/hooks';
import { Chart } from './chart.js';
import { open, short, time } from './format.js';
import { call, type J, watchHeads } from './rpc.js';
import { NETWORK_WINDOW_BLOCKS, networkStats } from './stats.js';
import { A, Addr, Empty, Failure, Id, Load, useAsync } from './ui.js';

export function NetworkPage() {
  const [blocks, setBlocks] = useState<J[] | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [live, setLive] = useState(false);
  const status = useAsync(() => call('ol_status'), [blocks?.[0]?.height]);
  const validators = useAsync(() => call('ol_getValidators'), [blocks?.[0]?.height]);
  const receipts = useAsync(() => call('ol_listReceipts', [null, null, 8]), [blocks?.[0]?.height]);

  useEffect(() => {
    call('ol_listBlocks', [null, NETWORK_WINDOW_BLOCKS]).then(
      (p) => setBlocks(p.items),
      (e) => setError(e),
    );
    return watchHeads(
      (head) =>
        // The head carries no signer list: read its summary (one block) and slide the window.
        void call('ol_listBlocks', [String(head.height), 1]).then((p) =>
          setBlocks((old) => {
            const b = p.items[0];
            if (!b || old?.some((o) => o.height === b.height)) return old;
            return [b, ...(old ?? [])].sort((a, c) => c.height - a.height).slice(0, NETWORK_WINDOW_BLOCKS);
          }),
        ),
      setLive,
    );
  }, []);

  const vals: J[] = validators.data?.validators ?? [];
  const stats = useMemo(
    () =>
      networkStats(
        blocks ?? [],
        vals.map((v) => v.address),
      ),
    [blocks, validators.data],
  );
  if (error !== undefined) return <Failure error={error} what="recent blocks" />;
  return (
    <section>
      <h1>Network</h1>
      <p class={live ? 'live on' : 'live off'} data-live={String(live)}>
        {live ? '● live: new blocks appear as they commit' : '○ not connected to the live feed (retrying)'}
      </p>
      <Load q={status} what="node status">
        {(s) => (
          <div class="stats">
            <div>
              <span class="label">height</span>
              <span class="big" data-testid="height">
                {blocks?.[0]?.height ?? s.height}
              </span>
            </div>
            <div>
              <span class="label">chain</span>
              <span>{s.chainId}</span>
            </div>
            <div>
              <span class="label">latest block</span>
              <span>{time(blocks?.[0]?.timeMs ?? s.latestTimeMs)}</span>
            </div>
            <div>
              <span class="label">peers</span>
              <span>{s.peers}</span>
            </div>
          </div>
        )}
      </Load>
      {blocks === null ? (
        <p class="loading">Loading recent blocks…</p>
      ) : blocks.length === 0 ? (
        <Empty>No blocks yet: the chain has not committed its first block.</Empty>
      ) : (
        <>
          <div class="charts">
            <Chart
              title={`block time (s), last ${blocks.length} blocks`}
              x={stats.x}
              series={[{ label: 'seconds', values: stats.blockTimeS, color: '#2563eb' }]}
            />
            <Chart
              title="transactions per second"
              x={stats.x}
              series={[{ label: 'tx/s', values: stats.txPerSec, color: '#059669' }]}
            />
          </div>
          <h2>Latest blocks</h2>
          <table class="list" data-testid="latest-blocks">
            <thead>
              <tr>
                <th>height</th>
                <th>hash</th>
                <th>time</th>
                <th>proposer</th>
                <th>txs</th>
              </tr>
            </thead>
            <tbody>
              {blocks.slice(0, 10).map((b) => (
                <tr key={b.height} data-height={b.height}>
                  <td>
                    <A to={`block/${b.height}`}>{b.height}</A>
                  </td>
                  <td>
                    <Id kind="block" id={b.hash} />
                  </td>
                  <td>{time(b.timeMs)}</td>
                  <td>
                    <Addr a={b.proposer} />
                  </td>
                  <td>{b.txCount}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <h2>Validators</h2>
      <Load q={validators} what="validator set">
        {(v) =>
          vals.length === 0 ? (
            <Empty>No validators in the next set.</Empty>
          ) : (
            <table class="list" data-testid="validators">
              <thead>
                <tr>
                  <th>validator</th>
                  <th>moniker</th>
                  <th>power</th>
                  <th>stake OPEN</th>
                  <th title={`of the last ${stats.x.length + 1} blocks`}>proposed</th>
                  <th title={`last commits of ${stats.commits} blocks`}>missed</th>
                  <th>jailed</th>
                </tr>
              </thead>
              <tbody>
                {(v.validators as J[]).map((x) => (
                  <tr key={x.address}>
                    <td>
                      <Addr a={x.address} />
                    </td>
                    <td>{x.moniker}</td>
                    <td>{x.power}</td>
                    <td>{open(x.tokens, 0)}</td>
                    <td>{stats.proposed.get(x.address) ?? 0}</td>
                    <td>
                      {stats.missed.get(x.address) ?? 0} / {stats.commits}
                    </td>
                    <td class={x.jailed ? 'bad' : ''}>{x.jailed ? 'jailed' : 'no'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Load>
      <h2>Latest receipts</h2>
      <Load q={receipts} what="receipts">
        {(p) =>
          p.items.length === 0 ? (
            <Empty>
              No inference receipts yet. The devnet demo streams requests once its models are registered.
            </Empty>
          ) : (
            <ReceiptTable items={p.items} />
          )
        }
      </Load>
    </section>
  );
}

export function ReceiptTable({ items }: { items: J[] }) {
  return (
    <table class="list" data-testid="receipts">
      <thead>
        <tr>
          <th>receipt</th>
          <th>model</th>
          <th>height</th>
          <th>status</th>
          <th>tokens</th>
          <th>fee OPEN</th>
        </tr>
      </thead>
      <tbody>
        {items.map((r) => (
          <tr key={r.id}>
            <td>
              <Id kind="receipt" id={r.id} />
            </td>
            <td>
              <Id kind="model" id={r.model} />
            </td>
            <td>
              <A to={`block/${r.height}`}>{r.height}</A>
            </td>
            <td class={`status ${r.status}`}>{r.status}</td>
            <td>{r.outputTokens}</td>
            <td>{r.fee === null ? '—' : open(r.fee)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export const shortHeight = (h: unknown) => (typeof h === 'number' ? String(h) : short(h));
