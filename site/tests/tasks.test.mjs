// The tasks service end to end in both apps (implicit on one port, code + PKCE on the other),
// on DynamoDB Local: a task added with a due date and notes on two lines lands in its place in
// the order, is ticked done, leaves the open list for the done one, is edited and deleted.
// Nothing of tasks is written in the app: its panel comes from config.json.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';

import { ARTIFACTS, freshBrowser, startStack } from './harness.mjs';
import { fillForm, logIn, panel, signedIn, watchProblems } from './steps.mjs';

let stack;

before(async () => {
  stack = await startStack({ users: ['tia', 'cody'], sessionCheckSeconds: 900, name: 'stack-tasks', dynamodb: true });
});

after(async () => {
  await stack?.stop();
});

/** YYYY-MM-DD of today + `days`, in UTC (as the seeded tasks are dated). */
function day(days) {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

const titles = async (node) => node.locator('ul.items > li strong').allTextContents();

for (const [app, user, site] of [['implicit', 'tia', () => stack.site], ['code', 'cody', () => stack.secondSite]]) {
  test(`tasks in the ${app} app on DynamoDB Local: add with a due date, in order, done, edited, deleted`, async () => {
    const browser = await freshBrowser();
    try {
      const page = await browser.newPage();
      const problems = watchProblems(page);
      await page.goto(site());
      await logIn(stack, page, user);
      await signedIn(page);
      const node = (await panel(page, 'tasks')).node;
      const seeded = await titles(node);
      // Open tasks by due date, undated last: the seed's overdue passport first.
      assert.equal(seeded[0], 'Renew the passport', seeded.join(' | '));
      assert.ok(seeded.indexOf('Book the dentist') < seeded.indexOf('Pay the electricity bill'), seeded.join(' | '));
      assert.ok(!seeded.includes('File the expense report'), 'done tasks are not listed by default');

      // Added for tomorrow: after the task already due tomorrow, before the one due in three days.
      const title = `Water the plants (${app})`;
      await node.getByRole('button', { name: 'Add task' }).click();
      await fillForm(page, 'tasks', { title, notes: 'The ferns first.\nThen the basil.', due: day(1) });
      await node.getByRole('button', { name: 'Save' }).click();
      await node.getByTestId('status-tasks').filter({ hasText: `Added “${title}”.` }).waitFor();
      const listed = await titles(node);
      const at = listed.indexOf(title);
      assert.ok(at > listed.indexOf('Book the dentist') && at < listed.indexOf('Pay the electricity bill'), listed.join(' | '));
      await page.screenshot({ path: join(ARTIFACTS, `tasks-${app}-added.png`), fullPage: true });

      // Done: ticked in its row, saved; the done list has it, the open one no longer.
      const row = node.locator('li', { hasText: title });
      const put = page.waitForResponse((r) => r.request().method() === 'PUT' && new URL(r.url()).pathname.startsWith('/tasks/'));
      await row.locator('input[data-toggle="done"]').check();
      assert.equal((await put).status(), 200);
      await node.getByTestId('status-tasks').filter({ hasText: `Saved “${title}”` }).waitFor();
      await node.locator('select').selectOption('done');
      await node.locator('li', { hasText: title }).waitFor();
      assert.ok((await titles(node)).includes('File the expense report'));
      await node.locator('select').selectOption('open');
      await node.locator('li', { hasText: 'Renew the passport' }).waitFor();
      assert.ok(!(await titles(node)).includes(title), 'a done task leaves the open list');

      // Edited in the done list: its notes keep their two lines.
      await node.locator('select').selectOption('all');
      await node.locator('li', { hasText: title }).getByRole('button', { name: /^Edit/ }).click();
      assert.equal(await page.locator('#editor-tasks-notes').inputValue(), 'The ferns first.\nThen the basil.');
      await fillForm(page, 'tasks', { notes: 'All of them.' });
      await node.getByRole('button', { name: 'Save' }).click();
      await node.getByTestId('status-tasks').filter({ hasText: `Saved “${title}”` }).waitFor();

      // Deleted, after the row's own confirmation.
      await node.locator('li', { hasText: title }).getByRole('button', { name: /^Delete/ }).click();
      await node.locator('[data-confirm="delete"]').getByRole('button', { name: 'Delete' }).click();
      await node.getByTestId('status-tasks').filter({ hasText: `Deleted “${title}”.` }).waitFor();
      assert.ok(!(await titles(node)).includes(title));
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
}
