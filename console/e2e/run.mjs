// The console's end-to-end test in Debian's Chromium (playwright-core drives
// /usr/bin/chromium; nothing downloads a browser), against the local stack of
// console/dev/stack.mjs (seeded staff API, local OpenID provider, built
// console). One browser, one stack, sequential steps.
//
// Checks: sign-in as sales and as clerk through the provider; sales sees no
// write control on any page; every write route the console knows answers
// 403 to a request forced with the sales token and changes nothing; a clerk
// cancels an invoice and opens the credit note's PDF; a clerk previews a run,
// sees the differences, finalizes it and finds the invoices on the customer
// page; axe-core finds no serious or critical WCAG 2.1 AA violation on any
// page in German or English. Screenshots go to out/console/.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const OUT = resolve(here, '../../out/console');
const CONSOLE = process.env.CONSOLE_URL ?? 'http://127.0.0.1:5173';
const API = process.env.API_URL ?? 'http://127.0.0.1:8787';
const ISSUER = process.env.OIDC_ISSUER ?? 'http://127.0.0.1:8790';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CUSTOMER = 'Muster';
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

mkdirSync(OUT, { recursive: true });
// Playwright starts Chromium with a fresh, empty profile (--user-data-dir) of its own.
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

const results = [];
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}\n     ${String(err?.stack ?? err).split('\n').slice(0, 6).join('\n     ')}`);
  }
}

/** Signs in through the local provider's form; answers the page and the ID token the console sends. */
async function signIn(user) {
  const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  let token = null;
  page.on('request', (req) => {
    if (req.url().startsWith(API)) token = req.headers()['authorization']?.replace(/^Bearer /, '') ?? token;
  });
  await page.goto(`${CONSOLE}/`);
  await page.waitForURL((u) => u.href.startsWith(ISSUER));
  await page.fill('#username', user);
  await page.fill('#password', user);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.href.startsWith(CONSOLE) && !u.pathname.startsWith('/callback'));
  await page.getByRole('heading', { level: 1 }).first().waitFor();
  return { context, page, token: () => token };
}

/** Moves inside the console without a reload (the tokens live in memory). */
async function go(page, path) {
  await page.evaluate((p) => {
    history.pushState(null, '', p);
    dispatchEvent(new PopStateEvent('popstate'));
  }, path);
  await page.waitForLoadState('networkidle');
  await page.getByRole('heading', { level: 1 }).first().waitFor();
}

async function setLanguage(page, lang) {
  await page.getByRole('button', { name: lang === 'de' ? 'Deutsch' : 'English' }).click();
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
}

/** Serious or critical WCAG 2.1 A/AA violations axe-core finds on the page as shown. */
async function axe(page) {
  // Evaluated through the DevTools protocol: the page's CSP (no inline scripts) stays on.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  return found;
}

async function api(token, method, path, body, ifMatch) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (ifMatch) headers['If-Match'] = ifMatch;
  const res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function findCustomer(token) {
  const hits = await api(token, 'GET', `/v1/search?q=${CUSTOMER}`);
  assert.equal(hits.status, 200, JSON.stringify(hits.body));
  return hits.body.items[0].account.id;
}

const PAGES = [
  ['search', '/'],
  ['customer', null],
  ['attention', '/attention'],
  ['review', '/review'],
  ['aging', '/aging'],
  ['runs', '/runs'],
  ['collections', '/collections'],
];

/** Waits until no part of the page is still loading: what is checked is the page as its user sees it. */
async function loaded(page) {
  await page.waitForFunction(() => !document.querySelector('[data-loading]'), null, { timeout: 30_000 });
}

/** Visits every page in both languages, each loaded: axe, write controls, screenshots. */
async function tour(role, page, accountId) {
  const violations = [];
  const writes = {};
  for (const [name, path] of PAGES) {
    await go(page, path ?? `/customers/${encodeURIComponent(accountId)}`);
    for (const lang of ['en', 'de']) {
      await setLanguage(page, lang);
      await loaded(page);
      for (const v of await axe(page)) violations.push(`${role} ${name} ${lang}: ${v}`);
      if (lang === 'en') await page.screenshot({ path: join(OUT, `${role}-${name}.png`), fullPage: true });
    }
    writes[name] = await page.locator('[data-write]').count();
    await setLanguage(page, 'en');
  }
  return { violations, writes };
}

let sales;
let clerk;
let accountId;

await step('sales signs in through the local OpenID provider', async () => {
  sales = await signIn('sales');
  await page_has_role(sales.page, 'sales');
});

async function page_has_role(page, role) {
  assert.equal(await page.locator(`[data-role=${role}]`).count(), 1, `signed in as ${role}`);
}

await step('the local API verifies the provider\'s ID token (401 without it, with a forged one)', async () => {
  await sales.page.getByRole('searchbox').fill(CUSTOMER);
  await sales.page.getByRole('button', { name: 'Search' }).click();
  await sales.page.waitForLoadState('networkidle');
  const token = sales.token();
  assert.ok(token, 'the console sent a bearer token');
  assert.equal((await api(token, 'GET', '/v1/search?q=x')).status, 200, 'the ID token is accepted');
  const [h, p] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, 'cognito:groups': ['billing'] })).toString('base64url')}.${token.split('.')[2]}`;
  assert.equal((await api(forged, 'GET', '/v1/search?q=x')).status, 401, 'a token whose claims were changed is refused');
  assert.equal((await fetch(`${API}/v1/search?q=x`)).status, 401, 'no token: 401');
});
if (!results.at(-1).ok) {
  await browser.close();
  console.log('the local API does not accept the local provider\'s tokens: nothing else can be checked');
  process.exit(1);
}

await step('sales finds the customer by name and opens its page', async () => {
  const { page } = sales;
  await page.getByLabel('Name, CRM id or invoice number').fill(CUSTOMER);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: /Muster/ }).first().click();
  await page.getByRole('heading', { name: 'Invoices' }).waitFor();
  await page.getByRole('heading', { name: 'Payment behaviour' }).waitFor();
  accountId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  assert.ok(accountId);
});

await step('sales sees no write control on any page; axe finds nothing serious in de and en', async () => {
  const { violations, writes } = await tour('sales', sales.page, accountId);
  assert.deepEqual(
    Object.entries(writes).filter(([, n]) => n > 0),
    [],
    'write controls shown to sales',
  );
  assert.deepEqual(violations, []);
});

await step('clerk signs in through the local OpenID provider', async () => {
  clerk = await signIn('clerk');
  await page_has_role(clerk.page, 'billing');
});

await step('clerk sees the write controls; axe finds nothing serious in de and en', async () => {
  const { violations, writes } = await tour('clerk', clerk.page, accountId);
  assert.ok(writes.customer > 0, 'the clerk has actions on the customer page');
  assert.ok(writes.runs > 0, 'the clerk can start a preview');
  assert.deepEqual(violations, []);
});

await step('every write route answers 403 to the sales token and changes nothing', async () => {
  const salesToken = sales.token();
  const clerkToken = clerk.token();
  assert.ok(salesToken && clerkToken, 'both tokens captured');
  const before = await api(clerkToken, 'GET', `/v1/accounts/${encodeURIComponent(accountId)}/overview?invoice_limit=200`);
  const runsBefore = await api(clerkToken, 'GET', '/v1/runs?limit=200');
  const attentionBefore = await api(clerkToken, 'GET', '/v1/needs-attention?limit=200');
  const invoice = before.body.invoices.items.find((i) => i.document_type === '380');
  const id = encodeURIComponent(invoice.invoice_id);
  const ifMatch = `"r${invoice.revision}"`;
  const reason = { reason: 'forced by the e2e test' };
  const writes = [
    ['POST', `/v1/invoices/${id}/cancellation`, reason],
    ['POST', `/v1/invoices/${id}/credit-notes`, { ...reason, selection: { kind: 'amount', net: { amount: '1.00', currency: 'EUR' }, category: 'S', rate: '19' } }],
    ['PUT', `/v1/invoices/${id}/dunning-block`, reason],
    ['DELETE', `/v1/invoices/${id}/dunning-block`, reason],
    ['PUT', `/v1/invoices/${id}/dispute`, reason],
    ['DELETE', `/v1/invoices/${id}/dispute`, reason],
    ['POST', `/v1/invoices/${id}/resend`, reason],
    ['POST', `/v1/invoices/${id}/payments`, { amount: { amount: '1.00', currency: 'EUR' }, reference: 'e2e' }],
    ['DELETE', `/v1/needs-attention/warning/base_rate_missing`, reason],
    ['DELETE', `/v1/needs-attention/unmatched_payment/${encodeURIComponent('stmt#E1')}`, reason],
    ['POST', '/v1/run-previews', { run_date: new Date().toISOString().slice(0, 10) }],
    ['POST', `/v1/run-previews/${encodeURIComponent('preview-e2e')}/finalize`, undefined],
    ['POST', `/v1/collection-files/${encodeURIComponent('batch-e2e')}/download`, {}],
  ];
  const wrong = [];
  for (const [method, path, body] of writes) {
    const r = await api(salesToken, method, path, body, ifMatch);
    if (r.status !== 403) wrong.push(`${method} ${path}: ${r.status}`);
  }
  assert.deepEqual(wrong, []);
  const after = await api(clerkToken, 'GET', `/v1/accounts/${encodeURIComponent(accountId)}/overview?invoice_limit=200`);
  assert.deepEqual(after.body.invoices, before.body.invoices, 'invoices unchanged');
  assert.deepEqual((await api(clerkToken, 'GET', '/v1/runs?limit=200')).body, runsBefore.body, 'runs unchanged');
  assert.deepEqual((await api(clerkToken, 'GET', '/v1/needs-attention?limit=200')).body, attentionBefore.body, 'needs-attention unchanged');
});

await step('clerk cancels an invoice and opens the credit note PDF', async () => {
  const { page } = clerk;
  await go(page, `/customers/${encodeURIComponent(accountId)}`);
  const row = page.locator('tr[data-invoice]').filter({ has: page.locator('.status-open') }).first();
  const number = await row.getAttribute('data-invoice');
  await page.getByRole('button', { name: `Cancel invoice ${number}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Reason').fill('billed to the wrong customer (e2e)');
  await dialog.getByRole('button', { name: 'Cancel invoice' }).click();
  await dialog.getByRole('heading', { name: 'Document issued' }).waitFor();
  await page.screenshot({ path: join(OUT, 'clerk-cancellation.png') });
  const creditNumber = (await dialog.locator('dd').first().textContent()).trim();
  assert.ok(creditNumber, 'the cancellation document has a number');
  // The document is rendered and archived after the write; its link appears once archived.
  let pdf = null;
  for (let i = 0; i < 20 && !pdf; i++) {
    const popup = page.waitForEvent('popup', { timeout: 2000 }).catch(() => null);
    await dialog.getByRole('button', { name: `PDF of ${creditNumber}` }).click();
    pdf = await popup;
  }
  assert.ok(pdf, `the PDF of ${creditNumber} opened`);
  await pdf.waitForLoadState('commit').catch(() => {});
  const url = pdf.url();
  const fetched = await fetch(url);
  assert.equal(fetched.status, 200, `presigned link ${url}`);
  assert.equal((await fetched.arrayBuffer()).byteLength > 0 && String(fetched.headers.get('content-type')).includes('pdf'), true);
  await pdf.close();
  await dialog.getByRole('button', { name: 'Close' }).click();
  await page.locator(`tr[data-invoice="${number}"] .status-cancelled`).waitFor();
});

await step('clerk issues a partial credit note for a chosen line and sees the document', async () => {
  const { page } = clerk;
  await go(page, `/customers/${encodeURIComponent(accountId)}`);
  const row = page.locator('tr[data-invoice]').filter({ has: page.locator('.status-open') }).first();
  const number = await row.getAttribute('data-invoice');
  await page.getByRole('button', { name: `Credit note ${number}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel(/chosen lines/).check();
  await dialog.getByRole('checkbox').first().check();
  await dialog.getByLabel('Reason').fill('one line billed twice (e2e)');
  for (const v of await axe(page)) throw new Error(`axe on the credit note dialog: ${v}`);
  await dialog.getByRole('button', { name: 'Credit note' }).click();
  await dialog.getByRole('heading', { name: 'Document issued' }).waitFor();
  assert.match(await dialog.locator('dd').first().textContent(), /\S/);
  await page.screenshot({ path: join(OUT, 'clerk-credit-note.png') });
  await dialog.getByRole('button', { name: 'Close' }).click();
});

await step('a stale revision (412) is explained and offers the reload', async () => {
  const { page } = clerk;
  await go(page, `/customers/${encodeURIComponent(accountId)}`);
  const row = page.locator('tr[data-invoice]').filter({ has: page.locator('.status-open') }).first();
  const number = await row.getAttribute('data-invoice');
  await page.getByRole('button', { name: `Block dunning ${number}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Reason').fill('promised to pay (e2e)');
  // Someone else changes the invoice meanwhile.
  const overview = await api(clerk.token(), 'GET', `/v1/accounts/${encodeURIComponent(accountId)}/overview?invoice_limit=200`);
  const invoice = overview.body.invoices.items.find((i) => i.invoice_number === number);
  const other = await api(clerk.token(), 'PUT', `/v1/invoices/${encodeURIComponent(invoice.invoice_id)}/dispute`, { reason: 'customer disputes (e2e)' }, `"r${invoice.revision}"`);
  assert.equal(other.status, 200, JSON.stringify(other.body));
  await dialog.getByRole('button', { name: 'Block dunning' }).click();
  await dialog.getByRole('alert').getByText(/changed this in the meantime/).waitFor();
  await page.screenshot({ path: join(OUT, 'clerk-stale-revision.png') });
  await dialog.getByRole('button', { name: 'Reload' }).click();
  await page.locator(`tr[data-invoice="${number}"] .tag`, { hasText: 'disputed' }).waitFor();
});

await step('clerk previews a run, sees the differences, finalizes it; the invoices appear on the customer page', async () => {
  const { page } = clerk;
  await go(page, '/runs');
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.locator('table.preview').waitFor({ timeout: 90_000 });
  const changed = page.locator('table.preview tbody tr.changed');
  assert.ok((await changed.count()) > 0, 'a difference is highlighted');
  await page.screenshot({ path: join(OUT, 'clerk-run-preview.png'), fullPage: true });
  const customerName = (await changed.first().getByRole('link').textContent()).trim();
  const hits = await api(clerk.token(), 'GET', `/v1/search?q=${encodeURIComponent(customerName)}`);
  const billed = hits.body.items[0].account.id;
  const invoicesOf = async () => (await api(clerk.token(), 'GET', `/v1/accounts/${encodeURIComponent(billed)}/overview?invoice_limit=200`)).body.invoices.items.length;
  const before = await invoicesOf();
  await page.getByRole('button', { name: 'Finalize this preview' }).click();
  await page.locator('.progress [data-status=completed]').waitFor({ timeout: 120_000 });
  await page.screenshot({ path: join(OUT, 'clerk-run-finalized.png'), fullPage: true });
  await go(page, `/customers/${encodeURIComponent(billed)}`);
  await page.getByRole('heading', { name: customerName }).waitFor();
  const shown = await page.locator('tr[data-invoice]').count();
  assert.ok(shown > before, `the new invoices on ${customerName}'s page (${before} before, ${shown} now)`);
});

await step('clerk\'s aging per customer: named rows linking to the customer, adding up to the seller total', async () => {
  const { page } = clerk;
  await go(page, '/aging');
  const seller = await page.locator('[data-total]').getAttribute('data-amount');
  assert.equal(await page.locator('[data-customers-total]').getAttribute('data-amount'), seller);
  // Sum the rows in cents, as strings, so nothing is lost to floating point.
  const cents = (amount) => {
    const [whole, fraction = ''] = amount.replace('-', '').split('.');
    const value = BigInt(whole) * 100n + BigInt((fraction + '00').slice(0, 2));
    return amount.startsWith('-') ? -value : value;
  };
  const rows = await page.locator('tr[data-customer] td[data-amount]').evaluateAll((cells) => cells.map((c) => c.dataset.amount));
  assert.equal(rows.reduce((sum, a) => sum + cents(a), 0n), cents(seller), `rows ${rows} against ${seller}`);
  for (const lang of ['de', 'en']) {
    await setLanguage(page, lang);
    for (const v of await axe(page)) throw new Error(`axe on the aging with its customer table (${lang}): ${v}`);
  }
  await page.screenshot({ path: join(OUT, 'clerk-aging-customers.png'), fullPage: true });
  if (cents(seller) > 0n) {
    assert.ok(rows.length > 0, 'something open, so some customer owes it');
    const first = page.locator('tr[data-customer] th a').first();
    const name = (await first.textContent()).trim();
    await first.click();
    await page.getByRole('heading', { name }).waitFor();
  }
});

await step('an expired session (the API answers 401) signs in again and returns to the same page', async () => {
  const { page } = clerk;
  await go(page, '/');
  // API Gateway answers 401 once the ID token has expired; the next call does.
  await page.route(`${API}/v1/receivables/aging*`, (route) => route.fulfill({ status: 401, body: '{"message":"Unauthorized"}' }), { times: 1 });
  await page.evaluate(() => {
    history.pushState(null, '', '/aging?as_of=2026-01-31');
    dispatchEvent(new PopStateEvent('popstate'));
  });
  await page.waitForURL((u) => u.href.startsWith(ISSUER) || u.pathname === '/callback', { timeout: 10_000 }).catch(() => {});
  await page.waitForURL((u) => u.href === `${CONSOLE}/aging?as_of=2026-01-31`, { timeout: 15_000 });
  await page.getByRole('heading', { name: 'Receivables aging' }).waitFor();
  await page.locator('[data-total]').waitFor();
});

await step('signing out ends the provider session too: the next visit asks for the password', async () => {
  const { page } = sales;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((u) => u.href.startsWith(ISSUER));
  await page.getByRole('button', { name: /sign me out/i }).click();
  await page.waitForURL(`${CONSOLE}/signed-out`);
  await page.getByText('You are signed out.').waitFor();
  for (const v of await axe(page)) throw new Error(`axe on the signed-out page: ${v}`);
  await page.goto(`${CONSOLE}/`);
  await page.waitForURL((u) => u.href.startsWith(ISSUER));
  await page.locator('#password').waitFor();
});

await browser.close();
const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length} of ${results.length} e2e steps passed; screenshots in ${OUT}`);
process.exit(failed.length ? 1 : 0);
