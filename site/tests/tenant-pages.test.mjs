// The dev tenant's own pages in headless Chromium, as a person meets them: login (and its
// show-password toggle, with and without JavaScript), consent, an error for an unknown and for
// a known application, the 404 at / and at an unknown path, and the logged-out page, each at a
// laptop's width (1280 px) and a phone's (360 px), written to E2E_ARTIFACTS as t*.png.
//
// These pages are reached here without the SPA (the /authorize URL is built from the site's
// config.json), so they are checked whatever state the app's own code is in.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { PASSWORD, freshBrowser, screenshot, startStack, visibleText } from './harness.mjs';

const WIDE = { width: 1280, height: 800 };
const NARROW = { width: 360, height: 740 };
const FOOT = ['DEVELOPMENT TENANT', 'A local stand-in for Auth0. Use test accounts only.'];

let stack;
let config;

before(async () => {
  stack = await startStack({ users: ['tina', 'tom', 'ted'], sessionCheckSeconds: 900, name: 'tenant-pages' });
  config = await (await fetch(`${stack.site}/config.json`)).json();
});

after(async () => {
  await stack?.stop();
});

/** The SPA's sign-in request, as its SDK would send it (implicit flow). */
function authorizeUrl(extra = {}) {
  const params = new URLSearchParams({
    client_id: config.clientID,
    redirect_uri: `${stack.site}/callback.html`,
    response_type: 'token id_token',
    scope: 'openid profile email read:contacts write:contacts read:calendar write:calendar',
    audience: config.audience,
    state: 'tenant-pages-state',
    nonce: 'tenant-pages-nonce',
    ...extra,
  });
  return `${stack.tenant}/authorize?${params}`;
}

/** Content-Security-Policy violations and script errors on a page: there must be none. */
function watchProblems(page) {
  const problems = [];
  page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

/**
 * Screenshots of the page at both widths (`<name>-1280`, `<name>-360`), each checked for stray
 * text, for a page wider than the screen, and for the stylesheet having applied (a page whose
 * style the CSP refused would be white and unstyled).
 */
async function shoot(page, name, widths = [WIDE, NARROW]) {
  for (const size of widths) {
    await page.setViewportSize(size);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${name}: ${overflow}px wider than a ${size.width}px screen`);
    const card = await page.locator('main.card').evaluate((n) => getComputedStyle(n).backgroundColor);
    assert.equal(card, 'rgb(255, 255, 255)', `${name}: the card is styled`);
    const body = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(body, size.width > 480 ? 'rgb(236, 238, 242)' : 'rgb(255, 255, 255)', `${name}: the page is styled`);
    await screenshot(page, `${name}-${size.width}`);
  }
  await page.setViewportSize(WIDE);
}

/** Opens the SPA's sign-in in `page` and waits for the tenant's login page. */
async function openLogin(page) {
  await page.goto(authorizeUrl());
  await page.waitForURL((url) => url.href.startsWith(`${stack.tenant}/login`));
}

test('the login page: the application named, labels above page-font inputs, one filled action, show password', async () => {
  const browser = await freshBrowser();
  try {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    await openLogin(page);
    assert.equal(await page.title(), 'Log in · Organizer SPA');
    assert.deepEqual(await visibleText(page), [
      'Organizer SPA', 'Log in', 'to continue to Organizer SPA', 'Email address', 'Password', 'Show', 'Continue', ...FOOT,
    ]);
    // Inputs are in the page's font and size, not the browser's smaller default.
    const fonts = await page.evaluate(() => [document.body, document.getElementById('email'), document.getElementById('password')]
      .map((n) => { const s = getComputedStyle(n); return `${s.fontFamily} ${s.fontSize}`; }));
    assert.equal(new Set(fonts).size, 1, `one font: ${fonts.join(' | ')}`);
    // The primary action is filled and spans the form; the toggle is a quiet text button.
    const continueBox = await page.getByRole('button', { name: 'Continue' }).boundingBox();
    const emailBox = await page.getByLabel('Email').boundingBox();
    assert.equal(Math.round(continueBox.width), Math.round(emailBox.width), 'Continue is as wide as the fields');
    assert.equal(await page.getByRole('button', { name: 'Continue' }).evaluate((n) => getComputedStyle(n).backgroundColor), 'rgb(99, 93, 255)');
    await shoot(page, 't01-login');

    // Show password: the field shows its text and says how to hide it, and back.
    await page.getByLabel('Password').fill('not-my-password');
    const toggle = page.getByRole('button', { name: 'Show' });
    await toggle.click();
    assert.equal(await page.locator('#password').getAttribute('type'), 'text');
    assert.equal(await page.getByRole('button', { name: 'Hide' }).getAttribute('aria-pressed'), 'true');
    await shoot(page, 't01b-login-password-shown', [NARROW]);
    await page.getByRole('button', { name: 'Hide' }).click();
    assert.equal(await page.locator('#password').getAttribute('type'), 'password');

    // A wrong password: the same page, the email kept, the error in words, the password next.
    await page.getByLabel('Email').fill('tina@e2e.test');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('[data-error="invalid_user_password"]').waitFor();
    assert.equal(await page.getByRole('alert').textContent(), 'Wrong email or password.');
    assert.equal(await page.getByLabel('Email').inputValue(), 'tina@e2e.test');
    assert.equal(await page.locator('#password').getAttribute('type'), 'password', 'posted as a password field');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
    await shoot(page, 't02-login-wrong-password');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('without JavaScript the login page has no show-password button and still logs in', async () => {
  const profile = mkdtempSync(join(tmpdir(), 'organizer-chromium-nojs-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    javaScriptEnabled: false,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
    viewport: NARROW,
  });
  try {
    const page = await browser.newPage();
    await openLogin(page);
    assert.equal(await page.getByRole('button', { name: 'Show' }).count(), 0);
    assert.deepEqual(await visibleText(page), [
      'Organizer SPA', 'Log in', 'to continue to Organizer SPA', 'Email address', 'Password', 'Continue', ...FOOT,
    ]);
    await shoot(page, 't03-login-without-javascript', [NARROW]);
    await page.getByLabel('Email').fill('tom@e2e.test');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((url) => url.href.startsWith(`${stack.tenant}/consent`));
    await page.getByRole('button', { name: 'Accept' }).waitFor();
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

test('the consent page lists what the application may do in words, with Accept filled and Decline quiet', async () => {
  const browser = await freshBrowser();
  try {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    await openLogin(page);
    await page.getByLabel('Email').fill('ted@e2e.test');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((url) => url.href.startsWith(`${stack.tenant}/consent`));
    assert.equal(await page.title(), 'Authorize · Organizer SPA');
    const permissions = page.locator('ul.permissions li');
    const words = await permissions.allTextContents();
    const scopes = await permissions.evaluateAll((items) => items.map((li) => li.dataset.scope));
    assert.deepEqual(scopes, ['profile', 'email', 'read:contacts', 'write:contacts', 'read:calendar', 'write:calendar']);
    assert.deepEqual(words, [
      'See your name', 'See your email address', 'Read your contacts', 'Add, change and delete your contacts',
      'Read your calendar', 'Add, change and delete your calendar events',
    ]);
    const text = (await visibleText(page)).join('\n');
    assert.doesNotMatch(text, /\w:\w|offline_access/, 'no raw scope is shown');
    assert.match(text, /Hi Ted, Organizer SPA is asking for access to your account\. It will be able to:/);
    const accept = page.getByRole('button', { name: 'Accept' });
    const decline = page.getByRole('button', { name: 'Decline' });
    assert.equal(await accept.evaluate((n) => getComputedStyle(n).backgroundColor), 'rgb(99, 93, 255)');
    assert.equal(await decline.evaluate((n) => getComputedStyle(n).backgroundColor), 'rgb(255, 255, 255)');
    await shoot(page, 't04-consent');
    await accept.click();
    await page.waitForURL((url) => url.href.startsWith(stack.site));
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('an error page says what went wrong in words, and leads back only to a known application', async () => {
  const browser = await freshBrowser();
  try {
    const page = await browser.newPage();
    const problems = watchProblems(page);

    // An unknown client: words, the codes only under "Technical details", and no link at all.
    const unknown = await page.goto(authorizeUrl({ client_id: 'not-a-client' }));
    assert.equal(unknown.status(), 400);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'This application is not registered');
    assert.equal(await page.locator('a[href]').count(), 0, 'no way back to an unregistered address');
    assert.ok(!(await visibleText(page)).some((line) => line.includes('invalid_request')), 'the code is not in the words');
    await page.locator('summary', { hasText: 'Technical details' }).click();
    assert.match(await page.locator('details').textContent(), /invalid_request\s+Unknown client/);
    await page.locator('summary', { hasText: 'Technical details' }).click();
    await shoot(page, 't05-error-unknown-client');

    // A callback the application never registered: its address is in the details, as text
    // that wraps on a phone, and never as a link.
    const unregistered = 'http://localhost:9/not-a-registered-callback/of/this/application.html';
    await page.goto(authorizeUrl({ redirect_uri: unregistered }));
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'This application cannot log you in from here');
    // The client is known: the one link is the way back to its registered address, never
    // the unregistered one the request named.
    const links = await page.locator('a[href]').evaluateAll((as) => as.map((a) => a.href));
    assert.deepEqual(links.map((h) => new URL(h).origin), [stack.site], links.join(' '));
    await page.locator('summary', { hasText: 'Technical details' }).click();
    assert.match(await page.locator('details').textContent(), /Callback URL mismatch/);
    await shoot(page, 't05b-error-callback-mismatch-details', [NARROW]);

    // A known application: a login page opened in another browser (its state copied) is
    // refused, and the page leads back to the application's registered address.
    await openLogin(page);
    const other = await freshBrowser();
    try {
      const elsewhere = await other.newPage();
      const answer = await elsewhere.goto(page.url());
      assert.equal(answer.status(), 403);
      assert.equal(await elsewhere.getByRole('heading', { level: 1 }).textContent(), 'This login started in another browser');
      const back = elsewhere.getByRole('link', { name: 'Back to Organizer SPA' });
      assert.equal(await back.getAttribute('href'), stack.site);
      await shoot(elsewhere, 't06-error-known-application');
      await back.click();
      await elsewhere.waitForURL((url) => url.origin === stack.site);
    } finally {
      await other.close();
    }
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('the tenant answers / and unknown paths with a 404 page that leads to the applications', async () => {
  const browser = await freshBrowser();
  try {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    for (const [path, name] of [['/', 't07-not-found-root'], ['/no/such/page', 't08-not-found-path']]) {
      const answer = await page.goto(`${stack.tenant}${path}`);
      assert.equal(answer.status(), 404, path);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Page not found');
      const links = page.getByRole('navigation', { name: 'Applications' }).getByRole('link');
      assert.deepEqual(await links.allTextContents(), ['Open Organizer SPA', 'Open Organizer SPA (second app)']);
      assert.deepEqual(await links.evaluateAll((as) => as.map((a) => a.getAttribute('href'))), [stack.site, stack.secondSite]);
      await shoot(page, name, path === '/' ? [WIDE, NARROW] : [WIDE]);
    }
    await page.getByRole('link', { name: 'Open Organizer SPA (second app)' }).click();
    await page.waitForURL((url) => url.origin === stack.secondSite);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('the logged-out page of /v2/logout without returnTo leads back to the application it names', async () => {
  const browser = await freshBrowser();
  try {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    await page.goto(`${stack.tenant}/v2/logout?client_id=${encodeURIComponent(config.clientID)}`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'You have logged out');
    assert.equal(await page.getByRole('link', { name: 'Back to Organizer SPA' }).getAttribute('href'), stack.site);
    await shoot(page, 't09-logged-out', [WIDE]);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
