// Not a test (no .test.mjs): `node site/tests/readme-shots.mjs` redraws the README's pictures
// (docs/screenshots/) from a fresh local stack, as a new user sees them: the login card, the
// app at 1280 px after sign-in, and the same on a phone. Needs what the browser tests need.
import { join } from 'node:path';

import { REPO, freshBrowser, startStack, strayText } from './harness.mjs';
import { logIn, panel, signedIn } from './steps.mjs';

const out = join(REPO, 'docs', 'screenshots');
const stack = await startStack({ users: ['dana'], sessionCheckSeconds: 600, name: 'readme-shots' });
try {
  const browser = await freshBrowser();
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(stack.site);
  await page.getByRole('button', { name: 'Log in' }).first().click();
  await page.waitForURL((url) => url.href.startsWith(stack.tenant));
  await page.getByLabel('Email').fill('dana@e2e.test');
  await page.screenshot({ path: join(out, 'login.png') });
  await page.goto(stack.site);
  await logIn(stack, page, 'dana');
  await signedIn(page, 'Dana');
  for (const id of ['contacts', 'calendar', 'tasks']) await panel(page, id);
  await page.screenshot({ path: join(out, 'app-1280.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('tab', { name: 'Calendar' }).click();
  await page.screenshot({ path: join(out, 'app-phone.png') });
  const stray = await strayText(page);
  if (stray.length) throw new Error(`stray text: ${stray.join('; ')}`);
  await browser.close();
} finally {
  await stack.stop();
}
console.log(`written: ${out}/login.png, app-1280.png, app-phone.png`);
