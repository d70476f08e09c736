// Organizer: one sign-in, one access token, one panel per service of the API, read and write.
// The entry module of both pages (index.html, callback.html): it reads config.json, loads the
// one sign-in library the configured flow needs, and starts the session.
//
// Modules, each for one concern: dom.js (drawing), services.js (config.json's services),
// auth.js (the two sign-in flows), session.js (tokens, renewal, poll, login and logout),
// api.js (calls with the token), fields.js (field types), panels.js (a service's panel and
// list), range.js (a list by day and week), editor.js (the add/edit form), row-actions.js
// (delete, boxes in a row), views.js (the pages). What the app knows of the services comes
// from config.json alone.
import * as flows from './auth.js';
import { readServices, everyScope } from './services.js';
import { start as startSession } from './session.js';
import { setState } from './dom.js';
import { showFatal, showSignedIn, showSignedOut } from './views.js';

const DEFAULT_SESSION_CHECK_SECONDS = 900;
const DEFAULT_PAGE_SIZE = 20;
/** Each flow as the small print under the app's name says it. */
const FLOW_NAMES = {
  implicit: 'Implicit grant, renewed silently',
  code: 'Authorization code + PKCE, rotating refresh tokens',
};
/** The sign-in libraries, from the site: classic scripts that set window.auth0. */
const LIBRARIES = {
  implicit: { src: '/vendor/auth0.min.js', name: 'auth0-js', ready: () => window.auth0 && window.auth0.WebAuth },
  code: { src: '/vendor/auth0-spa-js.production.js', name: 'auth0-spa-js', ready: () => window.auth0 && window.auth0.Auth0Client },
};

function absoluteHttpUrl(value) {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

async function loadConfig() {
  const response = await fetch('/config.json', { cache: 'no-store' });
  const body = await response.json().catch(() => null);
  if (!response.ok || !body || typeof body !== 'object') {
    throw new Error(`config.json could not be loaded (HTTP ${response.status}).`);
  }
  for (const key of ['domain', 'clientID', 'audience', 'apiBaseUrl']) {
    if (typeof body[key] !== 'string' || !body[key]) throw new Error(`config.json has no "${key}".`);
  }
  if (!absoluteHttpUrl(body.apiBaseUrl)) throw new Error('config.json: "apiBaseUrl" must be an absolute http(s) URL.');
  const flow = body.flow === undefined ? 'implicit' : body.flow;
  if (!Object.hasOwn(LIBRARIES, flow)) throw new Error('config.json: "flow" must be "implicit" or "code".');
  const cacheLocation = body.cacheLocation === undefined ? 'memory' : body.cacheLocation;
  if (!['memory', 'localstorage'].includes(cacheLocation)) throw new Error('config.json: "cacheLocation" must be "memory" or "localstorage".');
  // The API's DPoP mode (RFC 9449): off, allowed (DPoP-bound or bearer tokens) or required.
  const dpop = body.dpop === undefined ? 'off' : body.dpop;
  if (!['off', 'allowed', 'required'].includes(dpop)) throw new Error('config.json: "dpop" must be "off", "allowed" or "required".');
  const services = readServices(body.services);
  const seconds = Number(body.sessionCheckSeconds);
  const pageSize = Number(body.pageSize);
  return {
    ...body,
    flow,
    dpop,
    cacheLocation,
    services,
    scope: typeof body.scope === 'string' && body.scope ? body.scope : everyScope(services),
    redirectUri: typeof body.redirectUri === 'string' && body.redirectUri ? body.redirectUri : `${window.location.origin}/callback.html`,
    logoutReturnTo: typeof body.logoutReturnTo === 'string' && body.logoutReturnTo ? body.logoutReturnTo : window.location.origin,
    sessionCheckSeconds: Number.isFinite(seconds) && seconds >= 1 ? seconds : DEFAULT_SESSION_CHECK_SECONDS,
    pageSize: Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= 50 ? pageSize : DEFAULT_PAGE_SIZE,
  };
}

/** The flow's library, from the site (script-src 'self'): only the one this flow needs, since
 * both set window.auth0. */
function loadLibrary(library) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = library.src;
    script.addEventListener('load', () => (library.ready() ? resolve() : reject(new Error('not loaded'))));
    script.addEventListener('error', () => reject(new Error('not loaded')));
    document.head.append(script);
  });
}

async function start() {
  setState('loading');
  let config;
  try {
    config = await loadConfig();
  } catch (err) {
    showFatal('Organizer is not configured', `${err.message} See docs/spa.md, "config.json".`);
    return;
  }
  if (config.dpop === 'required' && config.flow === 'implicit') {
    // auth0-js's implicit grant gets tokens in the URL fragment, with no proof of a key: the
    // API would refuse every one of them.
    showFatal('This app cannot be used with this API',
      'The API accepts only tokens bound to a key the browser holds (DPoP), and this app signs in with the '
      + 'implicit grant, which cannot get one. Use the app that signs in with a code and PKCE, or set the API\'s '
      + 'DPoP mode to "allowed" (docs/dpop.md).');
    return;
  }
  const library = LIBRARIES[config.flow];
  // Which of the two apps this is, in small print: they look the same otherwise.
  const label = document.getElementById('flow-label');
  if (label) label.textContent = `${FLOW_NAMES[config.flow]}${config.flow === 'code' && config.dpop !== 'off' ? ', DPoP-bound tokens' : ''} · ${library.name}`;
  try {
    await loadLibrary(library);
  } catch {
    showFatal(`${library.name} is missing`, `The site could not load ${library.src}. Install it with scripts/site-deps.sh (make run does).`);
    return;
  }
  let flow;
  try {
    flow = flows[config.flow](config);
  } catch {
    showFatal('Sign-in cannot start', `${library.name} refused the configuration in config.json.`);
    return;
  }
  await startSession(config, flow, { signedIn: showSignedIn, signedOut: showSignedOut });
}

// A module runs once the page is parsed (modules are deferred): the page is there.
start();
