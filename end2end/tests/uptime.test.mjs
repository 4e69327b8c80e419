// The uptime page in Debian's Chromium (playwright-core): a visitor is asked to log in; the
// operator sees both demo nodes up with their availability, opens the provider node's history
// (chart and outage list), switches the range, and the page fits a phone.
// Run by scripts/e2e.sh (the demo probes its nodes at start and then every minute).

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

let demo;
let browser;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      demo = JSON.parse(await readFile(demoPath, 'utf8'));
      if ((await fetch(new URL('/style.css', demo.portal_url))).ok) break;
    } catch {
      // not yet
    }
    assert.ok(Date.now() < deadline, `demo not ready (${demoPath})`);
    await sleep(500);
  }
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
});

const url = (path) => new URL(path, demo.portal_url).href;

async function open(page, path) {
  await page.goto(url(path));
  await page.waitForSelector('[data-hydrated="true"]', { timeout: 15_000 });
}

test('uptime: login first, then every node with its state, history and outages', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ja-JP' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));

  await open(page, '/uptime');
  await page.getByTestId('need-login').waitFor({ timeout: 10_000 });

  const operator = demo.portal_logins.find((l) => l.role === 'operator');
  await open(page, '/login');
  await page.getByTestId('input-email').fill(operator.email);
  await page.getByTestId('input-password').fill(operator.password);
  await page.getByTestId('submit').click();
  await page.waitForURL(/\/account$/, { timeout: 10_000 });
  await page.waitForSelector('[data-hydrated="true"]', { timeout: 15_000 });

  // The demo probes at start: both nodes are up with 100 % over the last day.
  await open(page, '/uptime');
  const row = (id) => page.locator(`[data-testid="uptime-row"][data-system="${id}"]`);
  for (const id of [demo.provider_client_id, demo.requester_client_id]) {
    await row(id).waitFor({ timeout: 10_000 });
    assert.equal(await row(id).getAttribute('data-health'), 'up', id);
    assert.equal((await row(id).getByTestId('availability-24h').innerText()).trim(), '100.0 %');
  }

  // The provider node's history: a chart and no outages; the range switch keeps the system.
  await row(demo.provider_client_id).locator('a').first().click();
  const history = page.getByTestId('uptime-history');
  await history.waitFor({ timeout: 10_000 });
  assert.equal(await history.getAttribute('data-system'), demo.provider_client_id);
  assert.ok((await history.locator('svg rect').count()) >= 1, 'at least one bar');
  assert.equal(await history.getByTestId('outage').count(), 0);
  await history.getByRole('link', { name: '7 日' }).click();
  await page.waitForURL(/days=7/);
  await page.getByTestId('uptime-history').waitFor({ timeout: 10_000 });
  await page.screenshot({ path: join(resultsDir, 'uptime.png'), fullPage: true });

  // A phone: nothing wider than the screen.
  await page.setViewportSize({ width: 375, height: 800 });
  await open(page, `/uptime?system=${demo.provider_client_id}`);
  await page.getByTestId('uptime-history').waitFor({ timeout: 10_000 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
  assert.deepEqual(errors, []);
  await context.close();
});
