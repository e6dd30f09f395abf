import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { short } from './format.js';
import { type J, RpcFailure } from './rpc.js';

/**
 * Shared pieces of every page. All text goes through JSX children or attributes, which Preact sets
 * as text nodes and properties: nothing here (or anywhere in the app) writes HTML from a string.
 */

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
}

/** Runs `load` when `deps` change; an answer that arrives after the deps changed is dropped. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<Async<T>>({ data: undefined, error: undefined, loading: true });
  useEffect(() => {
    let live = true;
    // Keep showing the last answer while a refresh (a new block) loads: no flicker. Pages remount
    // (a new `key`) when they show another object, so stale data never shows under a new id.
    setState((old) => (old.data === undefined ? { data: undefined, error: undefined, loading: true } : old));
    load().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => {
      live = false;
    };
    // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names the dependencies
  }, deps);
  return state;
}

export function Failure({ error, what }: { error: unknown; what: string }) {
  const e =
    error instanceof RpcFailure
      ? error
      : new RpcFailure('malformed', String((error as Error)?.message ?? error));
  const help =
    e.kind === 'unreachable'
      ? 'The node is not answering. Is it running? `npm run devnet` starts a devnet and prints this page’s address; then reload.'
      : e.notFound
        ? `No ${what} with this id on this chain. Check it for a typo, or search for it from the box above.`
        : e.kind === 'malformed'
          ? 'The node sent an answer this page cannot read (a different version?). Reload; if it persists, compare the node and explorer versions.'
          : 'The node refused the query; the message above says why.';
  return (
    <div class="failure" role="alert" data-kind={e.notFound ? 'not-found' : e.kind}>
      <strong>{e.notFound ? `Unknown ${what}` : `Could not load the ${what}`}</strong>
      <p class="message">{e.message}</p>
      <p>{help}</p>
    </div>
  );
}

/** Loading, error or content for one query. */
export function Load<T>({
  q,
  what,
  children,
}: {
  q: Async<T>;
  what: string;
  children: (d: T) => ComponentChildren;
}) {
  if (q.loading) return <p class="loading">Loading {what}…</p>;
  if (q.error !== undefined || q.data === undefined) return <Failure error={q.error} what={what} />;
  return <>{children(q.data)}</>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function A({ to, children, title }: { to: string; children: ComponentChildren; title?: string }) {
  return (
    <a href={`#/${to}`} title={title}>
      {children}
    </a>
  );
}

export const Addr = ({ a, names }: { a: unknown; names?: Record<string, string> }) =>
  typeof a === 'string' ? (
    <A to={`address/${a}`} title={a}>
      <code>{names?.[a] ?? short(a)}</code>
    </A>
  ) : (
    <span>—</span>
  );

export const Id = ({ kind, id }: { kind: string; id: unknown }) =>
  typeof id === 'string' ? (
    <A to={`${kind}/${id}`} title={id}>
      <code>{short(id)}</code>
    </A>
  ) : (
    <span>—</span>
  );

export function Fields({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <dl class="fields">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A list page's "more" button over a `{items, next}` RPC page. */
export function usePages(load: (cursor: string | undefined) => Promise<J>, deps: unknown[]) {
  const [items, setItems] = useState<J[]>([]);
  const [next, setNext] = useState<string | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const fetchPage = (cursor: string | undefined, reset: boolean) => {
    setLoading(true);
    load(cursor).then(
      (p) => {
        if (!Array.isArray(p?.items)) throw new RpcFailure('malformed', 'a page without items');
        setItems((old) => (reset ? p.items : [...old, ...p.items]));
        setNext(p.next ?? null);
        setError(undefined);
        setLoading(false);
      },
      (e) => {
        setError(e);
        setLoading(false);
      },
    );
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names the dependencies
  useEffect(() => fetchPage(undefined, true), deps);
  return { items, next, error, loading, more: () => next && fetchPage(next, false) };
}

export function More({
  p,
}: {
  p: { next: string | null | undefined; loading: boolean; more: () => unknown };
}) {
  if (p.loading) return <p class="loading">Loading…</p>;
  return p.next ? (
    <button type="button" class="more" onClick={() => p.more()}>
      Older
    </button>
  ) : null;
}

/** A horizontal bar per entry (the payout split, earnings by datanet): widths are set as CSSOM styles. */
export function Bars({
  rows,
}: {
  rows: { label: ComponentChildren; value: number; text: string; key: string }[];
}) {
  const max = Math.max(0, ...rows.map((r) => r.value));
  return (
    <div class="bars">
      {rows.map((r) => (
        <div class="bar-row" key={r.key}>
          <div class="bar-label">{r.label}</div>
          <div class="bar-track">
            <div class="bar" style={{ width: `${max > 0 ? (100 * r.value) / max : 0}%` }} />
          </div>
          <div class="bar-value">{r.text}</div>
        </div>
      ))}
    </div>
  );
}
