// End-to-end: the SPA in headless Chromium against the local stack (dev tenant, API, two sites).
// Each test has its own user (own consents) and its own fresh browser profile.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PASSWORD, freshBrowser, screenshot, startStack } from './harness.mjs';

// Short only here: the app's default is Auth0's advice, 15 minutes.
const POLL_SECONDS = 2;
let stack;

before(async () => {
  stack = await startStack({ users: ['alice', 'bob', 'carol', 'dave', 'erin'], sessionCheckSeconds: POLL_SECONDS });
});

after(async () => {
  await stack?.stop();
});

/** Counts top-level navigations to the tenant: a silent sign-in makes none. */
function watchTenantNavigations(page) {
  const seen = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame() && frame.url().startsWith(stack.tenant)) seen.push(frame.url());
  });
  return seen;
}

async function signedIn(page, name) {
  await page.locator('body[data-state="signed-in"]').waitFor();
  assert.equal(await page.getByTestId('user-name').textContent(), name);
}

async function signedOut(page) {
  await page.locator('body[data-state="signed-out"]').waitFor();
  await page.getByRole('button', { name: 'Log in' }).first().waitFor();
}

/** Clicks Log in, fills the tenant's login page, and answers its consent page. */
async function logIn(page, user, { consent = 'Accept', expectLogin = true } = {}) {
  await page.getByRole('button', { name: 'Log in' }).first().click();
  await page.waitForURL((url) => url.href.startsWith(stack.tenant));
  if (expectLogin) {
    await page.getByLabel('Email').fill(`${user}@e2e.test`);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
  }
  if (consent) {
    await page.getByRole('button', { name: consent }).click();
  }
}

async function panel(page, id) {
  const node = page.locator(`#panel-${id}`);
  await node.locator(':scope:not([data-state="loading"])').waitFor();
  return { node, state: await node.getAttribute('data-state') };
}

test('log in, consent, both APIs; reload stays signed in silently; logout in another tab ends it', async () => {
  const browser = await freshBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(stack.site);
    await signedOut(page);
    await screenshot(page, '01-signed-out');

    await logIn(page, 'alice');
    await signedIn(page, 'Alice');
    // The token came in the fragment of callback.html; it is gone from the address bar.
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(new URL(page.url()).pathname, '/');
    const scopes = await page.getByTestId('scopes').locator('li').allTextContents();
    assert.deepEqual(scopes.sort(), ['read:calendar', 'read:contacts']);

    const contacts = await panel(page, 'contacts');
    assert.equal(contacts.state, 'ready');
    assert.ok(await contacts.node.locator('li').count() > 0, 'contacts listed');
    const calendar = await panel(page, 'calendar');
    assert.equal(calendar.state, 'ready');
    assert.ok(await calendar.node.locator('li').count() > 0, 'events listed');
    await screenshot(page, '02-signed-in');

    // The calendar lists from today on, a page at a time.
    const shown = await calendar.node.locator('li').count();
    assert.ok(shown >= 1 && shown <= 20, `${shown} events on the first page`);
    const more = calendar.node.getByRole('button', { name: 'Show more' });
    if (shown === 20 && await more.count()) {
      await more.click();
      await calendar.node.locator('li').nth(20).waitFor();
    }

    // Usable on a narrow screen: nothing wider than the viewport.
    await page.setViewportSize({ width: 360, height: 740 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than a 360px screen`);
    await screenshot(page, '02b-signed-in-narrow');
    await page.setViewportSize({ width: 1100, height: 800 });

    // Nothing of the token in web storage or cookies of the site.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    assert.ok(!/eyJ/.test(stored), `no token in storage: ${stored}`);

    // Reload: signed in again without a visible trip to the tenant.
    const navigations = watchTenantNavigations(page);
    await page.reload();
    await signedIn(page, 'Alice');
    assert.equal((await panel(page, 'contacts')).state, 'ready');
    assert.deepEqual(navigations, [], 'a silent sign-in does not navigate to the tenant');

    // Log out in a second tab: the first notices at its next poll.
    const other = await browser.newPage();
    await other.goto(`${stack.tenant}/v2/logout`);
    await signedOut(page);
    await page.locator('[data-notice="signed_out_elsewhere"]').waitFor();
    await screenshot(page, '03-signed-out-elsewhere');

    // And a reload stays signed out: the session is really gone.
    await page.reload();
    await signedOut(page);
  } finally {
    await browser.close();
  }
});

test('declining consent explains what happened', async () => {
  const browser = await freshBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(stack.site);
    await signedOut(page);
    await logIn(page, 'bob', { consent: 'Decline' });
    await signedOut(page);
    const notice = page.locator('[data-notice="access_denied"]');
    await notice.waitFor();
    assert.match(await notice.textContent(), /did not allow Organizer/);
    assert.equal(new URL(page.url()).hash, '', 'the error fragment is cleared too');
    await screenshot(page, '04-consent-declined');
  } finally {
    await browser.close();
  }
});

test('single sign-on and single logout across two applications', async () => {
  const browser = await freshBrowser();
  try {
    const first = await browser.newPage();
    await first.goto(stack.site);
    await logIn(first, 'carol');
    await signedIn(first, 'Carol');

    // The second application: the tenant session exists, but this client has no consent yet.
    const second = await browser.newPage();
    await second.goto(stack.secondSite);
    await signedOut(second);
    await second.locator('[data-notice="consent_required"]').waitFor();
    // Log in there: no password (single sign-on), only the consent page.
    await logIn(second, 'carol', { expectLogin: false });
    await signedIn(second, 'Carol');
    await screenshot(second, '05-second-app-signed-in');
    await second.close();

    // From now on the second application signs in on load without any page of the tenant.
    const again = await browser.newPage();
    const navigations = watchTenantNavigations(again);
    await again.goto(stack.secondSite);
    await signedIn(again, 'Carol');
    assert.equal((await panel(again, 'calendar')).state, 'ready');
    assert.deepEqual(navigations, []);

    // Log out of the first: the second notices at its next poll.
    await first.getByRole('button', { name: 'Log out' }).click();
    await signedOut(first);
    await signedOut(again);
    await again.locator('[data-notice="signed_out_elsewhere"]').waitFor();
    await screenshot(again, '06-second-app-signed-out-elsewhere');

    // Log in on the first again: the second signs in at its next poll (single sign-on).
    await logIn(first, 'carol', { consent: null });
    await signedIn(first, 'Carol');
    await signedIn(again, 'Carol');

    // And logging out of the second ends the first.
    await again.getByRole('button', { name: 'Log out' }).click();
    await signedOut(again);
    await signedOut(first);
    await first.locator('[data-notice="signed_out_elsewhere"]').waitFor();
  } finally {
    await browser.close();
  }
});

test('a token without read:calendar shows contacts and says which permission is missing', async () => {
  const browser = await freshBrowser();
  try {
    // A site configured to ask for contacts only: the same app with a narrower scope.
    await browser.route(`${stack.site}/config.json`, async (route) => {
      const response = await route.fetch();
      const config = await response.json();
      config.scope = 'openid profile email read:contacts';
      await route.fulfill({ response, json: config });
    });
    const page = await browser.newPage();
    await page.goto(stack.site);
    await logIn(page, 'dave');
    await signedIn(page, 'Dave');
    assert.deepEqual(await page.getByTestId('scopes').locator('li').allTextContents(), ['read:contacts']);
    assert.equal((await panel(page, 'contacts')).state, 'ready');
    const calendar = await panel(page, 'calendar');
    assert.equal(calendar.state, 'forbidden');
    assert.match(await calendar.node.textContent(), /Missing permission: read:calendar/);
    await screenshot(page, '07-missing-calendar-permission');
  } finally {
    await browser.close();
  }
});

test('a rejected token is renewed silently and the call goes through', async () => {
  const browser = await freshBrowser();
  try {
    // The first contacts call is answered 401 invalid_token, as the API answers an expired
    // token; the app must renew with checkSession (no page of the tenant) and call again.
    const calls = [];
    await browser.route((url) => url.origin === stack.api && url.pathname === '/contacts', async (route) => {
      if (route.request().method() !== 'GET') {
        await route.fallback();
        return;
      }
      const auth = route.request().headers().authorization || '';
      calls.push(auth);
      if (calls.length === 1) {
        await route.fulfill({
          status: 401,
          headers: { 'access-control-allow-origin': stack.site, 'www-authenticate': 'Bearer error="invalid_token"' },
          json: { error: 'invalid_token', error_description: 'token expired' },
        });
        return;
      }
      await route.fallback();
    });
    const silentChecks = [];
    browser.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === stack.tenant && url.pathname === '/authorize' && url.searchParams.get('prompt') === 'none') {
        silentChecks.push(url.href);
      }
    });
    const page = await browser.newPage();
    await page.goto(stack.site);
    await signedOut(page);
    const checksBefore = silentChecks.length;
    await logIn(page, 'erin');
    await signedIn(page, 'Erin');
    assert.equal((await panel(page, 'contacts')).state, 'ready');
    assert.equal(calls.length, 2, 'one rejected call, one retry');
    assert.ok(calls[1].startsWith('Bearer ey'));
    assert.ok(silentChecks.length > checksBefore, 'renewed with checkSession');
  } finally {
    await browser.close();
  }
});
