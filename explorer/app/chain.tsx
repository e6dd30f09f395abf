import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { open, time } from './format.js';
import { batch, call, type J } from './rpc.js';
import { classify, HASH_LOOKUPS } from './search.js';
import { A, Addr, Empty, Failure, Fields, Id, Load, useAsync } from './ui.js';

/** How an attribute value links: by its key when it is an id, an address when 20 bytes. */
const ID_KEYS: Record<string, string> = {
  receipt: 'receipt',
  datanet: 'datanet',
  model: 'model',
  contribution: 'contribution',
  duplicateOf: 'contribution',
  original: 'contribution',
  hash: 'tx',
};

export function Value({ k, v }: { k: string; v: unknown }): ComponentChildren {
  if (typeof v === 'string' && /^0x[0-9a-f]{40}$/.test(v)) return <Addr a={v} />;
  if (typeof v === 'string' && /^0x[0-9a-f]{64}$/.test(v) && ID_KEYS[k])
    return <Id kind={ID_KEYS[k]} id={v} />;
  if (
    typeof v === 'string' &&
    /^[0-9]{19,}$/.test(v) &&
    /amount|fee|escrow|bond|price|stake|balance/i.test(k)
  )
    return <span title={`${v} base units`}>{open(v)} OPEN</span>;
  if (typeof v === 'string') return v.length > 200 ? <pre class="text">{v}</pre> : <span>{v}</span>;
  if (v === null || v === undefined) return <span>—</span>;
  if (typeof v === 'object') return <code class="json">{JSON.stringify(v)}</code>;
  return <span>{String(v)}</span>;
}

export function Attrs({ attrs }: { attrs: J }) {
  const entries = Object.entries(attrs ?? {});
  if (entries.length === 0) return <span>—</span>;
  return (
    <dl class="attrs">
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>
            <Value k={k} v={v} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

export function Events({ events }: { events: J[] }) {
  if (events.length === 0) return <Empty>No events.</Empty>;
  return (
    <table class="list events">
      <tbody>
        {events.map((e, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: events have no id of their own
          <tr key={i}>
            <td class="etype">{e.type}</td>
            <td>
              <Attrs attrs={e.attrs} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function BlockPage({ at }: { at: string }) {
  const byHeight = /^[0-9]{1,15}$/.test(at);
  const q = useAsync(
    () =>
      byHeight ? call('ol_getBlockByHeight', [Number(at), true]) : call('ol_getBlockByHash', [at, true]),
    [at],
  );
  return (
    <section>
      <h1>Block {byHeight ? at : ''}</h1>
      <Load q={q} what="block">
        {(b) => {
          const h = b.header;
          return (
            <>
              <p class="nav">
                {h.height > 1 ? <A to={`block/${h.height - 1}`}>← {h.height - 1}</A> : null}{' '}
                <A to={`block/${h.height + 1}`}>{h.height + 1} →</A>
              </p>
              <Fields
                rows={[
                  ['height', h.height],
                  ['hash', <code key="h">{b.hash}</code>],
                  ['time', time(h.timeMs)],
                  ['proposer', <Addr key="p" a={h.proposer} />],
                  ['transactions', b.txCount],
                  ['state root', <code key="s">{h.stateRoot}</code>],
                  ['parent', h.height > 1 ? <Id key="pa" kind="block" id={h.parentHash} /> : '—'],
                  [
                    'last commit',
                    b.lastCommit
                      ? `${b.lastCommit.signatures.length} precommits, round ${b.lastCommit.round}`
                      : '—',
                  ],
                  ['evidence', b.evidence.length],
                ]}
              />
              <h2>Transactions</h2>
              {b.txs.length === 0 ? (
                <Empty>This block carries no transactions.</Empty>
              ) : (
                <table class="list">
                  <thead>
                    <tr>
                      <th>#</th>
                      <th>hash</th>
                      <th>type</th>
                      <th>sender</th>
                    </tr>
                  </thead>
                  <tbody>
                    {(b.txs as J[]).map((t, i) => (
                      <tr key={t.hash}>
                        <td>{i}</td>
                        <td>
                          <Id kind="tx" id={t.hash} />
                        </td>
                        <td>{t.type}</td>
                        <td>
                          <Addr a={t.sender} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </>
          );
        }}
      </Load>
    </section>
  );
}

export function TxPage({ hash }: { hash: string }) {
  const q = useAsync(() => call('ol_getTransaction', [hash]), [hash]);
  return (
    <section>
      <h1>Transaction</h1>
      <Load q={q} what="transaction">
        {(t) => (
          <>
            <Fields
              rows={[
                ['hash', <code key="h">{hash}</code>],
                ['type', <strong key="t">{t.tx.type}</strong>],
                ['status', t.status],
                ...(t.status === 'committed'
                  ? ([
                      ['block', <A key="b" to={`block/${t.height}`}>{`${t.height} (#${t.index})`}</A>],
                      [
                        'result',
                        <span key="r" class={t.result.code === 'OK' ? 'ok' : 'bad'} data-testid="tx-code">
                          {t.result.code}
                          {t.result.message ? ` — ${t.result.message}` : ''}
                        </span>,
                      ],
                      ['gas used', t.result.gasUsed],
                      ['fee', `${open(t.result.fee)} OPEN`],
                    ] as [string, ComponentChildren][])
                  : []),
                ['sender', <Addr key="s" a={t.tx.sender} />],
                ['nonce', t.tx.nonce],
                ['gas limit / price', `${t.tx.gasLimit} / ${t.tx.gasPrice}`],
              ]}
            />
            <h2>Body ({t.tx.type})</h2>
            <Attrs attrs={t.tx.body} />
            <h2>Events</h2>
            <Events events={t.events ?? []} />
          </>
        )}
      </Load>
    </section>
  );
}

interface Hit {
  what: string;
  route: string;
  label: string;
}

/** Names are matched among this many newest datanets and models (one page each), not the chain. */
export const NAME_SEARCH_PAGE = 100;

export function SearchPage({ query }: { query: string }) {
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const c = classify(query);
  useEffect(() => {
    setHits(null);
    setError(undefined);
    const go = (route: string) => location.replace(`#/${route}`);
    const run = async (): Promise<Hit[]> => {
      switch (c.kind) {
        case 'invalid':
          return [];
        case 'height':
          go(`block/${c.height}`);
          return [];
        case 'address':
          go(`address/${c.hex}`);
          return [];
        case 'hash': {
          const r = await batch(HASH_LOOKUPS.map(([, method]) => [method, [c.hex]]));
          const found = HASH_LOOKUPS.flatMap(([what, , route], i) =>
            r[i].status === 'fulfilled' ? [{ what, route: `${route}/${c.hex}`, label: c.hex }] : [],
          );
          if (found.length === 1) go(found[0].route);
          return found;
        }
        case 'name': {
          const [d, m] = await Promise.all([
            call('ol_listDatanets', [null, null, null, NAME_SEARCH_PAGE]),
            call('ol_listModels', [null, null, NAME_SEARCH_PAGE]),
          ]);
          const t = c.text.toLowerCase();
          return [
            ...(d.items as J[])
              .filter((x) => String(x.name).toLowerCase().includes(t))
              .map((x) => ({ what: 'datanet', route: `datanet/${x.id}`, label: String(x.name) })),
            ...(m.items as J[])
              .filter((x) => String(x.name).toLowerCase().includes(t))
              .map((x) => ({ what: 'model', route: `model/${x.id}`, label: String(x.name) })),
          ];
        }
      }
    };
    run().then(setHits, setError);
  }, [query]);
  return (
    <section>
      <h1>Search</h1>
      <p>
        Results for{' '}
        <q class="query" data-testid="query">
          {query.length > 300 ? `${query.slice(0, 300)}…` : query}
        </q>
      </p>
      {c.kind === 'invalid' ? (
        <Empty>Not a search this explorer understands: {c.reason}.</Empty>
      ) : error !== undefined ? (
        <Failure error={error} what="search results" />
      ) : hits === null ? (
        <p class="loading">Searching…</p>
      ) : hits.length === 0 ? (
        <Empty>
          Nothing matches. Search takes a block height, a 32-byte hash or id (block, transaction, receipt,
          datanet, model, contribution), a 20-byte address, or part of a datanet or model name.
        </Empty>
      ) : (
        <ul class="hits">
          {hits.map((h) => (
            <li key={h.route}>
              {h.what}: <A to={h.route}>{h.label}</A>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
