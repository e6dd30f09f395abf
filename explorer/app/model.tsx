import { Chart } from './chart.js';
import { bps, open, openFloat } from './format.js';
import { ReceiptTable } from './network.js';
import { batch, call, type J } from './rpc.js';
import { A, Addr, Empty, Failure, Fields, Id, Load, More, useAsync, usePages } from './ui.js';

/** Versions of a model the page shows (newest first). */
export const MODEL_VERSIONS_SHOWN = 10;

export function ModelsPage() {
  const p = usePages((cursor) => call('ol_listModels', [null, cursor ?? null, 50]), []);
  return (
    <section>
      <h1>Models</h1>
      {p.error !== undefined ? <Failure error={p.error} what="models" /> : null}
      {p.items.length === 0 && !p.loading ? (
        <Empty>No models registered yet (`openledger tx model.register`).</Empty>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>name</th>
              <th>id</th>
              <th>owner</th>
              <th>method</th>
              <th>versions</th>
              <th>price / request</th>
            </tr>
          </thead>
          <tbody>
            {p.items.map((m) => (
              <tr key={m.id}>
                <td>
                  <A to={`model/${m.id}`}>{m.name}</A>
                </td>
                <td>
                  <Id kind="model" id={m.id} />
                </td>
                <td>
                  <Addr a={m.owner} />
                </td>
                <td>{m.latest?.method ?? '?'}</td>
                <td>{m.latestVersion}</td>
                <td>{open(m.latest?.pricePerRequest)} OPEN</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <More p={p} />
    </section>
  );
}

function Version({ v }: { v: J }) {
  return (
    <div class="version" data-version={v.version}>
      <h3>
        version {v.version} — {v.method}, <span class={`status ${v.status}`}>{v.status}</span>
      </h3>
      <Fields
        rows={[
          [
            'pinned datanets',
            <ul key="d" class="pins">
              {(v.datanets as J[]).map((d) => (
                <li key={`${d.datanet}@${d.version}`}>
                  <Id kind="datanet" id={d.datanet} /> at version {d.version}
                </li>
              ))}
            </ul>,
          ],
          ['params', (v.params as J[]).map((p) => `${p.key}=${p.value}`).join(', ') || '—'],
          [
            'artifact',
            v.artifact ? (
              <span key="a">
                {v.artifact.baseModel}, adapter <code>{v.artifact.adapterHash}</code>
              </span>
            ) : (
              '— (trained on chain)'
            ),
          ],
          [
            'training spec',
            v.training ? (v.training as J[]).map((p) => `${p.key}=${p.value}`).join(', ') : '—',
          ],
          ['weights hash', v.weightsHash ? <code key="w">{v.weightsHash}</code> : '—'],
          [
            'price',
            `${open(v.pricePerRequest)} OPEN / request + ${open(v.pricePerOutputToken)} OPEN / output token`,
          ],
          ['owner share', bps(v.ownerShareBps)],
          [
            'providers',
            <span key="p">
              {(v.providers as string[]).map((p) => (
                <Addr key={p} a={p} />
              ))}
            </span>,
          ],
          [
            'registered at',
            <A key="h" to={`block/${v.createdHeight}`}>
              {v.createdHeight}
            </A>,
          ],
        ]}
      />
    </div>
  );
}

export function ModelPage({ id }: { id: string }) {
  const q = useAsync(() => call('ol_getModel', [id]), [id]);
  const versions = useAsync(async () => {
    const m = q.data;
    if (!m) return [];
    const from = Math.max(1, m.latestVersion - MODEL_VERSIONS_SHOWN + 1);
    const r = await batch(
      Array.from({ length: m.latestVersion - from + 1 }, (_, i) => [
        'ol_getModelVersion',
        [id, m.latestVersion - i],
      ]),
    );
    return r.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : []));
  }, [q.data]);
  const receipts = usePages((cursor) => call('ol_listReceipts', [id, cursor ?? null, 100]), [id]);
  const settled = receipts.items
    .filter((r) => r.fee !== null)
    .sort((a, b) => a.settledHeight - b.settledHeight);
  return (
    <section>
      <Load q={q} what="model">
        {(m) => (
          <>
            <h1>Model {m.name}</h1>
            <Fields
              rows={[
                ['id', <code key="i">{m.id}</code>],
                ['owner', <Addr key="o" a={m.owner} />],
                ['latest version', m.latestVersion],
                [
                  'created at',
                  <A key="c" to={`block/${m.createdHeight}`}>
                    {m.createdHeight}
                  </A>,
                ],
              ]}
            />
            <h2>Lineage</h2>
            <Load q={versions} what="model versions">
              {(vs) =>
                vs.length === 0 ? (
                  <Empty>No versions.</Empty>
                ) : (
                  vs.map((v) => <Version key={v.version} v={v} />)
                )
              }
            </Load>
          </>
        )}
      </Load>
      <h2>Fees over time</h2>
      <Chart
        title="fee per settled receipt (OPEN) by settlement height"
        x={settled.map((r) => r.settledHeight)}
        series={[{ label: 'fee', values: settled.map((r) => openFloat(r.fee)), color: '#d97706' }]}
      />
      <h2>Receipts</h2>
      {receipts.error !== undefined ? <Failure error={receipts.error} what="receipts" /> : null}
      {receipts.items.length === 0 && !receipts.loading ? (
        <Empty>No receipts for this model yet.</Empty>
      ) : (
        <ReceiptTable items={receipts.items} />
      )}
      <More p={receipts} />
    </section>
  );
}
