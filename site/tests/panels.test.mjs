// The panels come from config.json alone: the real services as the local stack describes them,
// services the app has never heard of (answered here in the API's place), the service's
// structured 400 marking the field it names, and the boxes of boolean fields ticked in a row.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { freshBrowser, screenshot, startStack } from './harness.mjs';
import {
  fillForm, localTime, logIn, overrideConfig, panel, servicesOf, signedIn, watchProblems,
} from './steps.mjs';

let stack;

before(async () => {
  stack = await startStack({ users: ['rita', 'sam', 'tara', 'uma'], sessionCheckSeconds: 600, name: 'stack-panels' });
});

after(async () => {
  await stack?.stop();
});

const quota = (service) => `Up to ${new Intl.NumberFormat('en-US').format(service.quota)} ${service.many}.`;

/** Answers an API request in the API's place, with the CORS headers the browser needs. */
function answerAs(route, status, json, headers = {}) {
  return route.fulfill({
    status,
    headers: { 'access-control-allow-origin': stack.site, 'access-control-expose-headers': 'etag', ...headers },
    ...(json === undefined ? {} : { json }),
  });
}

/** A preflight answered as the API answers one for an allowed origin. */
function preflight(route) {
  return answerAs(route, 204, undefined, {
    'access-control-allow-methods': 'GET, POST, PUT, DELETE',
    'access-control-allow-headers': 'Authorization, Content-Type, If-Match, Idempotency-Key',
  });
}

test('each service of config.json is a panel: title, Add, quota, its form, its empty text, its filters', async () => {
  const services = await servicesOf(stack.site);
  const browser = await freshBrowser();
  try {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    const lists = [];
    browser.on('request', (r) => {
      const url = new URL(r.url());
      if (url.origin === stack.api && r.method() === 'GET') lists.push(url);
    });
    // The last service's list answers empty: its empty text is config.json's.
    const last = services.at(-1);
    await browser.route((url) => url.origin === stack.api && url.pathname === `/${last.name}`,
      (route) => (route.request().method() === 'GET' ? answerAs(route, 200, { items: [], next: null }) : route.fallback()));
    await page.goto(stack.site);
    await logIn(stack, page, 'rita');
    await signedIn(page, 'Rita');
    assert.deepEqual(await page.locator('.panels > section').evaluateAll((nodes) => nodes.map((n) => n.id)),
      services.map((s) => `panel-${s.name}`), 'one panel per service, in order');
    for (const service of services) {
      const { node, state } = await panel(page, service.name);
      assert.equal(await node.locator('h2').textContent(), service.title);
      assert.equal(await node.getByTestId(`quota-${service.name}`).textContent(), quota(service));
      if (service === last) {
        assert.equal(state, 'empty');
        assert.equal(await node.locator('.list-slot').textContent(), service.list.empty || `No ${service.many} yet.`);
      } else {
        assert.equal(state, 'ready');
      }
      // A time filter the app fills in (`today`) is sent as the start of today (UTC).
      const sent = lists.find((u) => u.pathname === `/${service.name}`);
      for (const f of service.list.filters) {
        if (f.type === 'time' && f.app_default === 'today') {
          const today = new Date();
          today.setUTCHours(0, 0, 0, 0);
          assert.equal(sent.searchParams.get(f.name), today.toISOString().replace(/\.\d{3}Z$/, 'Z'), `${service.name}: ${f.name}`);
        }
        if (f.type === 'choice') {
          assert.equal(await node.locator(`select[data-filter="${f.name}"]`).inputValue(), f.app_default || f.default);
          assert.equal(sent.searchParams.get(f.name), f.app_default || f.default);
        }
      }
      // The form: one input per field, of its type, with the manifest's limits.
      await node.getByRole('button', { name: `Add ${service.one}` }).click();
      for (const f of service.fields) {
        const input = page.locator(`#editor-${service.name}-${f.name}`);
        const [tag, type, maxlength, required, autocomplete] = await input.evaluate((el) => [
          el.tagName.toLowerCase(), el.type, el.getAttribute('maxlength'), el.required, el.getAttribute('autocomplete')]);
        const expected = {
          text: f.autocomplete === 'tel' ? 'tel' : 'text', multiline: 'textarea', email: 'email', emails: 'text',
          time: 'datetime-local', date: 'date', boolean: 'checkbox',
        }[f.type];
        assert.equal(tag === 'textarea' ? 'textarea' : type, expected, `${service.name}.${f.name}`);
        assert.equal(required, f.required, `${service.name}.${f.name} required`);
        if (['text', 'multiline', 'email'].includes(f.type)) {
          assert.equal(maxlength, String(f.max), `${service.name}.${f.name} maxlength`);
          assert.equal(autocomplete, f.autocomplete || 'off', `${service.name}.${f.name} autocomplete`);
        }
      }
      if (service === services[0]) await screenshot(page, 'p01-form-from-config');
      await node.getByRole('button', { name: 'Cancel' }).click();
    }
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

// Two services the app has never heard of, behind scopes the user has, answered by the test.
const NOTES = {
  name: 'notes', title: 'Notes', one: 'note', many: 'notes', quota: 1234,
  scopes: { read: { name: 'read:contacts', description: 'Read' }, write: { name: 'write:contacts', description: 'Write' } },
  fields: [
    { name: 'title', label: 'Title', type: 'text', required: true, max: 80, autocomplete: null },
    { name: 'body', label: 'Body', type: 'multiline', required: false, max: 500, autocomplete: null },
    { name: 'due', label: 'Due', type: 'date', required: false, max: null, autocomplete: null },
    { name: 'done', label: 'Done', type: 'boolean', required: false, max: null, autocomplete: null },
  ],
  list: {
    order: 'by title',
    filters: [{ name: 'status', type: 'choice', values: ['open', 'done', 'all'], default: 'open', app_default: 'all', description: 'which notes' }],
    empty: 'No notes here.',
  },
};
// Its write scope is one nobody has: read-only, with the box's state in words.
const CHORES = {
  ...NOTES, name: 'chores', title: 'Chores', one: 'chore', many: 'chores', quota: 10,
  scopes: { read: { name: 'read:contacts', description: 'Read' }, write: { name: 'write:chores', description: 'Write' } },
  list: { order: 'by title', filters: [] },
};

test('a service the app never heard of: drawn from config.json, its box ticked in the row, a change made meanwhile reported', async () => {
  const services = await servicesOf(stack.site);
  const browser = await freshBrowser();
  try {
    await overrideConfig(browser, stack.site, { services: [...services, NOTES, CHORES] });
    // The notes service, as the test keeps it: one note, its version as the ETag.
    const note = { id: 'n-1', title: 'Water the plants', body: 'Twice a week\nmore in summer', due: '2026-12-05', done: false };
    let version = 1;
    let meanwhile = null;
    const seen = { lists: [], puts: [] };
    await browser.route((url) => url.origin === stack.api && /^\/(notes|chores)(\/|$)/.test(url.pathname), async (route) => {
      const request = route.request();
      const url = new URL(request.url());
      if (request.method() === 'OPTIONS') return preflight(route);
      if (url.pathname === '/chores') return answerAs(route, 200, { items: [{ ...note, id: 'c-1', title: 'Sweep' }], next: null });
      if (request.method() === 'GET' && url.pathname === '/notes') {
        seen.lists.push(url.searchParams.get('status'));
        const status = url.searchParams.get('status');
        const items = [note].filter((n) => status === 'all' || (status === 'done') === n.done);
        return answerAs(route, 200, { items, next: null });
      }
      if (request.method() === 'GET') return answerAs(route, 200, note, { etag: `"${version}"` });
      if (request.method() === 'PUT') {
        seen.puts.push({ ifMatch: request.headers()['if-match'], body: request.postDataJSON() });
        // Someone else saves between the app's read and its write.
        if (meanwhile) {
          Object.assign(note, meanwhile);
          version += 1;
          meanwhile = null;
        }
        if (request.headers()['if-match'] !== `"${version}"`) {
          return answerAs(route, 412, { error: 'precondition_failed', error_description: 'changed', current: note }, { etag: `"${version}"` });
        }
        Object.assign(note, request.postDataJSON());
        version += 1;
        return answerAs(route, 200, note, { etag: `"${version}"` });
      }
      return route.fallback();
    });
    const page = await browser.newPage();
    const problems = watchProblems(page);
    await page.goto(stack.site);
    await logIn(stack, page, 'tara');
    await signedIn(page, 'Tara');

    const notes = (await panel(page, 'notes')).node;
    assert.equal(await notes.locator('h2').textContent(), 'Notes');
    await notes.getByRole('button', { name: 'Add note' }).waitFor();
    assert.equal(await notes.getByTestId('quota-notes').textContent(), 'Up to 1,234 notes.');
    // The choice filter starts at the app's default, and is sent.
    const status = notes.locator('select[data-filter="status"]');
    assert.equal(await status.inputValue(), 'all');
    assert.deepEqual(seen.lists, ['all']);
    const row = () => notes.locator('li[data-id="n-1"]');
    assert.equal(await row().locator('strong').textContent(), 'Water the plants');
    // The other fields: the first line of the body, the date named by its label.
    assert.equal(await row().locator('.meta').textContent(), 'Twice a week · due Dec 5, 2026');
    const box = () => row().locator('input[data-toggle="done"]');
    assert.equal(await box().isChecked(), false);
    assert.equal(await box().getAttribute('aria-label'), 'Done: Water the plants');
    await screenshot(page, 'p02-unknown-service');

    // Another filter value: the list again, with it; empty, in the service's words.
    await status.selectOption('done');
    await notes.locator(':scope[data-state="empty"]').waitFor();
    assert.equal(await notes.locator('.list-slot').textContent(), 'No notes here.');
    assert.deepEqual(seen.lists, ['all', 'done']);
    await status.selectOption('all');
    await row().waitFor();

    // Tick the box: the note as the service has it, whole, with the box changed, over its ETag.
    await box().check();
    await notes.getByTestId('status-notes').filter({ hasText: 'Saved “Water the plants”: done.' }).waitFor();
    assert.deepEqual(seen.puts, [{ ifMatch: '"1"', body: { title: 'Water the plants', body: 'Twice a week\nmore in summer', due: '2026-12-05', done: true } }]);
    assert.equal(await box().isChecked(), true);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.toggle), 'done', 'focus stays on the box');

    // Changed elsewhere between the app's read and its write: the row shows it as it is now.
    meanwhile = { title: 'Water the plants and the lawn' };
    await box().uncheck();
    await notes.getByTestId('status-notes').filter({ hasText: 'changed elsewhere' }).waitFor();
    assert.equal(seen.puts.length, 2);
    assert.equal(await row().locator('strong').textContent(), 'Water the plants and the lawn');
    assert.equal(await box().isChecked(), true, 'the box as it is now: nothing was changed');
    await screenshot(page, 'p03-box-changed-elsewhere');

    // Read-only: the box's state in words, no checkbox; the note says why.
    const chores = (await panel(page, 'chores')).node;
    assert.equal(await chores.locator('li strong').textContent(), 'Sweep');
    assert.equal(await chores.locator('li .meta').textContent(), 'Twice a week · due Dec 5, 2026 · not done');
    assert.equal(await chores.locator('input').count(), 0);
    assert.equal(await chores.getByTestId('readonly-chores').textContent(), 'Read-only: your account may view your chores but not change them.');
    assert.equal(await chores.getByRole('button', { name: /Add/ }).count(), 0);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('a field the service refuses is marked from its answer: the field it names, the entry number', async () => {
  const browser = await freshBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(stack.site);
    await logIn(stack, page, 'uma');
    await signedIn(page, 'Uma');
    const calendar = (await panel(page, 'calendar')).node;
    await calendar.getByRole('button', { name: 'Add event' }).click();
    await fillForm(page, 'calendar', {
      title: 'Review', start: localTime(2, 10), end: localTime(2, 11), attendees: 'ada@example.org, not-an-address',
    });
    await calendar.getByRole('button', { name: 'Save' }).click();
    // The real API: 400 {"field": "attendees", "index": 1, "rule": "email"}.
    const error = calendar.locator('[data-error-for="attendees"]');
    await error.waitFor();
    assert.equal(await error.textContent(), 'Entry 2 (“not-an-address”) is not an e-mail address.');
    assert.equal(await page.locator('#editor-calendar-attendees').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'editor-calendar-attendees');
    assert.equal(await page.locator('#editor-calendar-title').inputValue(), 'Review', 'the rest is kept');
    await screenshot(page, 'p04-entry-refused');

    // The field is the answer's `field`, whatever its words say; a field the form does not have
    // is a problem of the whole form, in the service's words.
    const answers = [
      { error: 'invalid_request', error_description: 'title "Review" is fine but start is not', field: 'start', rule: 'time' },
      { error: 'invalid_request', error_description: 'colour is not a colour', field: 'colour', rule: 'colour' },
    ];
    await browser.route((url) => url.origin === stack.api && url.pathname === '/calendar', (route) => {
      if (route.request().method() === 'OPTIONS') return preflight(route);
      if (route.request().method() !== 'POST') return route.fallback();
      return answerAs(route, 400, answers.shift());
    });
    await fillForm(page, 'calendar', { attendees: 'ada@example.org' });
    await calendar.getByRole('button', { name: 'Save' }).click();
    await calendar.locator('[data-error-for="start"]').waitFor();
    assert.equal(await calendar.locator('[data-error-for]').count(), 1, 'only the field the answer names');
    await calendar.getByRole('button', { name: 'Save' }).click();
    const problem = calendar.locator('[data-problem="invalid_request"]');
    await problem.waitFor();
    assert.equal(await problem.textContent(), 'The calendar service refused it: Colour is not a colour.');
    assert.equal(await calendar.locator('[data-error-for]').count(), 0);
  } finally {
    await browser.close();
  }
});

test('a boolean field of a real service is ticked in its row and saved', async () => {
  const services = await servicesOf(stack.site);
  const service = services.find((s) => s.fields.some((f) => f.type === 'boolean'));
  assert.ok(service, 'no service of config.services has a boolean field (tasks has `done`): this test has nothing to tick');
  const field = service.fields.find((f) => f.type === 'boolean');
  const browser = await freshBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(stack.site);
    await logIn(stack, page, 'sam');
    await signedIn(page, 'Sam');
    const node = (await panel(page, service.name)).node;
    // A new item with its required fields filled, by type.
    await node.getByRole('button', { name: `Add ${service.one}` }).click();
    const label = `Tick me ${Date.now()}`;
    const first = service.fields.find((f) => f.type === 'text' && f.required);
    const byType = { text: 'x', multiline: 'x', email: 'x@example.org', emails: 'x@example.org', time: localTime(1, 9), date: '2026-12-05' };
    for (const f of service.fields.filter((g) => g.required && g.type !== 'boolean')) {
      await fillForm(page, service.name, { [f.name]: f === first ? label : byType[f.type] });
    }
    await node.getByRole('button', { name: 'Save' }).click();
    await node.getByTestId(`status-${service.name}`).filter({ hasText: `Added “${label}”.` }).waitFor();
    const row = node.locator('li.saved', { hasText: label });
    const box = row.locator(`input[data-toggle="${field.name}"]`);
    assert.equal(await box.isChecked(), false);
    const put = page.waitForResponse((r) => r.request().method() === 'PUT' && new URL(r.url()).pathname.startsWith(`/${service.name}/`));
    await box.check();
    const answer = await put;
    assert.equal(answer.status(), 200);
    assert.equal((await answer.json())[field.name], true);
    await node.getByTestId(`status-${service.name}`).filter({ hasText: `Saved “${label}”` }).waitFor();
    assert.equal(await node.locator('li', { hasText: label }).locator(`input[data-toggle="${field.name}"]`).isChecked(), true);
  } finally {
    await browser.close();
  }
});
