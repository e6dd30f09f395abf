import { Events } from './chain.js';
import { Chart } from './chart.js';
import { open, openFloat } from './format.js';
import { batch, call, type J } from './rpc.js';
import { EARNINGS_CHART_PAGES } from './stats.js';
import { A, Addr, Bars, Empty, Failure, Fields, Id, Load, More, useAsync, usePages } from './ui.js';

export function AddressPage({ addr }: { addr: string }) {
  const q = useAsync(async () => {
    const [acct, earn] = await batch([
      ['ol_getAccount', [addr]],
      ['ol_getEarnings', [addr, null, 100]],
    ]);
    if (acct.status === 'rejected') throw acct.reason;
    if (earn.status === 'rejected') throw earn.reason;
    const history: J[] = [...earn.value.history];
    let next = earn.value.next;
    for (let i = 1; i < EARNINGS_CHART_PAGES && next; i++) {
      const page = await call('ol_getEarnings', [addr, next, 100]);
      history.push(...page.history);
      next = page.next;
    }
    return { account: acct.value, earnings: earn.value, history, complete: !next };
  }, [addr]);
  const events = usePages((cursor) => call('ol_listAddressEvents', [addr, cursor ?? null, 25]), [addr]);
  return (
    <section>
      <h1>Address</h1>
      <p>
        <code>{addr}</code>
      </p>
      <Load q={q} what="address">
        {({ account: a, earnings: e, history, complete }) => {
          const asc = [...history].sort((x, y) => x.height - y.height);
          let sum = 0;
          const cumulative = asc.map((h) => (sum += openFloat(h.amount)));
          const bars = (rec: J, kind: string) =>
            Object.entries(rec as Record<string, string>)
              .sort((x, y) => (BigInt(y[1]) > BigInt(x[1]) ? 1 : -1))
              .map(([k, v]) => ({
                key: k,
                label: <Id kind={kind} id={k} />,
                value: openFloat(v),
                text: `${open(v)} OPEN`,
              }));
          return (
            <>
              <Fields
                rows={[
                  [
                    'balance',
                    <span key="b" data-testid="balance">
                      {open(a.balance)} OPEN
                    </span>,
                  ],
                  ['staked', `${open(a.staked)} OPEN`],
                  ['pending rewards', `${open(a.pendingRewards)} OPEN`],
                  ['nonce', a.nonce],
                  [
                    'validator',
                    a.validator
                      ? `${a.validator.moniker} (${a.validator.jailed ? 'jailed' : 'active'})`
                      : '—',
                  ],
                  [
                    'earned',
                    <span key="e" data-testid="earned-total" data-units={e.total}>
                      {open(e.total, 6)} OPEN in {e.payouts} payouts
                    </span>,
                  ],
                ]}
              />
              {a.delegations.length > 0 ? (
                <>
                  <h2>Stake</h2>
                  <table class="list">
                    <tbody>
                      {(a.delegations as J[]).map((d) => (
                        <tr key={d.validator}>
                          <td>
                            <Addr a={d.validator} />
                          </td>
                          <td>{open(d.stake)} OPEN</td>
                          <td>rewards {open(d.pendingRewards)} OPEN</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </>
              ) : null}
              <h2>Earnings</h2>
              {e.payouts === 0 ? (
                <Empty>This address has not earned from inference payouts yet.</Empty>
              ) : (
                <>
                  <Chart
                    title={`cumulative earnings (OPEN)${complete ? '' : `, latest ${history.length} payouts`}`}
                    x={asc.map((h) => h.height)}
                    series={[{ label: 'OPEN', values: cumulative, color: '#059669' }]}
                  />
                  <h3>By datanet</h3>
                  <div data-testid="by-datanet">
                    {Object.keys(e.byDatanet).length ? (
                      <Bars rows={bars(e.byDatanet, 'datanet')} />
                    ) : (
                      <Empty>None.</Empty>
                    )}
                  </div>
                  <h3>By model</h3>
                  <div data-testid="by-model">
                    <Bars rows={bars(e.byModel, 'model')} />
                  </div>
                  <h3>Payouts</h3>
                  <table class="list" data-testid="payouts">
                    <thead>
                      <tr>
                        <th>height</th>
                        <th>receipt</th>
                        <th>model</th>
                        <th>role</th>
                        <th>amount OPEN</th>
                      </tr>
                    </thead>
                    <tbody>
                      {history.slice(0, 50).map((h, i) => (
                        <tr key={`${h.receipt}${i}`} data-units={h.amount}>
                          <td>
                            <A to={`block/${h.height}`}>{h.height}</A>
                          </td>
                          <td>
                            <Id kind="receipt" id={h.receipt} />
                          </td>
                          <td>
                            <Id kind="model" id={h.model} />
                          </td>
                          <td>{h.role}</td>
                          <td>{open(h.amount, 6)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </>
              )}
            </>
          );
        }}
      </Load>
      <h2>Activity</h2>
      {events.error !== undefined ? <Failure error={events.error} what="activity" /> : null}
      {events.items.length === 0 && !events.loading ? (
        <Empty>No activity: this address has never sent, received or earned anything.</Empty>
      ) : (
        <table class="list">
          <tbody>
            {events.items.map((ev, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: events have no id
              <tr key={i}>
                <td>
                  <A to={`block/${ev.height}`}>{ev.height}</A>
                </td>
                <td>{ev.tx ? <Id kind="tx" id={ev.tx} /> : 'block'}</td>
                <td>
                  <Events events={[ev]} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <More p={events} />
    </section>
  );
}
