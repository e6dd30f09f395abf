import { useMemo } from 'preact/hooks';
import { Chart } from './chart.js';
import { bps, open } from './format.js';
import { segments } from './highlight.js';
import { batch, call, type J } from './rpc.js';
import { A, Addr, Bars, Empty, Fields, Id, Load, More, useAsync, usePages } from './ui.js';

export function DatanetsPage() {
  const p = usePages((cursor) => call('ol_listDatanets', [null, null, cursor ?? null, 50]), []);
  return (
    <section>
      <h1>Datanets</h1>
      {p.error !== undefined ? null : p.items.length === 0 && !p.loading ? (
        <Empty>No datanets yet. Anyone can create one with `openledger tx datanet.create`.</Empty>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>name</th>
              <th>id</th>
              <th>owner</th>
              <th>curation</th>
              <th>version</th>
              <th>submitted</th>
            </tr>
          </thead>
          <tbody>
            {p.items.map((d) => (
              <tr key={d.id}>
                <td>
                  <A to={`datanet/${d.id}`}>{d.name}</A>
                </td>
                <td>
                  <Id kind="datanet" id={d.id} />
                </td>
                <td>
                  <Addr a={d.owner} />
                </td>
                <td>{d.curation}</td>
                <td>{d.version}</td>
                <td>{d.submitted}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <More p={p} />
    </section>
  );
}

export function DatanetPage({ id }: { id: string }) {
  const q = useAsync(() => call('ol_getDatanet', [id]), [id]);
  const p = usePages((cursor) => call('ol_listContributions', [id, null, null, cursor ?? null, 100]), [id]);
  const contributors = useMemo(
    () => [...new Set(p.items.map((c) => c.contributor as string))].sort(),
    [p.items],
  );
  const earnings = useAsync(
    () => batch(contributors.map((a) => ['ol_getEarnings', [a, null, 1]])),
    [contributors.join()],
  );
  const versions = useMemo(
    () =>
      p.items
        .filter((c) => c.status === 'accepted' && c.seq > 0)
        .sort((a, b) => a.seq - b.seq)
        .map((c) => ({ height: c.decidedHeight as number, version: c.seq as number })),
    [p.items],
  );
  return (
    <section>
      <Load q={q} what="datanet">
        {(d) => (
          <>
            <h1>Datanet {d.name}</h1>
            <p class="description">{d.description}</p>
            <Fields
              rows={[
                ['id', <code key="i">{d.id}</code>],
                ['owner', <Addr key="o" a={d.owner} />],
                [
                  'policy',
                  `${d.curation}${d.curators.length ? ` (${d.curators.length} curators)` : ''}, bond ${open(d.bond)} OPEN, ${bps(d.rejectForfeitBps)} forfeited on rejection`,
                ],
                ['license', d.license],
                ['tags', d.tags.join(', ') || '—'],
                ['labels', d.labels.join(', ') || '—'],
                ['version', `${d.version} (accepted contributions)`],
                ['submitted', d.submitted],
                [
                  'created at',
                  <A key="c" to={`block/${d.createdHeight}`}>
                    {d.createdHeight}
                  </A>,
                ],
              ]}
            />
          </>
        )}
      </Load>
      <h2>Versions over time</h2>
      <Chart
        title="datanet version by height"
        x={versions.map((v) => v.height)}
        series={[{ label: 'version', values: versions.map((v) => v.version), color: '#7c3aed' }]}
      />
      <h2>Contributor earnings from this datanet</h2>
      <Load q={earnings} what="contributor earnings">
        {(r) => {
          const rows = contributors.map((a, i) => {
            const e = r[i];
            const units = e?.status === 'fulfilled' ? String(e.value.byDatanet?.[id] ?? '0') : '0';
            return {
              key: a,
              label: <Addr a={a} />,
              value: Number(BigInt(units) / 10n ** 12n),
              text: `${open(units)} OPEN`,
            };
          });
          return rows.length === 0 ? <Empty>No contributors yet.</Empty> : <Bars rows={rows} />;
        }}
      </Load>
      <h2>Contributions</h2>
      {p.items.length === 0 && !p.loading ? (
        <Empty>No contributions yet.</Empty>
      ) : (
        <table class="list" data-testid="contributions">
          <thead>
            <tr>
              <th>contribution</th>
              <th>contributor</th>
              <th>status</th>
              <th>seq</th>
              <th>bytes</th>
              <th>label</th>
              <th>submitted</th>
            </tr>
          </thead>
          <tbody>
            {p.items.map((c) => (
              <tr key={c.id}>
                <td>
                  <Id kind="contribution" id={c.id} />
                </td>
                <td>
                  <Addr a={c.contributor} />
                </td>
                <td class={`status ${c.status}`}>
                  <Status c={c} />
                </td>
                <td>{c.seq || '—'}</td>
                <td>{c.sizeBytes}</td>
                <td>{c.label || '—'}</td>
                <td>
                  <A to={`block/${c.submittedHeight}`}>{c.submittedHeight}</A>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <More p={p} />
    </section>
  );
}

function Status({ c }: { c: J }) {
  if (c.duplicateOf)
    return (
      <span data-testid="near-duplicate">
        {c.status}: near-duplicate of <Id kind="contribution" id={c.duplicateOf} /> ({bps(c.coveredBps)}{' '}
        similar)
      </span>
    );
  return (
    <span>
      {c.status}
      {c.note ? ` — ${c.note}` : ''}
    </span>
  );
}

/** A contribution; `start`/`end` (UTF-16 offsets) mark the range an answer's evidence cites. */
export function ContributionPage({ id, start, end }: { id: string; start?: number; end?: number }) {
  const q = useAsync(() => call('ol_getContribution', [id, true]), [id]);
  return (
    <section>
      <h1>Contribution</h1>
      <Load q={q} what="contribution">
        {(c) => {
          const segs = segments(
            String(c.content ?? ''),
            start !== undefined && end !== undefined ? [{ start, end }] : [],
          );
          return (
            <>
              <Fields
                rows={[
                  ['id', <code key="i">{c.id}</code>],
                  ['datanet', <Id key="d" kind="datanet" id={c.datanet} />],
                  ['contributor', <Addr key="c" a={c.contributor} />],
                  ['status', <Status key="s" c={c} />],
                  ['accepted as version', c.seq || '—'],
                  ['size', `${c.sizeBytes} bytes`],
                  ['label', c.label || '—'],
                  ['content hash', <code key="h">{c.contentHash}</code>],
                ]}
              />
              <h2>Text{start !== undefined ? ` (characters ${start}–${end} cited)` : ''}</h2>
              <pre class="text contribution" data-testid="contribution-text">
                {segs.map((s, i) =>
                  s.spans.length > 0 ? (
                    // biome-ignore lint/suspicious/noArrayIndexKey: segments are positional
                    <mark key={i} class="cited" id="cited">
                      {s.text}
                    </mark>
                  ) : (
                    s.text
                  ),
                )}
              </pre>
            </>
          );
        }}
      </Load>
    </section>
  );
}
