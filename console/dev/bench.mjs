// Issue 20's budgets, measured (not asserted) against the local stack of
// console/dev/stack.mjs: `make bench-console`. Prints one JSON object for
// docs/performance.md:
//  - first_screen_gzip_bytes: the JS and CSS index.html loads, gzipped (level 9);
//  - customer_page_api_requests: API requests while the customer page loads;
//  - navigation_to_customer_painted_ms: p50/p95 over RUNS in-app navigations
//    from the search page to the customer page, until its invoice rows are
//    in the DOM and a frame has been painted.
// Env: BENCH_CUSTOMER (search term, default Muster), RUNS (default 30),
// CONSOLE_SEED_INVOICES (how many invoices to wait for; the stack seeds them).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '../dist');
const CONSOLE = process.env.CONSOLE_URL ?? 'http://127.0.0.1:5173';
const API = process.env.API_URL ?? 'http://127.0.0.1:8787';
const ISSUER = process.env.OIDC_ISSUER ?? 'http://127.0.0.1:8790';
const TERM = process.env.BENCH_CUSTOMER ?? 'Muster';
const RUNS = Number(process.env.RUNS ?? 30);

const html = readFileSync(resolve(dist, 'index.html'), 'utf8');
const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
const firstScreen = assets.reduce((sum, a) => sum + gzipSync(readFileSync(resolve(dist, `.${a}`)), { level: 9 }).length, 0);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage();
const apiRequests = [];
page.on('request', (r) => r.url().startsWith(API) && r.method() !== 'OPTIONS' && apiRequests.push(`${r.method()} ${r.url().slice(API.length)}`));
await page.goto(`${CONSOLE}/`);
await page.waitForURL((u) => u.href.startsWith(ISSUER));
await page.fill('#username', 'sales');
await page.fill('#password', 'sales');
await page.click('button[type=submit]');
await page.waitForURL((u) => u.href.startsWith(CONSOLE) && !u.pathname.startsWith('/callback'));

const token = await new Promise((ok) => {
  const seen = (r) => {
    if (!r.url().startsWith(API) || !r.headers()['authorization']) return;
    page.off('request', seen);
    ok(r.headers()['authorization']);
  };
  page.on('request', seen);
  page.getByRole('searchbox').fill(TERM).then(() => page.getByRole('button', { name: 'Search' }).click());
});
const hits = await (await fetch(`${API}/v1/search?q=${encodeURIComponent(TERM)}`, { headers: { Authorization: token } })).json();
const accountId = hits.items[0].account.id;
const path = `/customers/${encodeURIComponent(accountId)}`;
// console_local seeds the customer while the stack starts: wait for all of its invoices.
const expected = Number(process.env.CONSOLE_SEED_INVOICES ?? 0);
for (let i = 0; i < 120; i++) {
  const page = await (await fetch(`${API}/v1/accounts/${encodeURIComponent(accountId)}/invoices?limit=200`, { headers: { Authorization: token } })).json();
  if (page.items.length >= Math.min(expected, 200)) break;
  await new Promise((ok) => setTimeout(ok, 500));
}

/** In-app navigation to the customer page; ms until its invoice rows are painted. */
async function navigate() {
  await page.evaluate(() => {
    history.pushState(null, '', '/');
    dispatchEvent(new PopStateEvent('popstate'));
  });
  await page.getByRole('searchbox').waitFor();
  apiRequests.length = 0;
  return page.evaluate(
    (p) =>
      new Promise((ok) => {
        const t0 = performance.now();
        history.pushState(null, '', p);
        dispatchEvent(new PopStateEvent('popstate'));
        const check = () => {
          if (document.querySelector('tr[data-invoice]') && document.querySelector('#payments-title')) {
            requestAnimationFrame(() => requestAnimationFrame(() => ok(performance.now() - t0)));
          } else requestAnimationFrame(check);
        };
        check();
      }),
    path,
  );
}

const first = await navigate();
const requests = [...apiRequests];
const invoiceRows = await page.locator('tr[data-invoice]').count();
const times = [first];
for (let i = 1; i < RUNS; i++) times.push(await navigate());
times.sort((a, b) => a - b);
const pct = (q) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
await browser.close();

console.log(
  JSON.stringify(
    {
      first_screen_assets: assets,
      first_screen_gzip_bytes: firstScreen,
      customer_page_api_requests: requests.length,
      customer_page_requests: requests,
      customer_invoices_shown: invoiceRows,
      navigation_to_customer_painted_ms: { runs: RUNS, p50: Math.round(pct(0.5)), p95: Math.round(pct(0.95)) },
    },
    null,
    2,
  ),
);
