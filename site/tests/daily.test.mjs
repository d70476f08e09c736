// The app as a person uses it every day: the calendar by day and by week, contacts found by
// typing, messages that go away, Escape, what the app may do folded away, one verb for logging
// in, a phone's tabs, and a user who has nothing yet. Screenshots at 1280 and 360 px.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { freshBrowser, screenshot, startStack, visibleText } from './harness.mjs';
import {
  eventually, fillForm, grantedScopes, localTime, logIn, panel, scopesOf, servicesOf, signedIn, watchProblems,
} from './steps.mjs';

let stack;

before(async () => {
  stack = await startStack({ users: ['dana', 'erin', 'fern'], sessionCheckSeconds: 900, name: 'stack-daily' });
});

after(async () => {
  await stack?.stop();
});

/** The day sections of the calendar: each heading's words and the titles under it. */
async function days(node) {
  return node.locator('section.day').evaluateAll((sections) => sections.map((s) => ({
    heading: s.querySelector('.day-title').innerText.replace(/\s+/g, ' ').trim(),
    titles: [...s.querySelectorAll('li strong')].map((t) => t.textContent),
    today: s.classList.contains('today'),
  })));
}

const titles = (node) => node.locator('ul.items > li strong').allTextContents();

/** Signs `user` in at `width` px and returns the page. */
async function signedInAt(browser, user, width) {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height: 800 });
  await page.goto(stack.site);
  await logIn(stack, page, user);
  await signedIn(page);
  return page;
}

test('the calendar by day and by week: Today and Tomorrow, last week, next week, back to this week', async () => {
  const browser = await freshBrowser();
  try {
    const page = await signedInAt(browser, 'dana', 1280);
    const problems = watchProblems(page);
    let calendar = (await panel(page, 'calendar')).node;
    // Today and tomorrow have something on, whatever day of the week the test runs.
    for (const [title, start, end] of [['Breakfast with Lin', localTime(0, 7), localTime(0, 8)], ['Call the plumber', localTime(1, 9), localTime(1, 10)]]) {
      await calendar.getByRole('button', { name: 'Add event' }).click();
      await fillForm(page, 'calendar', { title, start, end });
      await calendar.getByRole('button', { name: 'Save' }).click();
      await calendar.getByTestId('status-calendar').filter({ hasText: `Added “${title}”.` }).waitFor();
    }
    // What just happened is news for a few seconds, then the line is quiet again.
    await eventually(async () => (await calendar.getByTestId('status-calendar').textContent()) === '', 'the "Added" message clears', 15_000);

    // Upcoming: under a heading per day, today's first, each event's hours without its date.
    let shown = await days(calendar);
    assert.match(shown[0].heading, /^Today \S/, JSON.stringify(shown[0]));
    assert.ok(shown[0].today && shown[0].titles.includes('Breakfast with Lin'), JSON.stringify(shown[0]));
    assert.match(shown[1].heading, /^Tomorrow \S/, JSON.stringify(shown[1]));
    assert.ok(shown[1].titles.includes('Call the plumber'), JSON.stringify(shown[1]));
    const hours = await calendar.locator('li', { hasText: 'Breakfast with Lin' }).locator('.meta').textContent();
    assert.doesNotMatch(hours, /\d{4}/, `no year in an event's line under its day: ${hours}`);
    assert.equal(new Set(shown.map((d) => d.heading)).size, shown.length, 'one heading per day');
    await screenshot(page, 'd01-calendar-upcoming-1280');

    // The week: seven days from Monday, empty ones said so; today marked.
    await calendar.locator('[data-range="week"]').click();
    calendar = (await panel(page, 'calendar')).node;
    const thisWeek = await calendar.getByTestId('week-calendar').textContent();
    shown = await days(calendar);
    assert.equal(shown.length, 7, JSON.stringify(shown.map((d) => d.heading)));
    assert.match(shown[0].heading, /Monday/);
    assert.ok(shown.some((d) => d.today && d.titles.includes('Breakfast with Lin')));
    assert.equal(await calendar.locator('[data-week="this"]').count(), 0, 'no "This week" on this week');

    // Last week: its past events (the sample data has last week's working days).
    await calendar.locator('[data-week="previous"]').click();
    await eventually(async () => (await calendar.getByTestId('week-calendar').textContent()) !== thisWeek, 'the week label moves');
    calendar = (await panel(page, 'calendar')).node;
    shown = await days(calendar);
    assert.equal(shown.length, 7);
    assert.ok(!shown.some((d) => d.today), 'today is not last week');
    assert.ok(shown.flatMap((d) => d.titles).length >= 5, `last week's events: ${JSON.stringify(shown)}`);
    await screenshot(page, 'd02-calendar-last-week-1280');

    // Next week and back: "This week" returns to it.
    await calendar.locator('[data-week="next"]').click();
    await calendar.locator('[data-week="next"]').click();
    await eventually(async () => !shown.some((d) => d.titles.length) || JSON.stringify(await days(calendar)) !== JSON.stringify(shown), 'two weeks on');
    await calendar.locator('[data-week="this"]').click();
    await eventually(async () => (await calendar.getByTestId('week-calendar').textContent()) === thisWeek, 'back on this week');
    assert.equal(await calendar.locator('[data-week="this"]').count(), 0);

    // Upcoming again.
    await calendar.locator('[data-range="upcoming"]').click();
    await eventually(async () => /^Today /.test((await days(calendar))[0]?.heading || ''), 'upcoming from today');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('contacts found by typing (name, company, e-mail, any case); Escape closes a form; phone numbers whole', async () => {
  const browser = await freshBrowser();
  try {
    const page = await signedInAt(browser, 'fern', 1280);
    const problems = watchProblems(page);
    const contacts = (await panel(page, 'contacts')).node;
    const search = contacts.getByRole('searchbox', { name: 'Search contacts' });
    const all = await titles(contacts);
    for (const [words, expected] of [['lovelace', ['Ada Lovelace']], ['ANALYTICAL ENGINES', ['Ada Lovelace']], ['grace.hopper@', ['Grace Hopper']]]) {
      await search.fill(words);
      await eventually(async () => JSON.stringify(await titles(contacts)) === JSON.stringify(expected), `"${words}" finds ${expected}`);
    }
    await screenshot(page, 'd03-contacts-search-1280');
    await search.fill('zzzz');
    await contacts.getByTestId('empty-contacts').filter({ hasText: 'No contacts match “zzzz”.' }).waitFor();
    await search.fill('');
    await eventually(async () => JSON.stringify(await titles(contacts)) === JSON.stringify(all), 'every contact again');

    // A phone number is never broken across two lines.
    const phones = contacts.locator('.meta .whole');
    assert.ok(await phones.count() >= 10, 'phone numbers are marked whole');
    const broken = await phones.evaluateAll((spans) => spans.filter((s) => s.getClientRects().length !== 1 || s.getBoundingClientRect().height > 30).map((s) => s.textContent));
    assert.deepEqual(broken, []);

    // Escape closes the form; focus goes back to the button that opened it.
    await contacts.getByRole('button', { name: 'Add contact' }).click();
    await page.locator('#editor-contacts-name').waitFor();
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('#editor-contacts').count(), 0, 'Escape closed the form');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'add');

    // What the app may do: folded under the panels, in words; the scopes only as data.
    const details = page.getByTestId('grants');
    assert.equal(await details.getAttribute('open'), null, 'folded by default');
    const text = (await visibleText(page)).join('\n');
    assert.doesNotMatch(text, /read:|write:|offline_access|openid/, 'no raw scope on the page');
    assert.doesNotMatch(text, /Sign in|Sign-in|Sign out/, 'one verb: log in, log out');
    await details.locator('summary').click();
    const words = await page.getByTestId('scopes').locator('li').allTextContents();
    assert.ok(words.includes('Read your contacts') && words.includes('Add, change and delete your calendar events'), words.join(' | '));
    assert.deepEqual((await grantedScopes(page)).filter((s) => s.includes(':')).sort(), scopesOf(await servicesOf(stack.site)).sort());
    assert.match(await page.getByTestId('flow-label').textContent(), /^Implicit grant/);
    await screenshot(page, 'd04-what-this-app-may-do-1280');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('on a phone the panels are tabs; a user with nothing yet sees each empty list said so', async () => {
  const browser = await freshBrowser();
  try {
    const page = await signedInAt(browser, 'erin', 360);
    const problems = watchProblems(page);
    // Empty everything through the API, with the token the app itself sends.
    const token = await new Promise((resolve) => {
      page.on('request', (r) => { if (r.url().startsWith(stack.api) && r.headers().authorization) resolve(r.headers().authorization); });
      page.reload();
    });
    await signedIn(page);
    const services = await servicesOf(stack.site);
    for (const s of services) {
      for (;;) {
        const list = await (await fetch(`${stack.api}/${s.name}?limit=50${s.name === 'tasks' ? '&status=all' : ''}`, { headers: { authorization: token } })).json();
        if (!list.items.length) break;
        for (const item of list.items) {
          const gone = await fetch(`${stack.api}/${s.name}/${item.id}`, { method: 'DELETE', headers: { authorization: token } });
          assert.equal(gone.status, 204);
        }
      }
    }
    await page.reload();
    await signedIn(page);

    // One panel at a time behind tabs; the first is shown.
    const tabs = page.getByRole('tab');
    assert.deepEqual(await tabs.allTextContents(), services.map((s) => s.title));
    assert.ok(await page.locator('#panel-contacts').isVisible());
    assert.equal(await page.locator('#panel-calendar').isVisible(), false, 'the calendar is behind its tab');
    await page.getByTestId('empty-contacts').filter({ hasText: 'No contacts yet.' }).waitFor();
    await screenshot(page, 'd05-empty-contacts-360');

    await page.getByRole('tab', { name: 'Calendar' }).click();
    assert.equal(await page.getByRole('tab', { name: 'Calendar' }).getAttribute('aria-selected'), 'true');
    assert.equal(await page.locator('#panel-contacts').isVisible(), false);
    await page.getByTestId('empty-calendar').filter({ hasText: 'Nothing on your calendar from today on.' }).waitFor();
    await page.locator('#panel-calendar [data-range="week"]').click();
    await eventually(async () => (await page.locator('#panel-calendar .free').count()) === 7, 'a week of seven free days');
    await screenshot(page, 'd06-empty-week-360');

    await page.getByRole('tab', { name: 'Calendar' }).focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getByRole('tab', { name: 'Tasks' }).getAttribute('aria-selected'), 'true', 'arrow keys move between tabs');
    await page.getByTestId('empty-tasks').filter({ hasText: 'Nothing to do.' }).waitFor();
    await screenshot(page, 'd07-empty-tasks-360');
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    assert.ok(height < 1200, `an empty app fits about one phone screen: ${height} px`);

    // The same user at 1280 px: side by side, no tabs.
    await page.setViewportSize({ width: 1280, height: 800 });
    assert.equal(await tabs.first().isVisible(), false, 'no tabs on a wide screen');
    for (const s of services) assert.ok(await page.locator(`#panel-${s.name}`).isVisible(), s.name);
    await screenshot(page, 'd08-empty-1280');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
