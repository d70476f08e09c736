// Steps the browser tests share: what a user does and what they see, against one stack.
import assert from 'node:assert/strict';

import { PASSWORD } from './harness.mjs';

export async function signedIn(page, name) {
  await page.locator('body[data-state="signed-in"]').waitFor();
  if (name) assert.equal(await page.getByTestId('user-name').textContent(), name);
}

export async function signedOut(page) {
  await page.locator('body[data-state="signed-out"]').waitFor();
  await page.getByRole('button', { name: 'Log in' }).first().waitFor();
}

/** Clicks Log in (or `button`), fills the tenant's login page, and answers its consent page. */
export async function logIn(stack, page, user, { consent = 'Accept', expectLogin = true, button = 'Log in' } = {}) {
  await page.getByRole('button', { name: button }).first().click();
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

/** A panel once it is no longer loading, and its state. */
export async function panel(page, id) {
  const node = page.locator(`#panel-${id}`);
  await node.locator(':scope:not([data-state="loading"])').waitFor();
  return { node, state: await node.getAttribute('data-state') };
}

/** config.json's `services` as a site serves them: what the app draws its panels from. */
export async function servicesOf(site) {
  const response = await fetch(`${site}/config.json`);
  assert.equal(response.status, 200, `${site}/config.json`);
  return (await response.json()).services;
}

/** The scopes of every service: `read`, `write` or both, in config.json's order. */
export function scopesOf(services, ...kinds) {
  return (kinds.length ? kinds : ['read', 'write']).flatMap((kind) => services.map((s) => s.scopes[kind].name));
}

/** The same app with some config.json keys changed, as an operator would configure it. */
export async function overrideConfig(context, site, patch) {
  await context.route(`${site}/config.json`, async (route) => {
    const response = await route.fetch();
    const config = { ...(await response.json()), ...patch };
    for (const [key, value] of Object.entries(patch)) if (value === undefined) delete config[key];
    await route.fulfill({ response, json: config });
  });
}

/** Collects Content-Security-Policy violations and page errors: the app must cause none. */
export function watchProblems(page) {
  const problems = [];
  page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

/** Fills a panel's open form: { field: value }. */
export async function fillForm(page, panelId, values) {
  for (const [name, value] of Object.entries(values)) {
    await page.locator(`#editor-${panelId}-${name}`).fill(value);
  }
}

/** Waits until `predicate()` holds, polling every 100 ms for up to `ms`. */
export async function eventually(predicate, what, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`never happened: ${what}`);
}

/** A datetime-local value `days` from now at `hour`:`minute`, in the browser's zone (UTC here). */
export function localTime(days, hour, minute = 0) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(hour)}:${pad(minute)}`;
}

/** The scopes the page says the app may use ("What this app may do"), as scope names. */
export async function grantedScopes(page) {
  return page.getByTestId('scopes').locator('li').evaluateAll((items) => items.map((li) => li.dataset.scope));
}
