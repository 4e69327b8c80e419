// The catalogue journey through a running demo in Debian's Chromium (playwright-core):
//   1. search with two categories (OR): the URL keeps the search, a reload and the back button
//      show the same results; a tile's "…" shows every category;
//   2. the detail page opens in a new tab, shows an operation's body schema;
//   3. logged in as the requester organisation, try-it calls the demo's requester node from the
//      browser (CORS) and shows the standard data;
//   4. the catalogue at 375 px has no horizontal scrolling, in Japanese and in English;
//   5. without JavaScript, the search form still works (a GET form).
// Run by scripts/e2e.sh.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
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

// Two categories of the demo's catalogue: the NTA API's and a sample entry's.
const NTA_CATEGORY = '国税庁';
const SAMPLE_CATEGORY = '許認可';

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

function watch(page) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    if (/favicon/i.test(msg.text())) return;
    errors.push(`console: ${msg.text()} (${msg.location()?.url ?? ''})`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  return page;
}

async function hydrated(page) {
  await page.waitForSelector('[data-hydrated="true"]', { timeout: 15_000 });
}

async function tileSlugs(page) {
  return page.locator('[data-testid="api-tile"]').evaluateAll((tiles) => tiles.map((t) => t.dataset.slug));
}

/** Waits until the tiles are exactly `slugs` (in order). */
async function tilesAre(page, slugs) {
  await page.waitForFunction(
    (want) =>
      JSON.stringify([...document.querySelectorAll('[data-testid="api-tile"]')].map((t) => t.dataset.slug)) ===
      JSON.stringify(want),
    slugs,
    { timeout: 10_000 },
  );
}

before(async () => {
  demo = await waitForDemo();
  await mkdir(resultsDir, { recursive: true });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
});

test('search by two categories, open a detail in a new tab, try it through the requester node', async (t) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ja-JP' });
  const page = watch(await context.newPage());
  const requesterAdmin = demo.portal_logins.find((l) => l.email.startsWith('requester-admin@'));
  assert.ok(requesterAdmin, 'demo.json lists the requester organisation admin');

  // Find which slugs carry the two categories, from the public REST search.
  const union = async () => {
    const q = `category=${encodeURIComponent(NTA_CATEGORY)}&category=${encodeURIComponent(SAMPLE_CATEGORY)}`;
    const body = await (await fetch(url(`/api/v1/catalogue?${q}`))).json();
    return body.items.map((i) => i.slug);
  };
  const expected = await union();

  await t.test('logging in as the requester organisation', async () => {
    await page.goto(url('/login'));
    await hydrated(page);
    await page.getByTestId('input-email').fill(requesterAdmin.email);
    await page.getByTestId('input-password').fill(requesterAdmin.password);
    await page.getByTestId('submit').click();
    await page.waitForURL(/\/account$/, { timeout: 10_000 });
  });

  await t.test('ticking two categories shows the APIs of either, and the URL keeps them', async () => {
    const response = await page.goto(url('/catalogue'));
    assert.equal(response.status(), 200);
    await hydrated(page);
    const all = await tileSlugs(page);
    assert.ok(all.length >= 3, `the demo lists several APIs: ${all}`);

    await page.locator(`[data-testid="category-option"][data-category="${NTA_CATEGORY}"]`).check();
    await page.waitForURL((u) => u.searchParams.getAll('category').includes(NTA_CATEGORY), { timeout: 10_000 });
    await tilesAre(page, ['nta-corporations']);
    await page.locator(`[data-testid="category-option"][data-category="${SAMPLE_CATEGORY}"]`).check();
    await page.waitForURL((u) => u.searchParams.getAll('category').length === 2, { timeout: 10_000 });
    assert.deepEqual([...expected].sort(), ['nta-corporations', 'sample-certificates']);
    await tilesAre(page, expected);
    assert.match(await page.getByTestId('catalogue-count').textContent(), /^2 件/);

    // A reload renders the same search on the server: same tiles, same ticked boxes.
    await page.reload();
    await hydrated(page);
    assert.deepEqual(await tileSlugs(page), expected);
    for (const c of [NTA_CATEGORY, SAMPLE_CATEGORY]) {
      assert.ok(await page.locator(`[data-testid="category-option"][data-category="${c}"]`).isChecked(), c);
    }

    // Back: the one-category search again.
    await page.goBack();
    await tilesAre(page, ['nta-corporations']);
    await page.goForward();
    await tilesAre(page, expected);

    // Keywords narrow it (every word must match).
    await page.getByTestId('catalogue-filter').fill('zzz-no-such-api');
    await page.getByTestId('catalogue-filter').press('Enter');
    await page.getByTestId('catalogue-empty').waitFor({ timeout: 10_000 });
    assert.match(await page.getByTestId('catalogue-count').textContent(), /^0 件/);
    await page.goBack();
    await tilesAre(page, expected);
    await page.screenshot({ path: join(resultsDir, 'catalogue-two-categories.png'), fullPage: true });
  });

  await t.test('a tile with several categories shows the first and "…", the rest on focus', async () => {
    const tile = page.locator('[data-testid="api-tile"][data-slug="nta-corporations"]');
    const more = tile.getByTestId('tag-more');
    const popover = tile.getByTestId('tag-popover');
    assert.equal(await more.textContent(), '…');
    assert.equal(await popover.isVisible(), false);
    await more.focus();
    await popover.waitFor({ state: 'visible', timeout: 5_000 });
    const shown = await popover.locator('.tag').allTextContents();
    assert.deepEqual(shown, ['法人基本情報', '国税庁', 'Corporate registry']);
    await page.keyboard.press('Tab');
    await popover.waitFor({ state: 'hidden', timeout: 5_000 });
    await more.hover();
    await popover.waitFor({ state: 'visible', timeout: 5_000 });
  });

  let detail;
  await t.test('the detail page opens in a new tab and shows the body schema', async () => {
    const link = page.locator('[data-testid="api-tile"][data-slug="nta-corporations"] [data-testid="api-link"]');
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.equal(await link.getAttribute('rel'), 'noopener');
    const [popup] = await Promise.all([context.waitForEvent('page'), link.click()]);
    detail = watch(popup);
    await detail.waitForLoadState();
    assert.equal(new URL(detail.url()).pathname, '/apis/nta-corporations');
    await hydrated(detail);
    // The search stays in the first tab.
    assert.deepEqual(await tileSlugs(page), expected);

    assert.equal(await detail.getByTestId('api-client-id').textContent(), demo.provider_client_id);
    const ok = detail.locator('[data-testid="api-response"][data-status="200"]');
    const props = await ok.locator('[data-testid="schema-prop"]').evaluateAll((ps) => ps.map((p) => p.dataset.name));
    assert.deepEqual(props, ['meta', 'data']);
    assert.match(await ok.locator('[data-name="meta"]').textContent(), /必須/);
    assert.equal(
      await detail.getByTestId('apply-link').getAttribute('href'),
      '/applications/new?api=nta-corporations',
    );
  });

  await t.test('try-it calls the requester node from the browser and shows the standard data', async () => {
    const number = demo.corporate_numbers[0];
    const nodeUrl = detail.getByTestId('try-node-url');
    // Prefilled with the endpoint of the organisation's registered system.
    await detail.waitForFunction(
      () => document.querySelector('[data-testid="try-node-url"]')?.value !== '',
      null,
      { timeout: 10_000 },
    );
    assert.equal(await nodeUrl.inputValue(), demo.requester_node_url);
    await detail.getByTestId('try-user').fill(demo.requester_basic_user);
    await detail.getByTestId('try-password').fill(demo.requester_basic_password);
    await detail.getByTestId('try-param-number').fill(number);
    const portalCalls = [];
    detail.on('request', (r) => {
      if (r.url().startsWith(demo.portal_url) && r.headers().authorization) portalCalls.push(r.url());
    });
    await detail.getByTestId('try-send').click();
    await detail.getByTestId('try-answer').waitFor({ timeout: 15_000 });
    assert.equal(await detail.getByTestId('try-status').textContent(), '200');
    const body = JSON.parse(await detail.getByTestId('try-body').textContent());
    assert.equal(body.data.Basic.Destination['Corporate number'], number);
    assert.equal(body.meta.provider, demo.provider_client_id);
    // The Basic credentials went to the node only.
    assert.deepEqual(portalCalls, []);
    await detail.screenshot({ path: join(resultsDir, 'api-detail-try-it.png'), fullPage: true });

    // A wrong password: the node's 401 is shown, not hidden.
    await detail.getByTestId('try-password').fill('wrong-password');
    await detail.getByTestId('try-send').click();
    await detail.waitForFunction(
      () => document.querySelector('[data-testid="try-status"]')?.textContent === '401',
      null,
      { timeout: 15_000 },
    );
  });

  await context.close();
  // The 401 above is reported by Chromium as a failed resource load: expected.
  assert.deepEqual(
    errors.filter((e) => !/status of 401/.test(e)),
    [],
  );
});

test('the catalogue and a detail page fit 375 px, in Japanese and English', async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 812 }, locale: 'ja-JP' });
  const page = watch(await context.newPage());
  for (const path of [
    `/catalogue?category=${encodeURIComponent(NTA_CATEGORY)}`,
    '/apis/nta-corporations',
    '/catalogue?lang=en',
  ]) {
    const response = await page.goto(url(path));
    assert.equal(response.status(), 200, path);
    await hydrated(page);
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.scrollingElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    assert.ok(scrollWidth <= innerWidth, `${path}: scrollWidth ${scrollWidth} > ${innerWidth}`);
  }
  assert.equal(await page.locator('h1').first().textContent(), 'API catalogue');
  // A tap on "…" opens the list on a touch screen too.
  const more = page.getByTestId('tag-more').first();
  await more.click();
  await page.getByTestId('tag-popover').first().waitFor({ state: 'visible', timeout: 5_000 });
  await page.screenshot({ path: join(resultsDir, 'catalogue-phone-en.png'), fullPage: true });
  await context.close();
});

test('without JavaScript the search is a plain GET form', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false, locale: 'ja-JP' });
  const page = await context.newPage();
  await page.goto(url('/catalogue'));
  await page.locator(`[data-testid="category-option"][data-category="${NTA_CATEGORY}"]`).check();
  await page.locator(`[data-testid="category-option"][data-category="${SAMPLE_CATEGORY}"]`).check();
  await Promise.all([page.waitForURL(/category=/), page.getByTestId('catalogue-submit').click()]);
  const u = new URL(page.url());
  assert.deepEqual(u.searchParams.getAll('category').sort(), [NTA_CATEGORY, SAMPLE_CATEGORY].sort());
  assert.deepEqual((await tileSlugs(page)).sort(), ['nta-corporations', 'sample-certificates']);
  await context.close();
});

test('an unknown API answers 404', async () => {
  const response = await fetch(url('/apis/no-such-api'));
  assert.equal(response.status, 404);
});
