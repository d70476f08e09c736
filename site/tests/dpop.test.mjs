// DPoP (RFC 9449) end to end: the template's API with `Dpop=required` behind the Lambda
// authorizer, the dev tenant binding tokens for the `organize` API (its proof_of_possession, as
// docs/dpop.md shows it). The code + PKCE app gets DPoP-bound tokens from auth0-spa-js, reads,
// writes and renews with them; the same token lifted out of the page is useless; the implicit
// app, which cannot get a bound token, says so instead of failing call by call.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { freshBrowser, screenshot, startStack, strayText } from './harness.mjs';
import { fillForm, localTime, logIn, panel, signedIn, watchProblems } from './steps.mjs';

/** tenant.yaml with the `organize` API binding tokens to the client's key when it sends a proof. */
function bindTokens(yaml) {
  const anchor = '    token_dialect: access_token_authz\n';
  assert.ok(yaml.includes(anchor), 'tenant.yaml: the organize API has no token_dialect line to put proof_of_possession after');
  return yaml.replace(anchor, `${anchor}    proof_of_possession:\n      mechanism: dpop\n      required: false\n`);
}

const claimsOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

test('Dpop=required: the code app reads, writes and renews with bound tokens; a lifted token or proof is refused; the implicit app says it cannot be used', async () => {
  const stack = await startStack({
    users: ['rhea'],
    sessionCheckSeconds: 600,
    name: 'stack-dpop',
    parameterOverrides: ['Dpop=required'],
    editTenant: bindTokens,
  });
  try {
    const config = await (await fetch(`${stack.secondSite}/config.json`)).json();
    assert.equal(config.dpop, 'required', 'config.json tells the app the API mode');

    // The code + PKCE app. Every API call is recorded with its credentials; the first read of
    // /contacts is sent with the same token expired (the tenant's signature, the same cnf), so
    // the app must renew through its bound refresh token and retry with a fresh proof.
    const browser = await freshBrowser();
    const page = await browser.newPage();
    const problems = watchProblems(page);
    const calls = [];
    const expired = [];
    await browser.route((url) => url.origin === stack.api, async (route) => {
      const request = route.request();
      if (request.method() === 'OPTIONS') return route.fallback();
      const headers = request.headers();
      const call = { method: request.method(), url: request.url(), authorization: headers.authorization, dpop: headers.dpop };
      calls.push(call);
      if (expired.length === 0 && call.method === 'GET' && new URL(call.url).pathname === '/contacts') {
        const token = call.authorization.replace(/^DPoP /, '');
        const old = stack.resign(token, (c) => ({ ...c, iat: c.iat - 7200, exp: Math.floor(Date.now() / 1000) - 60 }));
        const response = await route.fetch({ headers: { ...headers, authorization: `DPoP ${old}` } });
        expired.push(response.status());
        return route.fulfill({ response });
      }
      const response = await route.fetch();
      call.status = response.status();
      return route.fulfill({ response });
    });

    await page.goto(stack.secondSite);
    await logIn(stack, page, 'rhea');
    await signedIn(page, 'Rhea');
    for (const id of ['contacts', 'calendar', 'tasks']) assert.equal((await panel(page, id)).state, 'ready', id);
    assert.match(await page.locator('#flow-label').textContent(), /DPoP-bound tokens/);

    // Every call: the DPoP scheme, a proof of its own, a token bound to the proof's key.
    assert.ok(calls.length >= 4, `the app called the API (${calls.length} calls)`);
    for (const call of calls) {
      assert.match(call.authorization || '', /^DPoP [\w-]+\.[\w-]+\.[\w-]+$/, `${call.method} ${call.url}: the DPoP scheme`);
      assert.match(call.dpop || '', /^[\w-]+\.[\w-]+\.[\w-]+$/, `${call.method} ${call.url}: a proof`);
      const header = JSON.parse(Buffer.from(call.dpop.split('.')[0], 'base64url').toString());
      assert.equal(header.typ, 'dpop+jwt');
      const proof = claimsOf(call.dpop);
      assert.equal(proof.htm, call.method);
      assert.equal(proof.htu, call.url.split('?')[0]);
      assert.ok(claimsOf(call.authorization.slice(5)).cnf?.jkt, 'the token carries cnf.jkt');
    }
    assert.equal(new Set(calls.map((c) => c.dpop)).size, calls.length, 'a new proof for every call');

    // The expired token: refused by the authorizer (API Gateway's 403), renewed, retried.
    assert.deepEqual(expired, [403]);
    const reads = calls.filter((c) => c.method === 'GET' && new URL(c.url).pathname === '/contacts');
    assert.ok(reads.length >= 2, 'the read was retried');
    assert.notEqual(reads[1].authorization, reads[0].authorization, 'with a renewed token');
    assert.equal(reads[1].status, 200);
    assert.equal(claimsOf(reads[1].authorization.slice(5)).cnf.jkt, claimsOf(reads[0].authorization.slice(5)).cnf.jkt,
      'the renewed token is bound to the same key');

    // A write to each service.
    const contacts = (await panel(page, 'contacts')).node;
    await contacts.getByRole('button', { name: 'Add contact' }).click();
    await fillForm(page, 'contacts', { name: 'Bound Writer', email: 'bound@example.org' });
    await contacts.getByRole('button', { name: 'Save' }).click();
    await contacts.getByTestId('status-contacts').filter({ hasText: 'Added “Bound Writer”.' }).waitFor();
    const calendar = (await panel(page, 'calendar')).node;
    await calendar.getByRole('button', { name: 'Add event' }).click();
    await fillForm(page, 'calendar', { title: 'Bound lunch', start: localTime(1, 12), end: localTime(1, 13) });
    await calendar.getByRole('button', { name: 'Save' }).click();
    await calendar.getByTestId('status-calendar').filter({ hasText: 'Added “Bound lunch”.' }).waitFor();
    const writes = calls.filter((c) => c.method === 'POST').map((c) => `${new URL(c.url).pathname} ${c.status}`);
    assert.deepEqual(writes, ['/contacts 201', '/calendar 201']);
    await screenshot(page, 'dpop-code-app');
    assert.deepEqual(await strayText(page), []);
    assert.deepEqual(problems, []);

    // The token lifted out of the page, as an XSS payload or a log line would take it.
    const last = calls.filter((c) => c.status === 200 && new URL(c.url).pathname === '/contacts').at(-1);
    const token = last.authorization.slice('DPoP '.length);
    const get = (path, headers) => fetch(`${stack.api}${path}`, { headers });
    const answers = await Promise.all([
      get('/contacts', { Authorization: `Bearer ${token}` }), // downgraded to a bearer token
      get('/contacts', { Authorization: `DPoP ${token}` }), // no proof
      get('/contacts', { Authorization: `Bearer ${token}`, DPoP: last.dpop }), // downgraded, with a proof
      get('/calendar', { Authorization: `DPoP ${token}`, DPoP: last.dpop }), // the proof of another URL
      ...Array.from({ length: 8 }, () => get('/contacts', { Authorization: `DPoP ${token}`, DPoP: last.dpop })), // a replay, 8 at once
    ]);
    const seen = await Promise.all(answers.map(async (r) => ({ status: r.status, body: await r.json(), challenge: r.headers.get('www-authenticate') })));
    // With Dpop=required the DPoP header is one of the authorizer's identity sources: without it
    // API Gateway answers 401 without calling the authorizer.
    const unauthorized = { status: 401, body: { message: 'Unauthorized' }, challenge: null };
    const forbidden = { status: 403, body: { message: 'Forbidden' }, challenge: null };
    assert.deepEqual(seen[0], unauthorized, 'as Bearer, no proof');
    assert.deepEqual(seen[1], unauthorized, 'no proof');
    assert.deepEqual(seen[2], forbidden, 'as Bearer with a proof: the authorizer refuses the downgrade');
    assert.deepEqual(seen[3], forbidden, 'the proof of another URL: the authorizer denies');
    for (const replay of seen.slice(4)) {
      // The authorizer checks the proof but records nothing; the function has seen its jti.
      assert.equal(replay.status, 401, JSON.stringify(replay));
      assert.equal(replay.body.error, 'invalid_dpop_proof');
      assert.match(replay.challenge, /^DPoP .*error="invalid_dpop_proof"/);
      assert.match(replay.challenge, /algs="ES256"/);
    }
    await browser.close();

    // The implicit app cannot get a bound token: it says so, once, instead of a broken page.
    const implicit = await freshBrowser();
    const other = await implicit.newPage();
    const tried = [];
    implicit.on('request', (r) => { if (r.url().startsWith(stack.api) || r.url().startsWith(stack.tenant)) tried.push(r.url()); });
    await other.goto(stack.site);
    await other.getByRole('heading', { name: 'This app cannot be used with this API' }).waitFor();
    assert.match(await other.locator('body').innerText(), /Use the app that signs in with a code and PKCE/);
    assert.equal(await other.getByRole('button', { name: 'Log in' }).count(), 0, 'no Log in button to a dead end');
    assert.deepEqual(tried, [], 'no call to the tenant or the API');
    await screenshot(other, 'dpop-implicit-app');
    await implicit.close();
  } finally {
    await stack.stop();
  }
});
