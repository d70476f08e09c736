// End-to-end, read and write: an Editor's forms, a Reader's read-only panels, two tabs editing
// one contact, and asking for the write scopes later. One stack, one user per test.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { freshBrowser, screenshot, startStack } from './harness.mjs';
import {
  grantedScopes, eventually, fillForm, localTime, logIn, overrideConfig, panel, scopesOf, servicesOf, signedIn, signedOut, watchProblems,
} from './steps.mjs';

let stack;

before(async () => {
  stack = await startStack({
    users: ['jack', { name: 'kate', role: 'Organizer Reader' }, 'liam', 'mona'],
    sessionCheckSeconds: 600,
    name: 'stack-write',
  });
});

after(async () => {
  await stack?.stop();
});

const apiPath = (path) => (url) => url.origin === stack.api && url.pathname === path;

/** The last bearer token the page sent to the API (a test's view of the network). */
function watchTokens(context) {
  const seen = [];
  context.on('request', (request) => {
    const auth = request.headers().authorization;
    if (request.url().startsWith(stack.api) && auth) seen.push(auth.slice('Bearer '.length));
  });
  return seen;
}

/** Every item's title in a panel, after Show more until the end. */
async function listed(node) {
  for (let i = 0; i < 20; i++) {
    const more = node.getByRole('button', { name: 'Show more' });
    if (await more.count() === 0) break;
    const shown = await node.locator('li').count();
    await more.click();
    await eventually(async () => (await node.getAttribute('data-state')) === 'ready' && await node.locator('li').count() > shown, 'the next page');
  }
  return node.locator('li .item-main strong').allTextContents();
}

test('an Editor adds, edits and deletes a contact and an event, and sees them after a reload', async () => {
  const browser = await freshBrowser();
  try {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    // The first create of an event the API accepts is saved, but its answer is lost on the way back.
    const keys = [];
    let lost = false;
    await browser.route(apiPath('/calendar'), async (route) => {
      if (route.request().method() !== 'POST') return route.fallback();
      keys.push(route.request().headers()['idempotency-key']);
      if (lost) return route.fallback();
      const response = await route.fetch();
      if (response.status() !== 201) return route.fulfill({ response });
      lost = true;
      return route.abort('connectionreset');
    });
    await page.goto(stack.site);
    await logIn(stack, page, 'jack');
    await signedIn(page, 'Jack');
    const contacts = (await panel(page, 'contacts')).node;

    // Add a contact; the service refuses the address: the error is next to the field and the
    // rest of what was typed stays.
    await contacts.getByRole('button', { name: 'Add contact' }).click();
    await fillForm(page, 'contacts', { name: 'Zed Example', email: 'not-an-address', company: 'Acme' });
    await contacts.getByRole('button', { name: 'Save' }).click();
    const emailError = contacts.locator('[data-error-for="email"]');
    await emailError.waitFor();
    assert.match(await emailError.textContent(), /not-an-address/);
    assert.equal(await page.locator('#editor-contacts-email').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#editor-contacts-name').inputValue(), 'Zed Example');
    assert.equal(await page.locator('#editor-contacts-company').inputValue(), 'Acme');
    await screenshot(page, 'w01-field-error');
    await fillForm(page, 'contacts', { email: 'zed@example.org' });
    await contacts.getByRole('button', { name: 'Save' }).click();
    await contacts.getByTestId('status-contacts').filter({ hasText: 'Added “Zed Example”.' }).waitFor();
    // Later in the alphabet than the first page: shown above the list, marked as just saved.
    await contacts.getByTestId('just-saved-contacts').locator('li.saved', { hasText: 'Zed Example' }).waitFor();

    // Edit it: the form opens with the contact as the service has it.
    await contacts.getByRole('button', { name: 'Edit Zed Example' }).click();
    assert.equal(await page.locator('#editor-contacts-email').inputValue(), 'zed@example.org');
    await fillForm(page, 'contacts', { phone: '+1 555 0100' });
    await contacts.getByRole('button', { name: 'Save' }).click();
    await contacts.locator('li', { hasText: '+1 555 0100' }).waitFor();

    // Add an event: the end before the start is the service's own rule (the app knows no
    // service's rules); its answer names the field, and the form marks it.
    const calendar = (await panel(page, 'calendar')).node;
    await calendar.getByRole('button', { name: 'Add event' }).click();
    await fillForm(page, 'calendar', {
      title: 'Planning lunch', start: localTime(1, 12), end: localTime(1, 11), location: 'Café', attendees: 'ada@example.org, alan@example.org',
    });
    await calendar.getByRole('button', { name: 'Save' }).click();
    const endError = calendar.locator('[data-error-for="end"]');
    await endError.waitFor();
    assert.match(await endError.textContent(), /after/);
    assert.equal(keys.length, 1, 'sent once, refused');
    await fillForm(page, 'calendar', { end: localTime(1, 13) });
    await calendar.getByRole('button', { name: 'Save' }).click();
    // The answer was lost: the app says so, and Save again sends the same key.
    await calendar.locator('[data-problem="unreachable"]').waitFor();
    await screenshot(page, 'w02-create-answer-lost');
    await calendar.getByRole('button', { name: 'Save' }).click();
    await calendar.getByTestId('status-calendar').filter({ hasText: 'Added “Planning lunch”.' }).waitFor();
    // The status comes first, the reloaded list after it: wait for the list that marks it saved.
    await calendar.locator('li.saved', { hasText: 'Planning lunch' }).waitFor();
    // The refused try, the one whose answer was lost and the retry: one form, one key.
    assert.equal(keys.length, 3);
    assert.match(keys[0], /^[0-9a-f-]{36}$/);
    assert.deepEqual(keys.slice(1), [keys[0], keys[0]], 'the retry reuses the Idempotency-Key');
    assert.deepEqual((await listed(calendar)).filter((t) => t === 'Planning lunch'), ['Planning lunch'], 'added once');

    // A reload: both are in the API's store.
    await page.reload();
    await signedIn(page, 'Jack');
    assert.ok((await listed((await panel(page, 'contacts')).node)).includes('Zed Example'));
    const again = (await panel(page, 'calendar')).node;
    assert.deepEqual((await listed(again)).filter((t) => t === 'Planning lunch'), ['Planning lunch']);
    assert.match(await again.locator('li', { hasText: 'Planning lunch' }).textContent(), /Café · with ada@example\.org, alan@example\.org/);
    await screenshot(page, 'w03-added');

    // Delete both, each after a confirmation.
    for (const [id, label] of [['contacts', 'Zed Example'], ['calendar', 'Planning lunch']]) {
      const node = page.locator(`#panel-${id}`);
      const row = node.locator('li', { hasText: label });
      const del = row.getByRole('button', { name: `Delete ${label}` });
      await del.click();
      const confirm = node.locator('[data-confirm="delete"]');
      await confirm.waitFor();
      assert.match(await confirm.textContent(), new RegExp(`Delete “${label}”\\?`));
      // While it asks, the row's own Edit and Delete are gone: a second click cannot stack a
      // second confirmation (forced, as an impatient user's double click would land).
      assert.equal(await row.locator('.item-actions').isVisible(), false, 'the row\'s buttons are hidden while it asks');
      await del.click({ force: true }).catch(() => {});
      assert.equal(await node.locator('[data-confirm="delete"]').count(), 1, 'one confirmation at a time');
      if (id === 'contacts') await screenshot(page, 'w04-confirm-delete');
      await confirm.getByRole('button', { name: 'Delete' }).click();
      await node.getByTestId(`status-${id}`).filter({ hasText: `Deleted “${label}”.` }).waitFor();
      // Gone from the list as soon as it says so, not after the list's reload.
      assert.equal(await row.count(), 0, `“${label}” is still listed after “Deleted”`);
    }
    await page.reload();
    await signedIn(page, 'Jack');
    assert.ok(!(await listed((await panel(page, 'contacts')).node)).includes('Zed Example'));
    assert.ok(!(await listed((await panel(page, 'calendar')).node)).includes('Planning lunch'));
    assert.deepEqual(problems, [], 'no CSP violations or page errors');
  } finally {
    await browser.close();
  }
});

test('a Reader sees read-only panels, and a write forced from the page is refused', async () => {
  const browser = await freshBrowser();
  try {
    const tokens = watchTokens(browser);
    const page = await browser.newPage();
    await page.goto(stack.site);
    await logIn(stack, page, 'kate');
    await signedIn(page, 'Kate');
    const services = await servicesOf(stack.site);
    assert.deepEqual((await grantedScopes(page)).sort(), scopesOf(services, 'read').sort());
    for (const service of services) {
      const id = service.name;
      const { node, state } = await panel(page, id);
      assert.ok(['ready', 'empty'].includes(state), `${id}: ${state}`);
      assert.equal(await node.getByTestId(`readonly-${id}`).textContent(),
        `Read-only: your account may view your ${service.title.toLowerCase()} but not change them.`);
      assert.equal(await node.getByRole('button', { name: /Add|Edit|Delete|Allow editing/ }).count(), 0);
      assert.equal(await node.locator('input[type="checkbox"]').count(), 0, 'no box to tick');
    }
    await screenshot(page, 'w05-reader');
    // From the page's console, with the page's own token: the API refuses.
    assert.ok(tokens.length > 0);
    const forced = await page.evaluate(async ({ api, token }) => {
      const r = await fetch(`${api}/contacts`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'Forced' }),
      });
      return { status: r.status, body: await r.json(), challenge: r.headers.get('www-authenticate') };
    }, { api: stack.api, token: tokens.at(-1) });
    // The template's default mode: the Lambda authorizer denies it before the function runs.
    assert.equal(forced.status, 403);
    assert.deepEqual(forced.body, { message: 'Forbidden' });
  } finally {
    await browser.close();
  }
});

test('two tabs edit one contact: the second save shows the change made elsewhere', async () => {
  const browser = await freshBrowser();
  try {
    const first = await browser.newPage();
    await first.goto(stack.site);
    await logIn(stack, first, 'liam');
    await signedIn(first, 'Liam');
    const second = await browser.newPage();
    await second.goto(stack.site);
    await signedIn(second, 'Liam');
    const nodes = [];
    for (const page of [first, second]) {
      const node = (await panel(page, 'contacts')).node;
      await node.getByRole('button', { name: 'Edit Ada Lovelace' }).click();
      await page.locator('#editor-contacts-name').waitFor();
      nodes.push(node);
    }
    await fillForm(first, 'contacts', { company: 'Analytical Engines (first tab)' });
    await nodes[0].getByRole('button', { name: 'Save' }).click();
    await nodes[0].getByTestId('status-contacts').filter({ hasText: 'Saved' }).waitFor();

    await fillForm(second, 'contacts', { phone: '+44 20 0000 0000' });
    await nodes[1].getByRole('button', { name: 'Save' }).click();
    const conflict = nodes[1].locator('[data-problem="changed_elsewhere"]');
    await conflict.waitFor();
    assert.match(await conflict.textContent(), /Changed elsewhere/);
    assert.match(await conflict.locator('dl').textContent(), /Analytical Engines \(first tab\)/);
    assert.equal(await second.locator('#editor-contacts-phone').inputValue(), '+44 20 0000 0000', 'the edit is kept');
    await screenshot(second, 'w06-changed-elsewhere');
    // Apply: the second tab's change over the current version; the first tab's change stays.
    await conflict.getByRole('button', { name: 'Apply my changes to it' }).click();
    await nodes[1].getByTestId('status-contacts').filter({ hasText: 'Saved' }).waitFor();
    const ada = nodes[1].locator('li', { hasText: 'Ada Lovelace' });
    await eventually(async () => /first tab/.test(await ada.textContent()) && /\+44 20 0000 0000/.test(await ada.textContent()),
      'both changes are in the saved contact');
  } finally {
    await browser.close();
  }
});

test('an Editor who allowed reading only is offered editing, and the consent page lists only the write scopes', async () => {
  const browser = await freshBrowser();
  try {
    // Consent given when Organizer asked for reading only (as before the write scopes).
    const services = await servicesOf(stack.site);
    await overrideConfig(browser, stack.site, { scope: `openid profile email ${scopesOf(services, 'read').join(' ')}` });
    const page = await browser.newPage();
    await page.goto(stack.site);
    await logIn(stack, page, 'mona');
    await signedIn(page, 'Mona');
    await browser.unroute(`${stack.site}/config.json`);

    // Today's app asks for every scope: the silent sign-in falls back to the read scopes.
    await page.reload();
    await signedIn(page, 'Mona');
    assert.deepEqual((await grantedScopes(page)).sort(), scopesOf(services, 'read').sort());
    const contacts = (await panel(page, 'contacts')).node;
    assert.equal(await contacts.getByRole('button', { name: 'Add contact' }).count(), 0);
    assert.match(await contacts.getByTestId('readonly-contacts').textContent(), /not allowed Organizer to change your contacts yet/);
    await screenshot(page, 'w07-allow-editing');

    await contacts.getByRole('button', { name: 'Allow editing' }).click();
    await page.waitForURL((url) => url.href.startsWith(stack.tenant));
    // Each write scope, shown as its description ("Add, change and delete your contacts").
    const asked = await page.locator('li[data-scope]').evaluateAll((items) => items.map((li) => `${li.dataset.scope}: ${li.textContent.trim()}`));
    assert.deepEqual(asked.sort(), services.map((s) => `${s.scopes.write.name}: ${s.scopes.write.description}`).sort());
    await screenshot(page, 'w08-consent-write-scopes');
    await page.getByRole('button', { name: 'Accept' }).click();
    await signedIn(page, 'Mona');
    assert.deepEqual((await grantedScopes(page)).sort(), scopesOf(services).sort());
    await (await panel(page, 'contacts')).node.getByRole('button', { name: 'Add contact' }).waitFor();
  } finally {
    await browser.close();
  }
});

test('a refused create keeps the form and says why: quota, permission', async () => {
  const browser = await freshBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(stack.site);
    await signedOut(page);
    // Jack allowed Organizer in the first test: a password, no consent page.
    await logIn(stack, page, 'jack', { consent: null });
    await signedIn(page, 'Jack');
    const answers = [
      { status: 409, json: { error: 'quota_exceeded', error_description: 'at most 5000 contacts' } },
      { status: 403, json: { error: 'insufficient_scope', error_description: 'write:contacts' }, headers: { 'www-authenticate': 'Bearer error="insufficient_scope"' } },
    ];
    await browser.route(apiPath('/contacts'), (route) => {
      if (route.request().method() !== 'POST') return route.fallback();
      const { status, json, headers } = answers.shift();
      return route.fulfill({ status, json, headers: { 'access-control-allow-origin': stack.site, 'access-control-expose-headers': 'www-authenticate', ...headers } });
    });
    const contacts = (await panel(page, 'contacts')).node;
    await contacts.getByRole('button', { name: 'Add contact' }).click();
    await fillForm(page, 'contacts', { name: 'Over the limit' });
    await contacts.getByRole('button', { name: 'Save' }).click();
    await contacts.locator('[data-problem="quota_exceeded"]').filter({ hasText: 'limit of 5,000 contacts' }).waitFor();
    await contacts.getByRole('button', { name: 'Save' }).click();
    await contacts.locator('[data-problem="forbidden"]').filter({ hasText: 'not allowed to change your contacts' }).waitFor();
    assert.equal(await page.locator('#editor-contacts-name').inputValue(), 'Over the limit');
    await contacts.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await contacts.locator('form').count(), 0);
  } finally {
    await browser.close();
  }
});
