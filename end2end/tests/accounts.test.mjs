// Account journeys through a running demo in Debian's Chromium (playwright-core):
//   1. an organisation applies (field errors shown on the form first), the operator approves it
//      and reads the mail in the outbox, the applicant logs in;
//   2. the applicant changes their email: the old address logs in until the mailed link is
//      opened, then only the new one does;
//   3. every page at phone width (375 px): no horizontal scrolling, banner shown;
//   4. the language switch (日本語 / English) keeps the page and is remembered;
//   5. the operator suspends an account on the accounts page: its open session ends and its
//      login is refused with the message, until it is reactivated.
// Run by scripts/e2e.sh (which starts the demo with RENKEI_ENVIRONMENT=外部接続環境).

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
const expectedBanner = process.env.RENKEI_ENVIRONMENT ?? '';

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

/** The check digit the National Tax Agency puts before the 12 base digits. */
function corporateNumber(base12) {
  let sum = 0;
  for (let i = 0; i < 12; i++) {
    const digit = Number(base12[11 - i]); // i = 0 is the rightmost digit (n = 1, odd)
    sum += digit * (i % 2 === 0 ? 1 : 2);
  }
  return `${9 - (sum % 9)}${base12}`;
}

const url = (path) => new URL(path, demo.portal_url).href;

/** A browser context of its own (its own cookies: one person). */
async function person(viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, locale: 'ja-JP' });
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // Refused API calls (a wrong password, a pending account) are expected in these journeys.
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) return;
    errors.push(`console: ${msg.text()} (${msg.location()?.url ?? ''})`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  return { context, page };
}

async function open(page, path) {
  const response = await page.goto(url(path));
  await page.waitForSelector('[data-hydrated="true"]', { timeout: 15_000 });
  return response;
}

/** Waits until no Suspense fallback ("読み込み中…") is left on the page. */
async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('.loading'), null, { timeout: 10_000 });
}

async function login(page, email, password) {
  await open(page, '/login');
  await page.getByTestId('input-email').fill(email);
  await page.getByTestId('input-password').fill(password);
  await page.getByTestId('submit').click();
}

async function loginOk(page, email, password) {
  await login(page, email, password);
  await page.waitForURL(/\/account$/, { timeout: 10_000 });
  await page.waitForSelector('[data-hydrated="true"]');
  await page.getByTestId('user-email').waitFor({ timeout: 10_000 });
  assert.equal(await page.getByTestId('user-email').innerText(), email);
}

async function loginRefused(page, email, password, code) {
  await login(page, email, password);
  const error = page.getByTestId('form-error');
  await error.waitFor({ timeout: 10_000 });
  assert.equal(await error.getAttribute('data-code'), code);
  return error.innerText();
}

async function logout(page) {
  await page.getByTestId('logout').click();
  await page.waitForURL(url('/'), { timeout: 10_000 });
  await page.waitForSelector('[data-hydrated="true"]');
  await page.getByTestId('login-link').waitFor({ timeout: 10_000 });
}

/** The newest outbox mail to `to` whose subject matches, read on the operator's outbox page. */
async function mailTo(page, to, subject) {
  await open(page, '/operator/outbox');
  await settled(page);
  const mails = page.locator(`[data-testid="mail"][data-to="${to}"]`);
  const count = await mails.count();
  for (let i = 0; i < count; i++) {
    const text = await mails.nth(i).innerText();
    if (subject.test(text)) return text;
  }
  assert.fail(`no mail to ${to} matching ${subject} among ${count}`);
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
});

const stamp = Date.now().toString();
const applicant = {
  organisation: `テスト株式会社 ${stamp}`,
  number: corporateNumber(stamp.slice(-12).padStart(12, '0')),
  contact: '山田 花子',
  email: `applicant-${stamp}@example.jp`,
  newEmail: `applicant-${stamp}-new@example.jp`,
  password: 'Kuroneko-Yamato-2026',
};

function operatorLogin() {
  const op = demo.portal_logins.find((l) => l.role === 'operator');
  assert.ok(op, 'demo.json lists an operator login');
  return op;
}

test('sign-up, operator approval through the outbox, then the applicant logs in', async (t) => {
  const { context: applicantCtx, page } = await person();
  const { context: operatorCtx, page: op } = await person();
  const operator = operatorLogin();

  await t.test('the form shows each refused field next to it, then says pending review', async () => {
    await open(page, '/signup');
    if (expectedBanner) {
      assert.equal((await page.getByTestId('env-banner').innerText()).includes(expectedBanner), true);
    }
    await page.getByTestId('input-organisation_name').fill(applicant.organisation);
    await page.getByTestId('input-corporate_number').fill('1234567890123');
    await page.getByTestId('input-contact_name').fill(applicant.contact);
    await page.getByTestId('input-email').fill(applicant.email);
    await page.getByTestId('input-password').fill(applicant.password);
    await page.getByTestId('submit').click();
    const numberError = page.getByTestId('error-corporate_number');
    await numberError.waitFor({ timeout: 10_000 });
    assert.match(await numberError.innerText(), /法人番号が正しくありません/);
    assert.equal(await page.getByTestId('input-corporate_number').getAttribute('aria-invalid'), 'true');

    await page.getByTestId('input-corporate_number').fill(applicant.number);
    await page.getByTestId('input-password').fill('short');
    await page.getByTestId('submit').click();
    await page.getByTestId('error-password').waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('error-corporate_number').count(), 0);

    await page.getByTestId('input-password').fill(applicant.password);
    await page.getByTestId('submit').click();
    const done = page.getByTestId('signup-done');
    await done.waitFor({ timeout: 10_000 });
    assert.match(await done.innerText(), /審査待ち/);
    await page.screenshot({ path: join(resultsDir, 'signup-done.png'), fullPage: true });
  });

  await t.test('the pending applicant cannot log in yet', async () => {
    const text = await loginRefused(page, applicant.email, applicant.password, 'account_pending');
    assert.match(text, /審査中/);
  });

  await t.test('the operator approves the application', async () => {
    await loginOk(op, operator.email, operator.password);
    await open(op, '/operator/organisations');
    await settled(op);
    const card = op.locator(`[data-testid="pending-organisation"][data-corporate-number="${applicant.number}"]`);
    await card.waitFor({ timeout: 10_000 });
    assert.match(await card.innerText(), new RegExp(applicant.organisation));
    await card.getByTestId('input-comment').fill('ようこそ');
    await card.getByTestId('approve').click();
    await card.waitFor({ state: 'detached', timeout: 10_000 });
    const row = op.locator('[data-testid="organisation-row"][data-status="approved"]', { hasText: applicant.number });
    await row.waitFor({ timeout: 10_000 });
    await op.screenshot({ path: join(resultsDir, 'review.png'), fullPage: true });
  });

  await t.test('the approval mail is in the outbox, and the audit log names the operator', async () => {
    const mail = await mailTo(op, applicant.email, /利用申請が承認されました/);
    assert.match(mail, /ようこそ/);
    if (expectedBanner) assert.match(mail, new RegExp(`\\[${expectedBanner}\\]`));
    await op.screenshot({ path: join(resultsDir, 'outbox.png'), fullPage: true });
    await open(op, '/operator/audit');
    await settled(op);
    const approve = op.locator('[data-testid="audit-row"][data-action="organisation.approve"]').first();
    const text = await approve.innerText();
    assert.match(text, new RegExp(operator.email.replace(/\./g, '\\.')));
    assert.match(text, /\d{4}-\d\d-\d\d \d\d:\d\d JST/);
  });

  await t.test('the applicant logs in and sees their organisation', async () => {
    await loginOk(page, applicant.email, applicant.password);
    await settled(page);
    assert.equal(await page.getByTestId('account-email').innerText(), applicant.email);
    assert.match(await page.getByTestId('account-facts').innerText(), new RegExp(applicant.number));
    // Not the operator: the operator's pages refuse.
    await open(page, '/operator/accounts');
    await settled(page);
    await page.getByTestId('denied').waitFor({ timeout: 10_000 });
  });

  await applicantCtx.close();
  await operatorCtx.close();
});

test('email change: the old address logs in until the mailed link is opened', async (t) => {
  const { context: applicantCtx, page } = await person();
  const { context: operatorCtx, page: op } = await person();
  const operator = operatorLogin();
  let link;

  await t.test('the applicant asks for the change', async () => {
    await loginOk(page, applicant.email, applicant.password);
    await page.getByTestId('input-new_email').fill(applicant.newEmail);
    await page.getByTestId('input-password').fill('Wrong-password-123');
    await page.getByTestId('submit').click();
    await page.getByTestId('error-password').waitFor({ timeout: 10_000 });
    await page.getByTestId('input-password').fill(applicant.password);
    await page.getByTestId('submit').click();
    await page.getByTestId('done').waitFor({ timeout: 10_000 });
    await logout(page);
  });

  await t.test('both mails are in the outbox; the old address still logs in', async () => {
    await loginOk(op, operator.email, operator.password);
    const confirm = await mailTo(op, applicant.newEmail, /メールアドレス変更の確認/);
    const match = confirm.match(/\/email-change\?token=([A-Za-z0-9_-]+)/);
    assert.ok(match, `confirmation mail has a link: ${confirm}`);
    link = `/email-change?token=${match[1]}`;
    await mailTo(op, applicant.email, /メールアドレス変更の申請がありました/);

    await loginOk(page, applicant.email, applicant.password);
    await logout(page);
    await loginRefused(page, applicant.newEmail, applicant.password, 'invalid_credentials');
  });

  await t.test('opening the link switches the login to the new address, once', async () => {
    await open(page, link);
    await page.getByTestId('submit').click();
    await page.getByTestId('done').waitFor({ timeout: 10_000 });

    await open(page, link);
    await page.getByTestId('submit').click();
    const used = page.getByTestId('form-error');
    await used.waitFor({ timeout: 10_000 });
    assert.equal(await used.getAttribute('data-code'), 'token_used');

    await loginRefused(page, applicant.email, applicant.password, 'invalid_credentials');
    await loginOk(page, applicant.newEmail, applicant.password);
    const changed = await mailTo(op, applicant.email, /メールアドレスが変更されました/);
    assert.match(changed, new RegExp(applicant.newEmail.replace(/\./g, '\\.')));
  });

  await applicantCtx.close();
  await operatorCtx.close();
});

test('password reset and invitation links set a password once', async (t) => {
  const { context: applicantCtx, page } = await person();
  const { context: operatorCtx, page: op } = await person();
  const { context: memberCtx, page: member } = await person();
  const operator = operatorLogin();
  const newPassword = 'Shirokuma-Nikki-2027';
  const memberEmail = `member-${stamp}@example.jp`;
  await loginOk(op, operator.email, operator.password);

  await t.test('a reset link from the outbox sets a new password, and only once', async () => {
    await open(page, '/password-reset');
    await page.getByTestId('input-email').fill(applicant.newEmail);
    await page.getByTestId('submit').click();
    await page.getByTestId('done').waitFor({ timeout: 10_000 });
    const mail = await mailTo(op, applicant.newEmail, /パスワード再設定のご案内/);
    const match = mail.match(/\/password-reset\?token=([A-Za-z0-9_-]+)/);
    assert.ok(match, `reset mail has a link: ${mail}`);
    const link = `/password-reset?token=${match[1]}`;

    await open(page, link);
    await page.getByTestId('input-password').fill('weak');
    await page.getByTestId('submit').click();
    await page.getByTestId('error-password').waitFor({ timeout: 10_000 });
    await page.getByTestId('input-password').fill(newPassword);
    await page.getByTestId('submit').click();
    await page.getByTestId('done').waitFor({ timeout: 10_000 });

    await open(page, link);
    await page.getByTestId('input-password').fill('Another-Password-99');
    await page.getByTestId('submit').click();
    const used = page.getByTestId('form-error');
    await used.waitFor({ timeout: 10_000 });
    assert.equal(await used.getAttribute('data-code'), 'token_used');

    await loginRefused(page, applicant.newEmail, applicant.password, 'invalid_credentials');
    await loginOk(page, applicant.newEmail, newPassword);
    applicant.password = newPassword;
  });

  await t.test('the admin invites a member, who sets a password from the mailed link', async () => {
    await open(page, '/org/members');
    await settled(page);
    await page.getByTestId('input-email').fill(memberEmail);
    await page.getByTestId('input-display_name').fill('佐藤 太郎');
    await page.getByTestId('submit').click();
    await page.getByTestId('done').waitFor({ timeout: 10_000 });
    await open(page, '/org/members');
    await settled(page);
    await page.locator(`[data-testid="account-row"][data-email="${memberEmail}"]`).waitFor({ timeout: 10_000 });

    const mail = await mailTo(op, memberEmail, /への招待/);
    const match = mail.match(/\/invitation\?token=([A-Za-z0-9_-]+)/);
    assert.ok(match, `invitation mail has a link: ${mail}`);
    await open(member, `/invitation?token=${match[1]}`);
    await member.getByTestId('input-password').fill('Member-Password-2026');
    await member.getByTestId('submit').click();
    await member.getByTestId('done').waitFor({ timeout: 10_000 });
    await loginOk(member, memberEmail, 'Member-Password-2026');
    await open(member, '/org/members');
    await settled(member);
    const rows = await member.locator('[data-testid="account-row"]').evaluateAll((els) => els.map((e) => e.dataset.email));
    assert.deepEqual(rows.sort(), [applicant.newEmail, memberEmail].sort());
  });

  await applicantCtx.close();
  await operatorCtx.close();
  await memberCtx.close();
});

const PUBLIC_PAGES = [
  '/',
  '/catalogue',
  '/logs',
  '/docs/guide',
  '/docs/faq',
  '/signup',
  '/login',
  '/password-reset',
  '/password-reset?token=not-a-real-token',
  '/email-change?token=not-a-real-token',
  '/invitation?token=not-a-real-token',
];
const OPERATOR_PAGES = [
  '/account',
  '/operator/organisations',
  '/operator/accounts',
  '/operator/audit',
  '/operator/outbox',
  '/operator/notices',
];
const ADMIN_PAGES = ['/org/members', '/account'];

async function fitsPhone(page, path) {
  const response = await open(page, path);
  assert.equal(response.status(), 200, `${path} answered ${response.status()}`);
  await settled(page);
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.scrollingElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `${path}: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
  if (expectedBanner) {
    assert.match(await page.getByTestId('env-banner').innerText(), new RegExp(expectedBanner));
  }
  const name = path.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'home';
  await page.screenshot({ path: join(resultsDir, `phone-${name}.png`), fullPage: true });
}

test('every page reflows at 375 px without horizontal scrolling', async (t) => {
  const phone = { width: 375, height: 812 };
  const operator = operatorLogin();
  const admin = demo.portal_logins.find((l) => l.role === 'org_admin');

  // A notice, so the home page shows one.
  const { context: opCtx, page: op } = await person(phone);
  await loginOk(op, operator.email, operator.password);
  await open(op, '/operator/notices');
  await settled(op);
  await op.getByTestId('input-title').fill('システムメンテナンスのお知らせ（長い件名が折り返されることの確認）');
  await op.getByTestId('input-body').fill('12月10日 22:00〜24:00 JST は接続できません。https://example.jp/a/very/long/link/that/must/wrap/on/a/phone/screen');
  await op.getByTestId('submit').click();
  await op.getByTestId('done').waitFor({ timeout: 10_000 });

  await t.test('pages for everyone', async () => {
    const { context, page } = await person(phone);
    for (const path of PUBLIC_PAGES) await fitsPhone(page, path);
    const notice = page.getByTestId('notice').first();
    await open(page, '/');
    await settled(page);
    assert.match(await notice.innerText(), /システムメンテナンス/);
    assert.match(await notice.innerText(), /\d{4}-\d\d-\d\d \d\d:\d\d JST/);
    await context.close();
  });

  await t.test("the operator's pages", async () => {
    for (const path of OPERATOR_PAGES) await fitsPhone(op, path);
  });

  await t.test("an organisation admin's pages", async () => {
    assert.ok(admin, 'demo.json lists an organisation admin');
    const { context, page } = await person(phone);
    await loginOk(page, admin.email, admin.password);
    for (const path of ADMIN_PAGES) await fitsPhone(page, path);
    await context.close();
  });

  await opCtx.close();
});

test('repeated wrong passwords end in the throttling message on the form', async () => {
  const { context, page } = await person();
  const email = `guess-${stamp}@example.jp`;
  const codes = [];
  for (let i = 0; i < 8 && !codes.includes('throttled'); i++) {
    await login(page, email, `Wrong-password-${i}`);
    const error = page.getByTestId('form-error');
    await error.waitFor({ timeout: 10_000 });
    codes.push(await error.getAttribute('data-code'));
  }
  assert.equal(codes.at(-1), 'throttled', `codes: ${codes}`);
  assert.ok(codes.slice(0, -1).every((c) => c === 'invalid_credentials'), `codes: ${codes}`);
  assert.match(await page.getByTestId('form-error').innerText(), /ログインの失敗が多すぎます。\d+ 分後に再度お試しください/);
  await context.close();
});

/** `fetch` from the page, with its session cookie and CSRF token: set-up steps a journey does not test. */
async function api(page, method, path, body) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const session = await (await fetch('/api/v1/session')).json();
      const response = await fetch(path, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json().catch(() => null) };
    },
    { method, path, body },
  );
}

test('an operator suspends an account in the browser: its session ends and its login is refused', async (t) => {
  const operator = operatorLogin();
  const { context: opCtx, page: op } = await person();
  const { context: userCtx, page } = await person();
  const who = {
    email: `suspended-${stamp}@example.jp`,
    number: corporateNumber(String(Number(stamp.slice(-12)) + 7).slice(-12).padStart(12, '0')),
    password: 'Teishi-Sareru-2026',
  };
  // Set-up through the API: an approved organisation whose admin is logged in.
  await open(page, '/');
  const signup = await api(page, 'POST', '/api/v1/signup', {
    organisation_name: `停止テスト株式会社 ${stamp}`,
    corporate_number: who.number,
    contact_name: '停止 太郎',
    email: who.email,
    password: who.password,
  });
  assert.equal(signup.status, 201, JSON.stringify(signup.body));
  await loginOk(op, operator.email, operator.password);
  const approval = await api(op, 'POST', `/api/v1/operator/organisations/${signup.body.organisation.id}/approve`, {});
  assert.equal(approval.status, 200, JSON.stringify(approval.body));
  await loginOk(page, who.email, who.password);

  const row = () => op.locator(`[data-testid="account-row"][data-email="${who.email}"]`);

  await t.test('the operator presses 利用停止 on the account’s row', async () => {
    await open(op, '/operator/accounts');
    await settled(op);
    await row().waitFor({ timeout: 10_000 });
    assert.equal(await row().getAttribute('data-status'), 'active');
    assert.match(await row().getByTestId('account-status').innerText(), /利用中/);
    // No buttons on one's own row.
    const own = op.locator(`[data-testid="account-row"][data-email="${operator.email}"]`);
    assert.equal(await own.getByTestId('suspend').count(), 0);
    await row().getByTestId('suspend').click();
    await op
      .locator(`[data-testid="account-row"][data-email="${who.email}"][data-status="suspended"]`)
      .waitFor({ timeout: 10_000 });
    await settled(op);
    assert.match(await row().getByTestId('account-status').innerText(), /利用停止中（運営事務局）.*JST/);
    assert.equal(await row().getByTestId('reactivate').count(), 1);
    await op.screenshot({ path: join(resultsDir, 'account-suspended.png'), fullPage: true });
  });

  await t.test('the open session is over and the login is refused with the reason', async () => {
    await open(page, '/account');
    await settled(page);
    await page.getByTestId('need-login').waitFor({ timeout: 10_000 });
    const text = await loginRefused(page, who.email, who.password, 'account_suspended');
    assert.equal(text, 'このアカウントは利用停止中です。運営事務局または組織の管理者にお問い合わせください');
    await page.screenshot({ path: join(resultsDir, 'login-suspended.png'), fullPage: true });
  });

  await t.test('the audit log names the operator; reactivated, the account logs in again', async () => {
    await open(op, '/operator/audit');
    await settled(op);
    const entry = op.locator('[data-testid="audit-row"][data-action="account.suspend"]', { hasText: who.email });
    assert.match(await entry.first().innerText(), new RegExp(operator.email.replace(/\./g, '\\.')));
    await open(op, '/operator/accounts');
    await settled(op);
    await row().getByTestId('reactivate').click();
    await op
      .locator(`[data-testid="account-row"][data-email="${who.email}"][data-status="active"]`)
      .waitFor({ timeout: 10_000 });
    await loginOk(page, who.email, who.password);
  });

  await userCtx.close();
  await opCtx.close();
});

test('the language switch shows the same page in English and remembers it', async () => {
  const { context, page } = await person();
  await open(page, '/login');
  assert.equal(await page.locator('html').getAttribute('lang'), 'ja');
  assert.equal(await page.locator('h1').innerText(), 'ログイン');
  await page.getByTestId('lang-en').click();
  await page.waitForURL(/\/login\?lang=en$/);
  await page.waitForSelector('[data-hydrated="true"]');
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  assert.equal(await page.locator('h1').innerText(), 'Log in');
  // Remembered: the next page is English without the query.
  await open(page, '/signup');
  assert.equal(await page.locator('h1').innerText(), 'Apply for an account');
  // Server errors are shown in English too.
  await login(page, 'nobody@example.jp', 'Wrong-password-123');
  const error = page.getByTestId('form-error');
  await error.waitFor({ timeout: 10_000 });
  assert.equal(await error.innerText(), 'Wrong email or password.');
  await context.close();
  assert.deepEqual(errors, []);
});
