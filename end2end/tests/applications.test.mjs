// Systems, API publication and API-use applications through a running demo in Debian's Chromium
// (playwright-core), with the demo's provider and requester admins (demo.json portal_logins):
//   1. the requester registers a system (the refused key is named on the form first);
//   2. the provider publishes a second API on its system: an OpenAPI document without paths is
//      refused with its place shown, then the document is uploaded from a file (read in the browser);
//   3. the requester applies for it with a comment holding newlines and `<b>html</b>`;
//   4. the provider approves with a narrowed scope and a rate limit; a second, stale tab approving
//      with other terms shows the server's 409 reason; both sides see the whole history;
//   5. the provider adds a version and unpublishes the API;
//   6. the pages at phone width (375 px) scroll no sideways.
// Run by scripts/e2e.sh.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const end2endDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const demoPath = process.env.RENKEI_DEMO_JSON
  ? resolve(process.env.RENKEI_DEMO_JSON)
  : resolve(end2endDir, '..', 'renkei-data', 'demo.json');
const resultsDir = join(end2endDir, 'test-results');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let demo;
let browser;
const errors = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

const url = (path) => new URL(path, demo.portal_url).href;

async function person(viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, locale: 'ja-JP' });
  const page = await context.newPage();
  watch(page);
  return { context, page };
}

function watch(page) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // Refused API calls (a bad key, a refused document, the 409) are expected in these journeys.
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) return;
    errors.push(`console: ${msg.text()} (${msg.location()?.url ?? ''})`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
}

async function open(page, path) {
  const response = await page.goto(url(path));
  await page.waitForSelector('[data-hydrated="true"]', { timeout: 15_000 });
  return response;
}

async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('.loading'), null, { timeout: 10_000 });
}

async function login(page, who) {
  await open(page, '/login');
  await page.getByTestId('input-email').fill(who.email);
  await page.getByTestId('input-password').fill(who.password);
  await page.getByTestId('submit').click();
  await page.waitForURL(/\/account$/, { timeout: 10_000 });
  await page.getByTestId('user-email').waitFor({ timeout: 10_000 });
}

function demoAdmin(prefix) {
  const found = demo.portal_logins.find((l) => l.email.startsWith(`${prefix}-admin@`));
  assert.ok(found, `demo.json lists the ${prefix} admin`);
  return found;
}

/** A fresh Ed25519 public key, raw 32 bytes as base64url (what a node's key file holds). */
function ed25519PublicKey() {
  const { publicKey } = generateKeyPairSync('ed25519');
  return publicKey.export({ format: 'jwk' }).x;
}

before(async () => {
  demo = await waitForDemo();
  await mkdir(resultsDir, { recursive: true });
  browser = await chromium.launch({
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
  });
});

after(async () => {
  await browser?.close();
  assert.deepEqual(errors, [], 'no console or page errors');
});

const stamp = Date.now().toString().slice(-9);
const slug = `ui-apply-${stamp}`;
const apiName = `法人基本情報 UI ${stamp}`;
const systemId = `req-ui-${stamp}`;
const comment = '一行目の説明\n<b>html</b> は太字になりません\n三行目';
const approval = '承認します。\n呼び出しは 30 回/分まで。';

const openapiDoc = (paths) => JSON.stringify({
  openapi: '3.0.3',
  info: { title: apiName, version: '2.0.0' },
  paths,
});
const goodPaths = {
  '/v1/corporations/{number}': {
    get: {
      parameters: [{ name: 'number', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { 200: { description: 'the corporation' } },
    },
  },
};

let applicationId;

test('systems, publication, application, approval and history', async (t) => {
  const provider = demoAdmin('provider');
  const requester = demoAdmin('requester');
  const { context: providerCtx, page: prov } = await person();
  const { context: requesterCtx, page: req } = await person();
  await login(prov, provider);
  await login(req, requester);

  await t.test('the requester registers a system; a bad key is named on the form', async () => {
    await open(req, '/org/systems');
    await settled(req);
    await req.locator(`[data-testid="system-row"][data-client-id="${demo.requester_client_id}"]`).waitFor();
    await req.getByTestId('input-client_id').fill(systemId);
    await req.getByTestId('input-name').fill('UI テスト用システム');
    await req.getByTestId('input-endpoint').fill('https://ui-test.example.jp/');
    await req.getByTestId('input-public_key').fill('not-a-key');
    await req.getByTestId('submit').click();
    const keyError = req.getByTestId('error-public_key');
    await keyError.waitFor({ timeout: 10_000 });
    assert.match(await keyError.innerText(), /Ed25519/);
    await req.getByTestId('input-public_key').fill(ed25519PublicKey());
    await req.getByTestId('submit').click();
    await req.getByTestId('done').waitFor({ timeout: 10_000 });
    const row = req.locator(`[data-testid="system-row"][data-client-id="${systemId}"]`);
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.innerText(), /https:\/\/ui-test\.example\.jp/);
  });

  await t.test('the provider publishes a second API; the refused document shows its place', async () => {
    await open(prov, '/org/apis');
    await settled(prov);
    await prov.locator('[data-testid="own-api"][data-slug="nta-corporations"]').waitFor();
    const form = prov.getByTestId('publish-form');
    await form.getByTestId('input-slug').fill(slug);
    await form.getByTestId('input-name').fill(apiName);
    await form.getByTestId('input-summary').fill('UI テストで公開する API');
    await form.getByTestId('input-system').selectOption(demo.provider_client_id);
    await form.getByTestId('input-categories').fill('法人基本情報, 財務情報');
    await form.getByTestId('scopes-finance').check();
    await form.getByTestId('input-terms').fill('出典を明記すること');
    await form.getByTestId('input-path_template').fill('/v1/corporations/{number}');
    await form.getByTestId('input-openapi').fill(openapiDoc({}));
    await form.getByTestId('submit').click();
    const docError = form.getByTestId('error-openapi');
    await docError.waitFor({ timeout: 10_000 });
    assert.match(await docError.innerText(), /\$\.paths/);

    await form.getByTestId('openapi-file').setInputFiles({
      name: 'api.json',
      mimeType: 'application/json',
      buffer: Buffer.from(openapiDoc(goodPaths)),
    });
    await prov.waitForFunction(
      () => document.querySelector('[data-testid="input-openapi"]').value.includes('/v1/corporations/{number}'),
      null,
      { timeout: 10_000 },
    );
    await form.getByTestId('submit').click();
    await prov.getByTestId('done').waitFor({ timeout: 10_000 });
    const card = prov.locator(`[data-testid="own-api"][data-slug="${slug}"]`);
    await card.waitFor({ timeout: 10_000 });
    assert.equal(await card.getByTestId('api-version').innerText(), '2.0.0');
  });

  await t.test('the requester applies with a comment holding newlines and markup', async () => {
    await open(req, `/applications/new?api=${slug}`);
    await settled(req);
    await req.getByTestId('input-system').selectOption(systemId);
    assert.equal(await req.getByTestId('scopes-basic').isChecked(), true);
    assert.equal(await req.getByTestId('scopes-finance').isChecked(), true);
    await req.getByTestId('input-purpose').fill('補助金審査での法人確認');
    await req.getByTestId('input-rate_limit_per_minute').fill('120');
    await req.getByTestId('input-comment').fill(comment);
    await req.getByTestId('submit').click();
    await req.waitForURL(/\/applications\/\d+$/, { timeout: 10_000 });
    applicationId = Number(new URL(req.url()).pathname.split('/').pop());
    await req.waitForSelector('[data-hydrated="true"]');
    const shown = req.getByTestId('application-comment');
    assert.equal(await shown.innerText(), comment);
    assert.equal(await shown.locator('b').count(), 0, 'markup is text, not an element');
    assert.equal(await shown.evaluate((e) => getComputedStyle(e).whiteSpace), 'pre-wrap');
    assert.equal(await req.getByTestId('status').first().getAttribute('data-status'), 'pending');
    await req.getByTestId('withdraw-form').waitFor();
    await req.screenshot({ path: join(resultsDir, 'application-pending.png'), fullPage: true });

    await open(req, '/applications');
    await settled(req);
    await req.locator(`[data-testid="application-row"][data-id="${applicationId}"]`).waitFor();
  });

  await t.test('the provider approves with a narrowed scope; a stale tab gets the 409 reason', async () => {
    await open(prov, '/applications?side=provider&status=pending');
    await settled(prov);
    const row = prov.locator(`[data-testid="application-row"][data-id="${applicationId}"]`);
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.innerText(), /補助金申請システム/);

    const stale = await providerCtx.newPage();
    watch(stale);
    await open(stale, `/applications/${applicationId}`);
    await settled(stale);
    await open(prov, `/applications/${applicationId}`);
    await settled(prov);

    const decide = prov.getByTestId('decide');
    await decide.getByTestId('scopes-finance').uncheck();
    await decide.getByTestId('input-rate_limit_per_minute').fill('30');
    await decide.getByTestId('input-comment').fill(approval);
    await decide.getByTestId('approve').click();
    await prov.getByTestId('done').waitFor({ timeout: 10_000 });
    await prov.locator('[data-testid="history-item"][data-action="approved"]').waitFor({ timeout: 10_000 });
    assert.equal(await prov.getByTestId('granted-rate').innerText(), '30 回/分');
    assert.equal((await prov.getByTestId('granted-scopes').innerText()).trim(), 'basic');
    assert.equal(await prov.getByTestId('decide').count(), 0);
    await prov.getByTestId('revoke-form').waitFor();

    // The stale tab still offers the decision; approving with other terms is refused with a reason.
    const staleDecide = stale.getByTestId('decide');
    await staleDecide.getByTestId('input-rate_limit_per_minute').fill('45');
    await staleDecide.getByTestId('approve').click();
    const refused = staleDecide.getByTestId('form-error');
    await refused.waitFor({ timeout: 10_000 });
    assert.equal(await refused.getAttribute('data-code'), 'already_approved');
    assert.match(await refused.innerText(), /承認済み/);
    await stale.screenshot({ path: join(resultsDir, 'application-409.png'), fullPage: true });
    // It offers the current state, which has nothing left to decide.
    await staleDecide.getByTestId('reload').click();
    await stale.locator('[data-testid="history-item"][data-action="approved"]').waitFor({ timeout: 10_000 });
    assert.equal(await stale.getByTestId('decide').count(), 0);
    await stale.close();
  });

  await t.test('both sides see the whole history', async () => {
    for (const page of [prov, req]) {
      await open(page, `/applications/${applicationId}`);
      await settled(page);
      const items = page.getByTestId('history-item');
      assert.equal(await items.count(), 2);
      const submitted = page.locator('[data-testid="history-item"][data-action="submitted"]');
      assert.equal(await submitted.getByTestId('history-actor').innerText(), requester.email);
      assert.equal(await submitted.getByTestId('history-comment').innerText(), comment);
      assert.match(await submitted.innerText(), /\d{4}-\d\d-\d\d \d\d:\d\d JST/);
      const approved = page.locator('[data-testid="history-item"][data-action="approved"]');
      assert.equal(await approved.getByTestId('history-actor').innerText(), provider.email);
      assert.equal(await approved.getByTestId('history-comment').innerText(), approval);
      assert.match(await approved.innerText(), /basic/);
      assert.doesNotMatch(await approved.innerText(), /finance/);
      assert.equal(await page.getByTestId('status').first().getAttribute('data-status'), 'approved');
    }
    // The requester's side has nothing left to do on an approved application.
    assert.equal(await req.getByTestId('actions').count(), 0);
    await req.screenshot({ path: join(resultsDir, 'application-history.png'), fullPage: true });

    await open(req, '/applications?status=approved');
    await settled(req);
    await req.locator(`[data-testid="application-row"][data-id="${applicationId}"]`).waitFor();
    await open(req, '/applications?status=revoked');
    await settled(req);
    await req.getByTestId('empty-state').waitFor();
  });

  await t.test('the provider adds a version, then unpublishes the API', async () => {
    await open(prov, '/org/apis');
    await settled(prov);
    const card = prov.locator(`[data-testid="own-api"][data-slug="${slug}"]`);
    await card.getByTestId('new-version').click();
    const form = card.getByTestId('version-form');
    await form.getByTestId('input-version').fill('2.1.0');
    await form.getByTestId('input-openapi').fill(openapiDoc(goodPaths));
    await form.getByTestId('submit').click();
    await prov.getByTestId('done').waitFor({ timeout: 10_000 });
    await prov.waitForFunction(
      (s) => document.querySelector(`[data-testid="own-api"][data-slug="${s}"] [data-testid="api-version"]`)?.textContent === '2.1.0',
      slug,
      { timeout: 10_000 },
    );
    await card.getByTestId('unpublish').click();
    await prov.locator(`[data-testid="own-api"][data-slug="${slug}"][data-status="unpublished"]`).waitFor({ timeout: 10_000 });
    await prov.screenshot({ path: join(resultsDir, 'published-apis.png'), fullPage: true });
    // No longer in the catalogue: applying is refused with the reason.
    await open(req, `/applications/new?api=${slug}`);
    await settled(req);
    await req.getByTestId('error').waitFor({ timeout: 10_000 });
  });

  await providerCtx.close();
  await requesterCtx.close();
});

test('the workflow pages fit a 375 px screen', async () => {
  const { context, page } = await person({ width: 375, height: 812 });
  await login(page, demoAdmin('requester'));
  const paths = ['/applications', '/applications?side=provider', '/org/systems', '/org/apis'];
  if (applicationId) paths.push(`/applications/${applicationId}`);
  paths.push('/applications/new?api=nta-corporations');
  for (const path of paths) {
    const response = await open(page, path);
    assert.equal(response.status(), 200, `${path} answered ${response.status()}`);
    await settled(page);
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.scrollingElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    assert.ok(scrollWidth <= innerWidth, `${path}: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
  }
  await page.screenshot({ path: join(resultsDir, 'applications-phone.png'), fullPage: true });
  await context.close();
});
