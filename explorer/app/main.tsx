import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { AddressPage } from './address.js';
import { BlockPage, SearchPage, TxPage } from './chain.js';
import { ContributionPage, DatanetPage, DatanetsPage } from './datanet.js';
import { ModelPage, ModelsPage } from './model.js';
import { NetworkPage } from './network.js';
import { ReceiptPage, ReceiptsPage } from './receipt.js';
import { SEARCH_CHARS_MAX } from './search.js';
import { Empty } from './ui.js';

/**
 * Routes live in the URL fragment (`#/block/12`), so the node serves one index.html and every
 * link is shareable. A route's parts are validated before any page sees them.
 */

const HASH = /^0x[0-9a-f]{64}$/;
const ADDRESS = /^0x[0-9a-f]{40}$/;

function route(hash: string) {
  const parts = hash.replace(/^#\/?/, '').split('/');
  const [page, a, b, c] = parts;
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  switch (page) {
    case '':
    case undefined:
      return <NetworkPage />;
    case 'block':
      return a && (/^[0-9]{1,15}$/.test(a) || HASH.test(a)) ? <BlockPage key={a} at={a} /> : null;
    case 'tx':
      return HASH.test(a) ? <TxPage key={a} hash={a} /> : null;
    case 'search':
      return <SearchPage key={a} query={decode(parts.slice(1).join('/'))} />;
    case 'datanets':
      return <DatanetsPage />;
    case 'datanet':
      return HASH.test(a) ? <DatanetPage key={a} id={a} /> : null;
    case 'contribution': {
      if (!HASH.test(a)) return null;
      const ok = /^[0-9]{1,9}$/.test(b ?? '') && /^[0-9]{1,9}$/.test(c ?? '');
      return (
        <ContributionPage
          key={hash}
          id={a}
          start={ok ? Number(b) : undefined}
          end={ok ? Number(c) : undefined}
        />
      );
    }
    case 'models':
      return <ModelsPage />;
    case 'model':
      return HASH.test(a) ? <ModelPage key={a} id={a} /> : null;
    case 'receipts':
      return <ReceiptsPage />;
    case 'receipt':
      return HASH.test(a) ? <ReceiptPage key={a} id={a} /> : null;
    case 'address':
      return ADDRESS.test(a) ? <AddressPage key={a} addr={a} /> : null;
    default:
      return null;
  }
}

function App() {
  const [hash, setHash] = useState(location.hash);
  const [q, setQ] = useState('');
  useEffect(() => {
    const on = () => {
      setHash(location.hash);
      window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  const page = route(hash);
  return (
    <>
      <header>
        <a class="brand" href="#/">
          OpenLedger explorer
        </a>
        <nav>
          <a href="#/">network</a>
          <a href="#/datanets">datanets</a>
          <a href="#/models">models</a>
          <a href="#/receipts">receipts</a>
        </nav>
        <form
          class="search"
          onSubmit={(e) => {
            e.preventDefault();
            location.hash = `#/search/${encodeURIComponent(q.slice(0, SEARCH_CHARS_MAX * 2))}`;
          }}
        >
          <input
            name="q"
            aria-label="search"
            placeholder="height, hash, address, datanet, model or receipt id"
            value={q}
            onInput={(e) => setQ((e.target as HTMLInputElement).value)}
          />
          <button type="submit">Search</button>
        </form>
      </header>
      <main>
        {page ?? (
          <section>
            <h1>Not a page</h1>
            <Empty>
              This address does not name an explorer page. Start from the <a href="#/">network page</a> or
              search above.
            </Empty>
          </section>
        )}
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = ''; // the static "Loading…" placeholder (Preact 11 appends, it does not replace)
render(<App />, root);
