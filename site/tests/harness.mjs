// The local stack and headless Chromium for the end-to-end tests: real processes, real ports,
// nothing mocked. The stack is the project's own binary (`organizer serve`) with a copy of
// tenant.yaml whose site origins point at free ports, and a fresh state folder.
import { spawn, spawnSync } from 'node:child_process';
import { sign } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = resolve(process.env.E2E_ARTIFACTS || join(REPO, '.local', 'e2e-artifacts'));
export const PASSWORD = 'Correct-horse-e2e-1';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// Offline-safe: without these Chromium keeps dialling Google's hosts, which this network refuses.
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

function organizerBinary() {
  if (process.env.ORGANIZER_BIN) return process.env.ORGANIZER_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(REPO, 'target');
  return join(target, 'debug', 'organizer');
}

/** Fails with what to install when a part is missing: these tests never skip. */
export function requireTools() {
  const bin = organizerBinary();
  if (!existsSync(bin)) {
    throw new Error(`the organizer binary is missing at ${bin}: build it with \`cargo build -p organizer-local\` (make test does), or set ORGANIZER_BIN`);
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install it with \`apt-get install chromium\` (.ci/run does), or set CHROMIUM`);
  }
  if (!existsSync(join(REPO, 'site', 'node_modules', 'auth0-js', 'dist', 'auth0.min.js'))
    || !existsSync(join(REPO, 'site', 'node_modules', '@auth0', 'auth0-spa-js', 'dist', 'auth0-spa-js.production.js'))) {
    throw new Error('auth0-js or auth0-spa-js is not installed: run scripts/site-deps.sh');
  }
  return bin;
}

async function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/**
 * Starts the stack with one user per entry of `users` (email `<name>@e2e.test`; a name is an
 * Editor, `{ name, role }` has another role), so that each test has its own consents and
 * sessions. `siteHost` `127.0.0.1` puts the sites on another site than the tenant's
 * `localhost` (cross-site, as an app on its own domain is to Auth0); `editTenant` changes the
 * copy of tenant.yaml further (e.g. token lifetimes); `parameterOverrides` are the template's
 * (`['AuthorizerMode=jwt']`: the API behind API Gateway's JWT authorizer; by default the
 * template's Lambda authorizer). `dynamodb: true` runs the stack on DynamoDB Local (the endpoint
 * `make test` puts in ORGANIZER_TEST_DYNAMODB), with tables of this stack only. Returns URLs and
 * `stop()`.
 */
export async function startStack({ users, sessionCheckSeconds, siteHost = 'localhost', editTenant = (yaml) => yaml, name = 'stack', parameterOverrides = [], dynamodb = false }) {
  const bin = requireTools();
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'organizer-e2e-'));
  const state = join(dir, 'state');
  const [tenantPort, apiPort, sitePort, secondSitePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const site = `http://${siteHost}:${sitePort}`;
  const secondSite = `http://${siteHost}:${secondSitePort}`;
  const tenantFile = join(dir, 'tenant.yaml');
  const yaml = editTenant(readFileSync(join(REPO, 'tenant.yaml'), 'utf8')
    .replace(/http:\/\/localhost:3000(?![0-9])/g, site)
    .replace(/http:\/\/localhost:3002(?![0-9])/g, secondSite));
  if (!yaml.includes(site) || !yaml.includes(secondSite)) {
    throw new Error('tenant.yaml no longer lists http://localhost:3000 and http://localhost:3002 as SPA origins');
  }
  writeFileSync(tenantFile, yaml);

  for (const entry of users) {
    // A name (an Editor), or { name, role } for another role of tenant.yaml.
    const { name, role } = typeof entry === 'string' ? { name: entry, role: 'Organizer Editor' } : entry;
    const added = spawnSync(bin, ['users', 'add', '--email', `${name}@e2e.test`, '--name', name[0].toUpperCase() + name.slice(1),
      '--role', role, '--tenant-file', tenantFile, '--state-dir', state], {
      env: { ...process.env, ORGANIZER_PASSWORD: PASSWORD },
      encoding: 'utf8',
    });
    if (added.status !== 0) throw new Error(`organizer users add ${name}: ${added.stderr}`);
  }

  const store = dynamodb ? dynamodbArgs(bin, name) : [];
  const log = openSync(join(ARTIFACTS, `${name}.log`), 'w');
  const child = spawn(bin, [
    'serve',
    '--tenant-port', String(tenantPort),
    '--api-port', String(apiPort),
    '--site-port', String(sitePort),
    '--second-site-port', String(secondSitePort),
    '--tenant-file', tenantFile,
    '--state-dir', state,
    '--site-dir', join(REPO, 'site'),
    '--session-check-seconds', String(sessionCheckSeconds),
    '--site-host', siteHost,
    '--template', join(REPO, 'template.yaml'),
    ...(parameterOverrides.length ? ['--parameter-overrides', ...parameterOverrides] : []),
    ...store,
  ], { stdio: ['ignore', log, log], env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' } });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });

  const ready = async () => {
    for (let i = 0; i < 600; i++) {
      if (exited) throw new Error(`the stack exited (${JSON.stringify(exited)}); see ${join(ARTIFACTS, `${name}.log`)}`);
      try {
        const [a, b] = await Promise.all([fetch(`${site}/config.json`), fetch(`${secondSite}/config.json`)]);
        if (a.ok && b.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the stack did not answer within 60 s');
  };
  const stop = async () => {
    if (!exited) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(killed);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await ready();
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    tenant: `http://localhost:${tenantPort}`,
    api: `http://localhost:${apiPort}`,
    site,
    secondSite,
    stop,
    resign: (token, edit) => resign(state, token, edit),
  };
}

/** `--store dynamodb` on DynamoDB Local, with a new table per service (from `organizer services`). */
function dynamodbArgs(bin, name) {
  const endpoint = process.env.ORGANIZER_TEST_DYNAMODB;
  if (!endpoint) {
    throw new Error('DynamoDB Local is not running for this test: run `make test`, which installs and starts it and sets ORGANIZER_TEST_DYNAMODB');
  }
  const listed = spawnSync(bin, ['services', '--json'], { encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`organizer services --json: ${listed.stderr}`);
  const suffix = `${name}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return ['--store', 'dynamodb', '--endpoint-url', endpoint,
    ...JSON.parse(listed.stdout).flatMap((s) => ['--table', `${s.name}=e2e-${s.name}-${suffix}`])];
}

/**
 * `token` with its claims changed by `edit` and signed again with the tenant's active key (from
 * its state folder): a token the tenant could have issued, such as one that has expired.
 */
function resign(state, token, edit) {
  const { order } = JSON.parse(readFileSync(join(state, 'keys', 'manifest.json'), 'utf8'));
  const pem = readFileSync(join(state, 'keys', order[0]), 'utf8');
  const kid = order[0].replace(/\.pem$/, '');
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64(edit(claims))}`;
  return `${input}.${sign('sha256', Buffer.from(input), pem).toString('base64url')}`;
}

/** Chromium on a profile folder of its own, removed when the browser closes. */
async function browserWithProfile(profile) {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1100, height: 800 },
  });
  context.setDefaultTimeout(20_000);
  // Best effort: Chromium may still be writing its profile as it exits.
  context.once('close', () => {
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      // left in the temp folder
    }
  });
  return context;
}

/** A browser with a fresh profile (its own --user-data-dir), as a new user would have. */
export async function freshBrowser() {
  return browserWithProfile(mkdtempSync(join(tmpdir(), 'organizer-chromium-')));
}

/**
 * A browser that allows third-party cookies, as a default desktop Chrome does: a persistent
 * profile whose preferences say so (see ../shared/reference/browser-testing.md). There the
 * tenant's `SameSite=None; Secure` session cookie reaches the cross-site iframe.
 */
export async function browserAllowingThirdPartyCookies() {
  const profile = mkdtempSync(join(tmpdir(), 'organizer-chromium-3p-'));
  mkdirSync(join(profile, 'Default'), { recursive: true });
  writeFileSync(join(profile, 'Default', 'Preferences'),
    JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }));
  return browserWithProfile(profile);
}

/**
 * An ordinary (incognito-like) Playwright context: Chromium blocks third-party cookies there,
 * so the tenant's `SameSite=None` cookie is not sent in a cross-site iframe, as in Safari,
 * Brave, Firefox's strict mode or a private window. Closing the context closes its browser.
 */
export async function browserBlockingThirdPartyCookies() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  context.setDefaultTimeout(20_000);
  context.once('close', () => { browser.close().catch(() => {}); });
  return context;
}

/**
 * Text a user would see that no view put there on purpose: words sitting directly in a layout
 * container (the `null` that `replaceChildren(null)` writes), or a value the code failed to
 * turn into words (`undefined`, `null`, `NaN`, `[object Object]`) anywhere on the page. Pages of
 * the dev tenant are checked too.
 */
export async function strayText(page) {
  return page.evaluate(() => {
    const found = [];
    const containers = document.querySelectorAll('body, header, main, #app, #account, section, .panels, form, ul, ol');
    for (const node of containers) {
      for (const child of node.childNodes) {
        if (child.nodeType === Node.TEXT_NODE && child.textContent.trim()) found.push(`"${child.textContent.trim()}" directly in <${node.tagName.toLowerCase()}>`);
      }
    }
    for (const line of (document.body?.innerText || '').split('\n')) {
      if (/(^|\s)(undefined|null|NaN)(\s|$)|\[object Object\]/.test(line)) found.push(`"${line.trim()}"`);
    }
    return found;
  });
}

/**
 * Saves a screenshot of the page as it is, after checking it shows no stray text (see
 * strayText): every screenshot the tests write has been read for it.
 */
export async function screenshot(page, name) {
  const stray = await strayText(page);
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  if (stray.length) throw new Error(`${name}: stray text on the page: ${stray.join('; ')}`);
}

/** The page's visible text, lines trimmed, empty lines dropped: what a user reads. */
export async function visibleText(page) {
  const text = await page.evaluate(() => document.body.innerText);
  return text.split('\n').map((l) => l.trim()).filter(Boolean);
}
