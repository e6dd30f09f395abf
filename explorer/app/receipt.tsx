import type { ComponentChildren } from 'preact';
import { open, openFloat } from './format.js';
import { segments } from './highlight.js';
import { ReceiptTable as ReceiptsTable } from './network.js';
import { batch, call, type J, RpcFailure } from './rpc.js';
import { A, Addr, Bars, Empty, Fields, Id, Load, useAsync } from './ui.js';

const ROLE_NAMES: Record<string, string> = {
  treasury: 'treasury',
  validators: 'validators',
  owner: 'model owner',
  contributor: 'contributor',
};

/** The receipt: answer with its attributed spans highlighted, each linked to the cited text. */
export function ReceiptPage({ id }: { id: string }) {
  const q = useAsync(async () => {
    const [r, a, t] = await batch([
      ['ol_getReceipt', [id]],
      ['ol_getAttribution', [id]],
      ['ol_getEvidenceText', [id]],
    ]);
    if (r.status === 'rejected') throw r.reason;
    const receipt = r.value;
    const attribution = a.status === 'fulfilled' ? a.value : null;
    if (a.status === 'rejected' && !(a.reason instanceof RpcFailure && a.reason.notFound)) throw a.reason;
    const text = t.status === 'fulfilled' ? t.value : null;
    let roles: Record<string, string> = {};
    if (attribution) {
      const events: J[] = await call('ol_getEvents', [attribution.height, attribution.height, 'payout']);
      roles = Object.fromEntries(
        events.filter((e) => e.attrs?.receipt === id).map((e) => [String(e.attrs.to), String(e.attrs.role)]),
      );
    }
    return { receipt, attribution, text, roles };
  }, [id]);
  return (
    <section>
      <h1>Receipt</h1>
      <Load q={q} what="receipt">
        {({ receipt: r, attribution: a, text, roles }) => {
          const spans: J[] = text?.spans ?? [];
          const segs = segments(
            String(r.output),
            spans.map((s) => (s.start === null ? null : { start: s.start, end: s.end })),
          );
          return (
            <>
              <Fields
                rows={[
                  ['id', <code key="i">{r.id}</code>],
                  [
                    'model',
                    <span key="m">
                      <Id kind="model" id={r.model} /> version {r.modelVersion}
                    </span>,
                  ],
                  [
                    'status',
                    <span key="s" class={`status ${r.status}`}>
                      {r.status}
                    </span>,
                  ],
                  ['requester', <Addr key="r" a={r.requester} />],
                  ['provider', <Addr key="p" a={r.provider} />],
                  [
                    'included at',
                    <A key="h" to={`block/${r.height}`}>
                      {r.height}
                    </A>,
                  ],
                  ['tokens', `${r.inputTokens} in, ${r.outputTokens} out`],
                  ['max fee', `${open(r.maxFee)} OPEN`],
                  ...(a
                    ? ([
                        ['fee', `${open(a.fee)} OPEN (refund ${open(a.refund)})`],
                        [
                          'settled at',
                          <A key="st" to={`block/${a.height}`}>
                            {a.height}
                          </A>,
                        ],
                        [
                          'attribution',
                          a.ok ? (
                            'ok'
                          ) : (
                            <span key="e" class="bad">
                              {a.error}
                            </span>
                          ),
                        ],
                      ] as [string, ComponentChildren][])
                    : []),
                ]}
              />
              {r.input ? (
                <>
                  <h2>Prompt</h2>
                  <pre class="text">{r.input}</pre>
                </>
              ) : null}
              <h2>Answer</h2>
              <p class="hint">
                {spans.length > 0
                  ? `${spans.length} attributed span${spans.length === 1 ? '' : 's'} highlighted; each links to the contribution text it came from.`
                  : a
                    ? 'No span of this answer was attributed to a contribution.'
                    : 'Not settled yet: the evidence appears once validators have re-run the attribution.'}
              </p>
              <pre class="text answer" data-testid="answer">
                {segs.map((s, i) => {
                  if (s.spans.length === 0) return s.text;
                  const first = spans[s.spans[0]];
                  const to =
                    first.contributionStart !== null
                      ? `contribution/${first.contribution}/${first.contributionStart}/${first.contributionEnd}`
                      : `contribution/${first.contribution}`;
                  return (
                    <a
                      // biome-ignore lint/suspicious/noArrayIndexKey: segments are positional
                      key={i}
                      class={`span n${s.spans[0] % 6}`}
                      href={`#/${to}`}
                      data-spans={s.spans.join(' ')}
                      data-contribution={first.contribution}
                      data-offset={first.offset}
                      title={`from contribution ${first.contribution} at token ${first.offset}`}
                    >
                      {s.text}
                    </a>
                  );
                })}
              </pre>
              {spans.length > 0 ? (
                <table class="list" data-testid="evidence">
                  <thead>
                    <tr>
                      <th>#</th>
                      <th>answer tokens</th>
                      <th>contribution</th>
                      <th>offset</th>
                      <th>contributor</th>
                      <th>cited text</th>
                    </tr>
                  </thead>
                  <tbody>
                    {spans.map((s, i) => (
                      <tr key={`${i}`} data-span={i}>
                        <td>{i}</td>
                        <td>
                          {s.outputStart}–{s.outputEnd}
                        </td>
                        <td>
                          <Id kind="contribution" id={s.contribution} />
                        </td>
                        <td>{s.offset}</td>
                        <td>
                          <Addr a={s.contributor} />
                        </td>
                        <td class="cited">{s.contributionText ?? '(range does not fit the text)'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : null}
              <h2>Payout split</h2>
              {a === null ? (
                <Empty>Nothing paid yet: the receipt is not settled.</Empty>
              ) : (a.payouts as J[]).length === 0 ? (
                <Empty>No payouts (the fee was refunded).</Empty>
              ) : (
                <Bars
                  rows={(a.payouts as J[]).map((p) => ({
                    key: p.address,
                    label: (
                      <span>
                        {ROLE_NAMES[roles[p.address]] ?? roles[p.address] ?? 'payee'} <Addr a={p.address} />
                      </span>
                    ),
                    value: openFloat(p.amount),
                    text: `${open(p.amount, 6)} OPEN`,
                  }))}
                />
              )}
            </>
          );
        }}
      </Load>
    </section>
  );
}

export function ReceiptsPage() {
  const q = useAsync(() => call('ol_listReceipts', [null, null, 50]), []);
  return (
    <section>
      <h1>Receipts</h1>
      <Load q={q} what="receipts">
        {(p) => (p.items.length === 0 ? <Empty>No receipts yet.</Empty> : <ReceiptsTable items={p.items} />)}
      </Load>
    </section>
  );
}
