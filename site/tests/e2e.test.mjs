// End-to-end: the SPA in headless Chromium against the local stack (dev tenant, API, two sites).
// Each test has its own user (own consents) and its own fresh browser profile.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { freshBrowser, screenshot, startStack, visibleText } from './harness.mjs';
import {
  grantedScopes, eventually, logIn, overrideConfig, panel, scopesOf, servicesOf, signedIn, signedOut, watchProblems,
} from './steps.mjs';

// Short only here: the app's default is Auth0's advice, 15 minutes.
const POLL_SECONDS = 2;
let stack;

before(async () => {
  stack = await startStack({
    users: ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'hank', 'ivan', 'judy'],
    sessionCheckSeconds: POLL_SECONDS,
  });
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

/** Matches requests for one path of the API. */
function apiPath(path) {
  return (url) => url.origin === stack.api && url.pathname === path;
}

/** Answers an API request in the API's place, with the CORS header the browser needs. */
function answerAs(route, status, body, headers = {}) {
  const payload = typeof body === 'string' ? { body, contentType: 'application/json' } : { json: body };
  return route.fulfill({ status, headers: { 'access-control-allow-origin': stack.site, ...headers }, ...payload });
}

const INVALID_TOKEN = { error: 'invalid_token', error_description: 'token expired' };

/** Silent checks (prompt=none requests to /authorize) seen by the browser, in order. */
function watchSilentChecks(browser, log) {
  browser.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin === stack.tenant && url.pathname === '/authorize' && url.searchParams.get('prompt') === 'none') {
      log.push('check');
    }
  });
}

test('log in, consent, both APIs; reload stays signed in silently; logout in another tab ends it', async () => {
  const browser = await freshBrowser();
  try {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    await page.goto(stack.site);
    await signedOut(page);
    // Exactly what the signed-out page says, nothing more (a stray "null" was once above it);
    // it names the services of config.json ("Your contacts and calendar, one sign-in").
    const services = await servicesOf(stack.site);
    const names = (each) => new Intl.ListFormat('en', { type: 'conjunction' }).format(services.map(each));
    const count = ['no', 'one', 'two', 'three', 'four', 'five'][services.length];
    assert.deepEqual(await visibleText(page), [
      'Organizer',
      // Which app this is, in small print: the implicit one.
      'Implicit grant, renewed silently · auth0-js',
      'Log in',
      `Your ${names((s) => s.title.toLowerCase())}, one sign-in`,
      `Organizer keeps ${names((s) => `your ${s.title.toLowerCase()}`)} in ${count} services that share one sign-in. `
        + 'Log in to see them; the first time, you will be asked to allow Organizer to use them.',
      'Log in',
    ]);
    await screenshot(page, '01-signed-out');

    await logIn(stack, page, 'alice');
    await signedIn(page, 'Alice');
    // The token came in the fragment of callback.html; it is gone from the address bar.
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(new URL(page.url()).pathname, '/');
    const scopes = await grantedScopes(page);
    assert.deepEqual(scopes.sort(), scopesOf(services).sort());

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
    assert.deepEqual(problems, [], 'no CSP violations or page errors');
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
    await logIn(stack, page, 'bob', { consent: 'Decline' });
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

test('single sign-on and single logout between an implicit-grant app and a code + PKCE app', async () => {
  const browser = await freshBrowser();
  try {
    // The second application signs in with the code flow: codes and refresh tokens at the
    // token endpoint, never a token in a URL.
    const grants = [];
    browser.on('request', (request) => {
      if (request.url() === `${stack.tenant}/oauth/token`) grants.push(new URLSearchParams(request.postData() || '').get('grant_type'));
    });
    const fragments = [];
    browser.on('framenavigated', (frame) => { if (frame.url().startsWith(stack.secondSite) && /access_token=/.test(frame.url())) fragments.push(frame.url()); });
    const first = await browser.newPage();
    await first.goto(stack.site);
    await logIn(stack, first, 'carol');
    await signedIn(first, 'Carol');

    // The second application: the tenant session exists, but this client has no consent yet.
    const second = await browser.newPage();
    await second.goto(stack.secondSite);
    await signedOut(second);
    await second.locator('[data-notice="consent_required"]').waitFor();
    // Log in there: no password (single sign-on), only the consent page.
    await logIn(stack, second, 'carol', { expectLogin: false });
    await signedIn(second, 'Carol');
    assert.ok(grants.includes('authorization_code'), `grants: ${grants}`);
    assert.deepEqual(fragments, [], 'no token in a URL of the code app');
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
    await logIn(stack, first, 'carol', { consent: null });
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
    await overrideConfig(browser, stack.site, { scope: 'openid profile email read:contacts' });
    const page = await browser.newPage();
    await page.goto(stack.site);
    await logIn(stack, page, 'dave');
    await signedIn(page, 'Dave');
    assert.deepEqual(await grantedScopes(page), ['read:contacts']);
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
    // No poll during the test, so every silent check is the app's renewal.
    await overrideConfig(browser, stack.site, { sessionCheckSeconds: 600 });
    // The first contacts call is answered 401 invalid_token, as the API answers an expired
    // token; the app must renew with checkSession (no page of the tenant) and call again.
    const log = [];
    const tokens = [];
    await browser.route(apiPath('/contacts'), async (route) => {
      if (route.request().method() !== 'GET') {
        await route.fallback();
        return;
      }
      tokens.push(route.request().headers().authorization || '');
      if (tokens.length === 1) {
        log.push('401');
        await answerAs(route, 401, INVALID_TOKEN, { 'www-authenticate': 'Bearer error="invalid_token"' });
        return;
      }
      log.push('api');
      await route.fallback();
    });
    watchSilentChecks(browser, log);
    const page = await browser.newPage();
    await page.goto(stack.site);
    await signedOut(page);
    await logIn(stack, page, 'erin');
    await signedIn(page, 'Erin');
    assert.equal((await panel(page, 'contacts')).state, 'ready');
    assert.equal(tokens.length, 2, 'one rejected call, one retry');
    assert.ok(tokens[1].startsWith('Bearer ey'));
    // After the sign-in (the load's check came before it): 401, then a silent check, then the retry.
    const afterLogin = log.slice(log.indexOf('401'));
    assert.deepEqual(afterLogin, ['401', 'check', 'api']);
  } finally {
    await browser.close();
  }
});

test('when renewal finds the session over, the app asks to log in again', async () => {
  const browser = await freshBrowser();
  try {
    await overrideConfig(browser, stack.site, { sessionCheckSeconds: 600, pageSize: 5 });
    const page = await browser.newPage();
    await page.goto(stack.site);
    await logIn(stack, page, 'frank');
    await signedIn(page, 'Frank');
    assert.equal((await panel(page, 'contacts')).state, 'ready');
    // The session ends elsewhere; the poll is far away, and the API now refuses the token.
    const other = await browser.newPage();
    await other.goto(`${stack.tenant}/v2/logout`);
    await other.close();
    await browser.route(apiPath('/contacts'), (route) => answerAs(route, 401, INVALID_TOKEN));
    await page.locator('#panel-contacts').getByRole('button', { name: 'Show more' }).click();
    await signedOut(page);
    await page.locator('[data-notice="session_expired"]').waitFor();
    await screenshot(page, '08-session-expired');
  } finally {
    await browser.close();
  }
});

test('pages through the real API with its cursors', async () => {
  const browser = await freshBrowser();
  try {
    await overrideConfig(browser, stack.site, { pageSize: 5 });
    const page = await browser.newPage();
    await page.goto(stack.site);
    await logIn(stack, page, 'gina');
    await signedIn(page, 'Gina');
    const contacts = (await panel(page, 'contacts')).node;
    assert.equal(await contacts.locator('li').count(), 5);
    const names = [];
    for (let pageNo = 1; ; pageNo++) {
      const more = contacts.getByRole('button', { name: 'Show more' });
      if (await more.count() === 0) break;
      const shown = await contacts.locator('li').count();
      await more.click();
      await page.waitForFunction((n) => {
        const node = document.getElementById('panel-contacts');
        return node.dataset.state === 'ready' && node.querySelectorAll('li').length > n;
      }, shown);
      // Focus stays in the panel for keyboard users.
      assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'title-contacts');
      assert.ok(pageNo < 50, 'paging ends');
    }
    for (const n of await contacts.locator('li strong').allTextContents()) names.push(n);
    assert.ok(names.length > 5, `${names.length} contacts over several pages`);
    assert.equal(new Set(names).size, names.length, 'no contact twice');
    const sorted = [...names].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' }));
    assert.deepEqual(names, sorted, 'in name order across pages');
  } finally {
    await browser.close();
  }
});

test('hostile or broken answers and links are shown as text, never as markup', async () => {
  const browser = await freshBrowser();
  try {
    await overrideConfig(browser, stack.site, { sessionCheckSeconds: 600 });
    const page = await browser.newPage();
    const problems = watchProblems(page);

    // A forged error in the fragment: no attacker text on the page.
    await page.goto(`${stack.site}/callback.html#error=server_error&error_description=Your+account+is+locked.+Call+555-0100`);
    await signedOut(page);
    assert.equal(new URL(page.url()).hash, '');
    assert.doesNotMatch(await page.locator('main').textContent(), /locked|555-0100/);

    await logIn(stack, page, 'hank');
    await signedIn(page, 'Hank');
    const hostile = '<img src=x onerror="window.__pwned=1">';
    const contactsApi = apiPath('/contacts');
    await browser.route(contactsApi, (route) => answerAs(route, 200, {
      items: [null, 7, { name: hostile, email: { x: 1 }, company: '<b>bold</b>' }],
      next: null,
    }));
    // API Gateway's Lambda authorizer denies with a bare {"message":"Forbidden"}.
    await browser.route(apiPath('/calendar'), (route) => answerAs(route, 403, { message: 'Forbidden' }));
    await page.reload();
    await signedIn(page, 'Hank');
    const contacts = await panel(page, 'contacts');
    assert.equal(contacts.state, 'ready');
    assert.equal(await contacts.node.locator('li strong').textContent(), hostile);
    assert.equal(await contacts.node.locator('img, b').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    const calendar = await panel(page, 'calendar');
    assert.equal(calendar.state, 'error');
    assert.equal(
      await calendar.node.locator('p.status').textContent(),
      'The calendar service answered with an error (HTTP 403). Try again in a moment.',
    );

    // Answers that are not lists: an error state, not a stuck "Loading".
    await browser.unroute(contactsApi);
    await browser.route(contactsApi, (route) => answerAs(route, 200, 'null'));
    await page.reload();
    await signedIn(page, 'Hank');
    assert.equal((await panel(page, 'contacts')).state, 'error');
    assert.deepEqual(problems, []);
    await screenshot(page, '09-hostile-answers');

    // No config.json: an explanation, not a broken page.
    await browser.route(`${stack.site}/config.json`, (route) => route.fulfill({ status: 404, json: { error: 'not_configured' } }));
    await page.reload();
    await page.locator('body[data-state="error"]').waitFor();
    assert.match(await page.locator('main').textContent(), /not configured/);
  } finally {
    await browser.close();
  }
});

test('polls checkSession every 15 minutes unless configured otherwise', async () => {
  const browser = await freshBrowser();
  try {
    await overrideConfig(browser, stack.site, { sessionCheckSeconds: undefined });
    const log = [];
    watchSilentChecks(browser, log);
    const page = await browser.newPage();
    await page.clock.install();
    await page.goto(stack.site);
    await logIn(stack, page, 'ivan');
    await signedIn(page, 'Ivan');
    const before = log.length;
    await page.clock.runFor(14 * 60_000);
    assert.equal(log.length, before, 'no check before 15 minutes');
    await page.clock.runFor(61_000);
    await page.waitForTimeout(0);
    await signedIn(page, 'Ivan');
    await eventually(() => log.length > before, 'a check at 15 minutes');
  } finally {
    await browser.close();
  }
});

test('two tabs of the code app: logging out in one signs the other out within a second', async () => {
  const browser = await freshBrowser();
  try {
    const first = await browser.newPage();
    await first.goto(stack.secondSite);
    await logIn(stack, first, 'judy');
    await signedIn(first, 'Judy');
    const second = await browser.newPage();
    await second.goto(stack.secondSite);
    await signedIn(second, 'Judy');
    // Only a word crosses the channel: no token, no name.
    const heard = await second.evaluate(async () => {
      const config = await (await fetch('/config.json')).json();
      const channel = new BroadcastChannel(`organizer:${config.clientID}`);
      window.__heard = [];
      channel.onmessage = (e) => window.__heard.push(JSON.stringify(e.data));
      return true;
    });
    assert.ok(heard);
    await first.getByRole('button', { name: 'Log out' }).click();
    const started = Date.now();
    await second.locator('[data-notice="signed_out_other_tab"]').waitFor({ timeout: 1000 });
    assert.ok(Date.now() - started < 1000);
    await signedOut(second);
    assert.deepEqual(await second.evaluate(() => window.__heard), ['{"type":"signed-out"}']);
    await screenshot(second, '10-code-app-other-tab-logged-out');
    await signedOut(first);
  } finally {
    await browser.close();
  }
});
