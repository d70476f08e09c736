// The app behind each of the template's authorizer modes (`--parameter-overrides
// AuthorizerMode=…`): the Lambda authorizer (API Gateway's bare 401/403), the JWT authorizer
// (401 with its challenge, 403) and none (the functions' RFC 6750 answers). In each, both apps
// sign in, read both services, write, renew after a token the API refuses as expired, and a
// Reader's forced write is refused. One stack per mode.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { freshBrowser, screenshot, startStack } from './harness.mjs';
import { fillForm, logIn, panel, signedIn, watchProblems } from './steps.mjs';

/** What the API answers a token that has expired, in each mode. */
const EXPIRED = {
  lambda: { status: 403, body: { message: 'Forbidden' }, challenge: null },
  jwt: { status: 401, body: { message: 'Unauthorized' }, challenge: /error="invalid_token" error_description="the token has expired"/ },
  none: { status: 401, error: 'invalid_token', challenge: /error="invalid_token"/ },
};

/**
 * Swaps the token of the page's first `GET /contacts` for the same token expired (signed by
 * the tenant), and records what the API answered it, as the page read it.
 */
async function expireFirstRead(stack, context) {
  const seen = { answers: [], tokens: [] };
  await context.route((url) => url.origin === stack.api && url.pathname === '/contacts', async (route) => {
    const request = route.request();
    if (request.method() !== 'GET') return route.fallback();
    const token = request.headers().authorization.slice('Bearer '.length);
    seen.tokens.push(token);
    if (seen.answers.length > 0) return route.fallback();
    const expired = stack.resign(token, (c) => ({ ...c, iat: c.iat - 7200, exp: Math.floor(Date.now() / 1000) - 60 }));
    const response = await route.fetch({ headers: { ...request.headers(), authorization: `Bearer ${expired}` } });
    const text = await response.text();
    seen.answers.push({ status: response.status(), body: JSON.parse(text), challenge: response.headers()['www-authenticate'] || null });
    return route.fulfill({ response, body: text });
  });
  return seen;
}

function assertExpiredAnswer(mode, answer) {
  const expected = EXPIRED[mode];
  assert.equal(answer.status, expected.status, mode);
  if (expected.body) assert.deepEqual(answer.body, expected.body, mode);
  if (expected.error) assert.equal(answer.body.error, expected.error, mode);
  if (expected.challenge) assert.match(answer.challenge, expected.challenge, mode);
  else assert.equal(answer.challenge, null, mode);
}

for (const mode of ['lambda', 'jwt', 'none']) {
  test(`AuthorizerMode=${mode}: both apps sign in, read, write, renew a refused token; a Reader's forced write is refused`, async () => {
    const stack = await startStack({
      users: ['pia', { name: 'quinn', role: 'Organizer Reader' }],
      sessionCheckSeconds: 600,
      name: `stack-mode-${mode}`,
      parameterOverrides: [`AuthorizerMode=${mode}`],
    });
    try {
      // The implicit app: sign in, an expired token refused and renewed, both services read.
      let browser = await freshBrowser();
      let page = await browser.newPage();
      const problems = watchProblems(page);
      let seen = await expireFirstRead(stack, browser);
      await page.goto(stack.site);
      await logIn(stack, page, 'pia');
      await signedIn(page, 'Pia');
      for (const id of ['contacts', 'calendar']) assert.equal((await panel(page, id)).state, 'ready', `${mode}: ${id}`);
      assertExpiredAnswer(mode, seen.answers[0]);
      assert.equal(seen.tokens.length, 2, 'one retry');
      assert.notEqual(seen.tokens[1], seen.tokens[0], 'with a renewed token');

      // A write.
      const contacts = (await panel(page, 'contacts')).node;
      await contacts.getByRole('button', { name: 'Add contact' }).click();
      await fillForm(page, 'contacts', { name: `Mode ${mode}`, email: `${mode}@example.org` });
      await contacts.getByRole('button', { name: 'Save' }).click();
      await contacts.getByTestId('status-contacts').filter({ hasText: `Added “Mode ${mode}”.` }).waitFor();
      await screenshot(page, `m-${mode}-implicit`);
      assert.deepEqual(problems, []);
      await browser.close();

      // The code + PKCE app (refresh tokens): the same, renewing by its refresh token.
      browser = await freshBrowser();
      page = await browser.newPage();
      seen = await expireFirstRead(stack, browser);
      await page.goto(stack.secondSite);
      await logIn(stack, page, 'pia');
      await signedIn(page, 'Pia');
      for (const id of ['contacts', 'calendar']) assert.equal((await panel(page, id)).state, 'ready', `${mode} code app: ${id}`);
      assertExpiredAnswer(mode, seen.answers[0]);
      assert.equal(seen.tokens.length, 2);
      assert.notEqual(seen.tokens[1], seen.tokens[0]);
      const added = (await panel(page, 'contacts')).node;
      assert.equal(await added.locator('li', { hasText: `Mode ${mode}` }).count(), 1, 'the write is there');
      await browser.close();

      // A Reader: read-only panels; a write forced with the page's token is refused, by API
      // Gateway's authorizer (lambda, jwt) or by the function (none).
      browser = await freshBrowser();
      page = await browser.newPage();
      const tokens = [];
      browser.on('request', (r) => {
        const auth = r.headers().authorization;
        if (r.url().startsWith(stack.api) && auth) tokens.push(auth.slice('Bearer '.length));
      });
      await page.goto(stack.site);
      await logIn(stack, page, 'quinn');
      await signedIn(page, 'Quinn');
      assert.equal((await panel(page, 'contacts')).state, 'ready');
      const forced = await page.evaluate(async ({ api, token }) => {
        const r = await fetch(`${api}/contacts`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ name: 'Forced' }),
        });
        return { status: r.status, body: await r.json() };
      }, { api: stack.api, token: tokens.at(-1) });
      assert.equal(forced.status, 403, mode);
      if (mode === 'none') assert.equal(forced.body.error, 'insufficient_scope');
      else assert.deepEqual(forced.body, { message: 'Forbidden' });
      await browser.close();
    } finally {
      await stack.stop();
    }
  });
}
