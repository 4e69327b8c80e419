// The user's journey through a running demo, in Debian's Chromium driven by playwright-core:
// one exchange through the requester node, then the portal's catalogue, API detail and
// exchange log must show it. Run: `npm test` in end2end/ (or `node --test end2end/tests/`).
//
// Reads the demo's `demo.json` (env RENKEI_DEMO_JSON, default ../renkei-data/demo.json relative
// to end2end/), waiting up to 60 s for it and for the portal to answer.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const end2endDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const demoPath = process.env.RENKEI_DEMO_JSON
  ? resolve(process.env.RENKEI_DEMO_JSON)
  : resolve(end2endDir, '..', 'renkei-data', 'demo.json');
const resultsDir = join(end2endDir, 'test-results');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LOG_WAIT_MS = 20_000;

let demo;
let context;
let userDataDir;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The demo writes demo.json when it is up; a stale file from an earlier run is skipped by
 *  also waiting for its portal to answer. */
async function waitForDemo(timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'not tried';
  while (Date.now() < deadline) {
    try {
      const info = JSON.parse(await readFile(demoPath, 'utf8'));
      const response = await fetch(new URL('/style.css', info.portal_url));
      if (response.ok) return info;
      lastError = `portal answered ${response.status}`;
    } catch (e) {
      lastError = e.message;
    }
    await sleep(500);
  }
  throw new Error(`demo not ready after ${timeoutMs} ms (${demoPath}): ${lastError}`);
}

/** Form-encodes like a shell script would: `/` stays readable, everything else is escaped. */
function formBody(fields) {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2F/g, '/')}`)
    .join('&');
}

/** A page that records console errors and uncaught exceptions (favicon misses aside). */
async function newPage() {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url ?? '';
    if (/favicon/i.test(where) || /favicon/i.test(msg.text())) return;
    errors.push(`console: ${msg.text()} (${where})`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    if (!/favicon/i.test(req.url())) errors.push(`request failed: ${req.url()} ${req.failure()?.errorText}`);
  });
  return { page, errors };
}

async function waitForHydration(page) {
  await page.waitForSelector('[data-hydrated="true"]', { timeout: 15_000 });
}

before(async () => {
  demo = await waitForDemo();
  await mkdir(resultsDir, { recursive: true });
  userDataDir = await mkdtemp(join(tmpdir(), 'renkei-e2e-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
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
    viewport: { width: 1280, height: 900 },
    locale: 'ja-JP',
  });
});

after(async () => {
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

test('an exchange through the requester node shows up in the portal', async (t) => {
  const number = demo.corporate_numbers[0];
  const apiPath = demo.api_path_template.replace(/\{[^}]+\}/, number);
  let requestId;

  await t.test('the requester node answers with the corporation (prior consent)', async () => {
    const auth = Buffer.from(`${demo.requester_basic_user}:${demo.requester_basic_password}`).toString('base64');
    const response = await fetch(new URL('/v1/reception_jizen', demo.requester_node_url), {
      method: 'POST',
      headers: {
        Authorization: `Basic ${auth}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: formBody({ call_api: apiPath, client_id: demo.provider_client_id, method: 'GET', scope: 'basic' }),
    });
    const text = await response.text();
    assert.equal(response.status, 200, `reception_jizen answered ${response.status}: ${text}`);
    const body = JSON.parse(text);
    assert.equal(body.data.Basic.Destination['Corporate number'], number);
    requestId = body.meta?.request_id;
    assert.ok(requestId, `response has no meta.request_id: ${text.slice(0, 300)}`);
  });

  const { page, errors } = await newPage();
  let tileCount;

  await t.test('the catalogue lists the API and filters once hydrated', async () => {
    const response = await page.goto(new URL('/catalogue', demo.portal_url).href);
    assert.equal(response.status(), 200);
    tileCount = await page.getByTestId('api-tile').count();
    assert.ok(tileCount >= 1, 'at least one API tile');
    await waitForHydration(page);

    const filter = page.getByTestId('catalogue-filter');
    const count = page.getByTestId('catalogue-count');
    // The search runs on the server: Enter submits it (the URL keeps it).
    await filter.fill('zzz-no-such-api-zzz');
    await filter.press('Enter');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="catalogue-count"]')?.textContent.startsWith('0 件'),
      null,
      { timeout: 5_000 },
    );
    assert.equal(await page.getByTestId('api-tile').count(), 0);
    assert.match(await count.textContent(), /^0 件/);

    await filter.fill('');
    await filter.press('Enter');
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="api-tile"]').length === n,
      tileCount,
      { timeout: 5_000 },
    );
    assert.match(await count.textContent(), new RegExp(`^${tileCount} 件`));
    await page.screenshot({ path: join(resultsDir, 'catalogue.png'), fullPage: true });
  });

  await t.test('the API detail page lists its operations', async () => {
    // The tile of the API the exchange used (its provider's client id and path template).
    const tiles = page.getByTestId('api-tile');
    let target = tiles.first();
    for (let i = 0; i < tileCount; i++) {
      const slug = await tiles.nth(i).getAttribute('data-slug');
      // renkei's own node API documents the same path; the provider's API is the one to open.
      if (slug.startsWith('renkei-')) continue;
      const detail = await fetch(new URL(`/apis/${slug}/openapi.json`, demo.portal_url));
      // The path exactly (a JSON key), not a longer path that starts with it.
      if (detail.ok && (await detail.text()).includes(JSON.stringify(demo.api_path_template))) {
        target = tiles.nth(i);
        break;
      }
    }
    // The tile's link opens a new tab (the catalogue journey checks that); here, go there.
    await page.goto(new URL(await target.locator('a').first().getAttribute('href'), demo.portal_url).href);
    const detail = page.getByTestId('api-detail');
    await detail.waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('api-client-id').textContent(), demo.provider_client_id);
    assert.equal(await page.getByTestId('api-path').textContent(), demo.api_path_template);
    const operations = page.getByTestId('api-operation');
    assert.ok((await operations.count()) >= 1, 'at least one operation');
    const paths = await page.locator('[data-testid="api-operation"] .operation-path').allTextContents();
    assert.ok(paths.includes(demo.api_path_template), `operations ${paths} include ${demo.api_path_template}`);
    await page.screenshot({ path: join(resultsDir, 'api-detail.png'), fullPage: true });
  });

  await t.test('the exchange log needs a login, then shows both sides of the exchange', async () => {
    const logsUrl = new URL('/logs', demo.portal_url).href;
    const response = await page.goto(logsUrl);
    assert.equal(response.status(), 200);
    await waitForHydration(page);
    await page.getByTestId('need-login').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('[data-testid="log-row"]').count(), 0);

    // The requester organisation's admin: its system took part in the exchange.
    const login = demo.portal_logins.find((l) => l.role === 'org_admin' && l.email.startsWith('requester'));
    assert.ok(login, 'the demo prints a requester admin login');
    await page.goto(new URL('/login', demo.portal_url).href);
    await waitForHydration(page);
    await page.getByTestId('input-email').fill(login.email);
    await page.getByTestId('input-password').fill(login.password);
    await page.getByTestId('submit').click();
    await page.waitForURL(/\/account$/, { timeout: 10_000 });
    // Let the account page finish loading (its bundle) before leaving it.
    await waitForHydration(page);

    // A search by request id, through the form: the URL carries it.
    await page.goto(logsUrl);
    await waitForHydration(page);
    await page.locator('input[name="request_id"]').fill(requestId);
    await Promise.all([page.waitForURL(/request_id=/), page.getByTestId('log-search-submit').click()]);
    await waitForHydration(page);
    const rows = (role) => page.locator(`[data-testid="log-row"][data-request-id="${requestId}"][data-role="${role}"]`);
    const deadline = Date.now() + LOG_WAIT_MS;
    while ((await rows('requester').count()) === 0 || (await rows('provider').count()) === 0) {
      assert.ok(Date.now() < deadline, `no requester + provider rows for ${requestId} after ${LOG_WAIT_MS} ms`);
      await sleep(1_000);
      await page.getByTestId('log-refresh').click();
    }
    assert.equal(await page.locator('[data-testid="log-row"]').count(), 2, 'only the searched exchange');
    const requesterRow = await rows('requester').first().textContent();
    assert.ok(requesterRow.includes(number), `requester row names ${number}: ${requesterRow}`);
    assert.equal(await rows('provider').first().getAttribute('data-outcome'), 'ok');

    // The chart counts the exchange once (two records, one exchange), without errors.
    const charts = page.getByTestId('log-charts');
    await charts.waitFor({ timeout: 10_000 });
    assert.equal(await charts.getAttribute('data-exchanges'), '1');
    const bucket = page.getByTestId('chart-bucket').first();
    assert.equal(await bucket.getAttribute('data-errors'), '0');

    // The CSV link carries the same search and downloads the two records.
    const href = await page.getByTestId('log-csv').getAttribute('href');
    assert.ok(href.includes(`request_id=${requestId}`), href);
    const csv = await page.evaluate(async (h) => (await fetch(h)).text(), href);
    const lines = csv.trim().split(/\r?\n/);
    assert.equal(lines.length, 3, csv);
    assert.ok(lines[0].includes('request_id'), lines[0]);

    // Below the table, the requester's node's signed chain head, re-verified by the portal; the
    // requester organisation sees its own node only.
    const head = page.locator(`[data-testid="chain-head"][data-node="${demo.requester_client_id}"]`);
    const headDeadline = Date.now() + LOG_WAIT_MS;
    while (!(await head.waitFor({ timeout: 3_000 }).then(() => true, () => false))) {
      assert.ok(Date.now() < headDeadline, `no chain head of ${demo.requester_client_id}`);
      await page.reload();
      await waitForHydration(page);
    }
    assert.equal(await head.getAttribute('data-verified'), 'true');
    assert.equal(await page.locator('[data-testid="chain-head"]').count(), 1);

    // A status class that the exchange is not in finds nothing.
    await page.getByTestId('log-status-filter').selectOption('4xx');
    await Promise.all([page.waitForURL(/status=4xx/), page.getByTestId('log-search-submit').click()]);
    await page.getByTestId('log-empty').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(resultsDir, 'logs.png'), fullPage: true });
  });

  await t.test('phone-sized catalogue renders and nothing logged an error', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(new URL('/catalogue', demo.portal_url).href);
    await waitForHydration(page);
    await page.screenshot({ path: join(resultsDir, 'catalogue-phone.png'), fullPage: true });
    assert.deepEqual(errors, []);
  });

  await page.close();
});
