// End-to-end across sites: the apps at http://127.0.0.1:<port>, the tenant at
// http://localhost:<port> (two sites, as an app on its own domain and Auth0 on *.auth0.com), in
// a browser context that blocks third-party cookies (Playwright's ordinary contexts do, as
// Safari, Brave and private windows do). The tenant's cookie never reaches the hidden iframe:
// the implicit app cannot renew, the code app renews with refresh tokens. Access tokens live
// 20 seconds here, so that renewals happen within the test.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { browserAllowingThirdPartyCookies, browserBlockingThirdPartyCookies, screenshot, startStack } from './harness.mjs';
import { eventually, logIn, overrideConfig, panel, signedIn, signedOut, watchProblems } from './steps.mjs';

const TOKEN_SECONDS = 20;
let stack;

before(async () => {
  stack = await startStack({
    users: ['nina', 'oscar', 'pia'],
    // No poll during these tests: every renewal is the app's own.
    sessionCheckSeconds: 600,
    siteHost: '127.0.0.1',
    editTenant: (yaml) => {
      const edited = yaml.replace(/token_lifetime_for_web: \d+/, `token_lifetime_for_web: ${TOKEN_SECONDS}`);
      assert.notEqual(edited, yaml, 'tenant.yaml sets token_lifetime_for_web');
      return edited;
    },
    name: 'stack-cross-site',
  });
  assert.ok(stack.site.startsWith('http://127.0.0.1:') && stack.tenant.startsWith('http://localhost:'));
});

after(async () => {
  await stack?.stop();
});

function decode(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

/** What crosses the network: silent /authorize calls, token requests, the API's bearer tokens. */
function watchNetwork(context) {
  const seen = { silent: 0, grants: [], refreshTokens: [], bearer: [] };
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin === stack.tenant && url.pathname === '/authorize' && url.searchParams.get('prompt') === 'none') seen.silent += 1;
    if (url.origin === stack.tenant && url.pathname === '/oauth/token' && request.method() === 'POST') {
      const body = new URLSearchParams(request.postData() || '');
      seen.grants.push({ grant: body.get('grant_type'), at: Date.now() });
    }
    const auth = request.headers().authorization;
    if (url.origin === stack.api && auth) seen.bearer.push({ token: auth.slice(7), at: Date.now(), path: url.pathname });
  });
  context.on('response', async (response) => {
    const url = new URL(response.url());
    if (url.origin !== stack.tenant || url.pathname !== '/oauth/token' || response.request().method() !== 'POST') return;
    const body = await response.json().catch(() => null);
    if (body && body.refresh_token) seen.refreshTokens.push(body.refresh_token);
  });
  return seen;
}

test('cross-site, third-party cookies blocked: the implicit app says it cannot renew, then asks to log in, without a loop', async () => {
  const context = await browserBlockingThirdPartyCookies();
  try {
    const seen = watchNetwork(context);
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(stack.site);
    await signedOut(page);
    await logIn(stack, page, 'nina');
    await signedIn(page, 'Nina');
    assert.equal((await panel(page, 'contacts')).state, 'ready');
    // Right after the sign-in the iframe could not see the session: the app knows and says so.
    await page.getByTestId('renewal-note').waitFor();
    assert.match(await page.getByTestId('renewal-note').textContent(), /blocks the sign-in service's cookies/);
    await screenshot(page, 'x01-implicit-cannot-renew');

    // The token ends: one try, then a clear notice and Log in; no loop, no endless Loading.
    await page.locator('[data-notice="renewal_blocked"]').waitFor({ timeout: (TOKEN_SECONDS + 20) * 1000 });
    await signedOut(page);
    const tries = seen.silent;
    await page.waitForTimeout(4000);
    assert.equal(seen.silent, tries, 'no more silent checks');
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'signed-out');
    assert.match(await page.locator('main').textContent(), /third-party cookies/);
    await screenshot(page, 'x02-implicit-renewal-blocked');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('cross-site, third-party cookies blocked: the code app renews with its refresh token; a replayed one revokes the family', async () => {
  const context = await browserBlockingThirdPartyCookies();
  try {
    await overrideConfig(context, stack.secondSite, { pageSize: 5 });
    const seen = watchNetwork(context);
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(stack.secondSite);
    await signedOut(page);
    // The load tried the iframe once (no refresh token yet) and got login_required.
    const atLoad = seen.silent;
    await logIn(stack, page, 'oscar');
    await signedIn(page, 'Oscar');
    for (const id of ['contacts', 'calendar']) assert.equal((await panel(page, id)).state, 'ready');
    // One silent /authorize: the probe right after the sign-in, which found the iframe blind.
    assert.equal(seen.silent, atLoad + 1);
    assert.equal(await page.getByTestId('renewal-note').count(), 0, 'the code app can renew');
    assert.equal(seen.grants[0].grant, 'authorization_code');

    // Past the first access token's end, both APIs are called again.
    const first = seen.bearer[0].token;
    const firstExp = decode(first).exp * 1000;
    await page.waitForTimeout(Math.max(firstExp - Date.now() + 1000, 0));
    const since = Date.now();
    for (const id of ['contacts', 'calendar']) {
      const node = page.locator(`#panel-${id}`);
      const shown = await node.locator('li').count();
      await node.getByRole('button', { name: 'Show more' }).click();
      await eventually(async () => (await node.getAttribute('data-state')) === 'ready' && await node.locator('li').count() > shown, `${id}: the next page`);
    }
    const later = seen.bearer.filter((b) => b.at >= since);
    assert.deepEqual([...new Set(later.map((b) => b.path))].sort(), ['/calendar', '/contacts']);
    for (const b of later) assert.ok(decode(b.token).exp * 1000 > firstExp, 'a renewed token');
    assert.ok(seen.grants.some((g) => g.grant === 'refresh_token' && g.at >= since), 'renewed with the refresh token');
    assert.equal(seen.silent, atLoad + 1, 'no iframe');
    await screenshot(page, 'x03-code-renewed');

    // Rotation: a refresh token already used, replayed by someone else, is refused and revokes
    // the family, so the app's own current one fails too.
    assert.ok(seen.refreshTokens.length >= 2, `refresh tokens seen: ${seen.refreshTokens.length}`);
    const config = await (await fetch(`${stack.secondSite}/config.json`)).json();
    const replay = await fetch(`${stack.tenant}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: config.clientID, refresh_token: seen.refreshTokens.at(-2) }),
    });
    assert.equal(replay.status, 403);
    assert.equal((await replay.json()).error, 'invalid_grant');
    await page.locator('#panel-contacts').getByRole('button', { name: 'Show more' }).click();
    await signedOut(page);
    await page.locator('[data-notice="session_expired"]').waitFor();
    assert.equal(seen.silent, atLoad + 1, 'still no iframe');
    await screenshot(page, 'x04-code-family-revoked');

    // Log in again: one click, no page (the tenant's session is first-party at the top level).
    // Then reload: the in-memory cache is gone and the iframe is blind, so the app cannot sign
    // in silently, and says so (once) instead of pretending nothing happened.
    await page.getByRole('button', { name: 'Log in' }).first().click();
    await signedIn(page, 'Oscar');
    await page.reload();
    await signedOut(page);
    await page.locator('[data-notice="silent_sign_in_failed"]').waitFor();
    await screenshot(page, 'x05-code-reload-blind-iframe');
    await page.reload();
    await signedOut(page);
    assert.equal(await page.locator('[data-notice]').count(), 0, 'said once');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('cross-site, third-party cookies allowed: the tenant cookie reaches the iframe and the implicit app renews silently', async () => {
  // SameSite=None; Secure, as Auth0's cookie: where the browser allows third-party cookies, the
  // cross-site checkSession iframe still sees the session, exactly as with Auth0.
  const context = await browserAllowingThirdPartyCookies();
  try {
    const seen = watchNetwork(context);
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(stack.site);
    await signedOut(page);
    await logIn(stack, page, 'pia');
    await signedIn(page, 'Pia');
    assert.equal((await panel(page, 'contacts')).state, 'ready');
    assert.equal(await page.getByTestId('renewal-note').count(), 0, 'the iframe sees the session');
    // Past the first token's end, the API is called again with a token renewed by checkSession.
    const first = seen.bearer[0].token;
    const firstExp = decode(first).exp * 1000;
    const silentBefore = seen.silent;
    await page.waitForTimeout(Math.max(firstExp - Date.now() + 1000, 0));
    await page.reload();
    await signedIn(page, 'Pia');
    assert.equal((await panel(page, 'contacts')).state, 'ready');
    assert.ok(seen.silent > silentBefore, 'renewed through the iframe');
    const last = seen.bearer.at(-1);
    assert.ok(decode(last.token).exp * 1000 > firstExp, 'a renewed token');
    await screenshot(page, 'x06-implicit-cross-site-cookies-allowed');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
