// Organizer: one sign-in (implicit grant with auth0-js), one access token, two APIs.
//
// The token lives in this closure only: never in localStorage, sessionStorage or a cookie, so
// a reload signs in again silently with checkSession (web_message + prompt=none) while the
// authorization server's session lasts. Everything the page shows that comes from outside is
// written with textContent, never parsed as HTML.
'use strict';

(() => {
  /** Each panel is one microservice behind the one logical API, with the scope it needs. */
  const PANELS = [
    { id: 'contacts', title: 'Contacts', path: '/contacts', scope: 'read:contacts', what: 'contacts', none: 'No contacts yet.', render: contactItem },
    { id: 'calendar', title: 'Calendar', path: '/calendar', scope: 'read:calendar', what: 'calendar', none: 'Nothing on your calendar from today on.', render: eventItem, query: upcoming },
  ];
  const PAGE_SIZE = 20;

  /** The calendar shows what is ahead: events starting from the beginning of today (UTC). */
  function upcoming() {
    const today = new Date();
    today.setUTCHours(0, 0, 0, 0);
    return { from: today.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }

  /** Renew this long before the token expires, so calls never race its expiry. */
  const RENEW_EARLY_MS = 60_000;
  const DEFAULT_SESSION_CHECK_SECONDS = 900;
  const DEFAULT_SCOPE = 'openid profile email read:contacts read:calendar';

  const session = { accessToken: null, expiresAt: 0, scopes: [], profile: null };
  let config = null;
  let webAuth = null;
  let renewTimer = null;
  let inFlightCheck = null;

  // ---- small DOM helpers ---------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'onclick') node.addEventListener('click', value);
      else if (key === 'class') node.className = value;
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const main = () => document.getElementById('app');
  const account = () => document.getElementById('account');

  function setState(state) {
    document.body.dataset.state = state;
    main().setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
  }

  // ---- views ---------------------------------------------------------------------------

  function showFatal(title, detail) {
    setState('error');
    account().replaceChildren();
    main().replaceChildren(
      h('section', { class: 'card notice error', role: 'alert' }, h('h2', {}, title), h('p', {}, detail)),
    );
  }

  function showSignedOut(notice) {
    setState('signed-out');
    account().replaceChildren(h('button', { type: 'button', class: 'primary', onclick: () => login() }, 'Log in'));
    main().replaceChildren(
      notice
        ? h('section', { class: `card notice ${notice.kind}`, role: notice.kind === 'error' ? 'alert' : 'status', 'data-notice': notice.code },
            h('h2', {}, notice.title), h('p', {}, notice.text))
        : null,
      h('section', { class: 'card intro' },
        h('h2', {}, 'Your contacts and calendar, one sign-in'),
        h('p', {}, 'Organizer reads your contacts and your calendar from two services that share one sign-in. '
          + 'Log in to see them; you will be asked to allow Organizer to read them the first time.'),
        h('button', { type: 'button', class: 'primary', onclick: () => login() }, 'Log in')),
    );
  }

  function showSignedIn() {
    setState('signed-in');
    const who = session.profile || {};
    account().replaceChildren(
      h('span', { class: 'who', 'data-testid': 'user-name' }, who.name || who.email || who.sub || 'Signed in'),
      h('button', { type: 'button', onclick: () => logout() }, 'Log out'),
    );
    main().replaceChildren(
      h('section', { class: 'card grants', 'aria-labelledby': 'grants-title' },
        h('h2', { id: 'grants-title' }, 'Permissions granted to Organizer'),
        session.scopes.length
          ? h('ul', { class: 'scopes', 'data-testid': 'scopes' }, session.scopes.map((s) => h('li', {}, s)))
          : h('p', {}, 'None.')),
      h('div', { class: 'panels' }, PANELS.map((panel) => h('section', {
        class: 'card panel', id: `panel-${panel.id}`, 'aria-labelledby': `title-${panel.id}`, 'data-state': 'loading',
      }, h('h2', { id: `title-${panel.id}` }, panel.title), h('p', { class: 'status', role: 'status' }, 'Loading…')))),
    );
    for (const panel of PANELS) loadPanel(panel);
  }

  function panelNode(panel) {
    return document.getElementById(`panel-${panel.id}`);
  }

  function fillPanel(panel, state, ...content) {
    const node = panelNode(panel);
    if (!node) return;
    node.dataset.state = state;
    node.replaceChildren(h('h2', { id: `title-${panel.id}` }, panel.title), ...content.filter(Boolean));
  }

  function contactItem(c) {
    return h('li', {},
      h('strong', {}, c.name),
      h('span', { class: 'meta' }, [c.company, c.email, c.phone].filter(Boolean).join(' · ')));
  }

  const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  function eventItem(e) {
    const start = new Date(e.start);
    const end = new Date(e.end);
    const range = Number.isNaN(start.getTime()) ? e.start : `${when.format(start)} – ${when.format(end)}`;
    return h('li', {},
      h('strong', {}, e.title),
      h('span', { class: 'meta' }, [range, e.location].filter(Boolean).join(' · ')));
  }

  // ---- the APIs ------------------------------------------------------------------------

  async function loadPanel(panel, cursor, items = []) {
    const url = new URL(panel.path, config.apiBaseUrl);
    for (const [key, value] of Object.entries(panel.query ? panel.query() : {})) url.searchParams.set(key, value);
    url.searchParams.set('limit', String(PAGE_SIZE));
    if (cursor) url.searchParams.set('cursor', cursor);
    let response;
    try {
      response = await callApi(url);
    } catch (err) {
      if (err && err.signedOut) return;
      fillPanel(panel, 'error',
        h('p', { class: 'status error', role: 'alert' }, `Could not reach the ${panel.what} service (${url.origin}).`),
        h('button', { type: 'button', onclick: () => loadPanel(panel) }, 'Retry'));
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      const all = items.concat(Array.isArray(body.items) ? body.items : []);
      if (all.length === 0) {
        fillPanel(panel, 'empty', h('p', { class: 'status' }, panel.none));
        return;
      }
      fillPanel(panel, 'ready',
        h('ul', { class: 'items' }, all.map(panel.render)),
        body.next ? h('button', { type: 'button', onclick: () => loadPanel(panel, body.next, all) }, 'Show more') : null);
      return;
    }
    if (response.status === 403 && body.error === 'insufficient_scope') {
      fillPanel(panel, 'forbidden',
        h('p', { class: 'status error', role: 'alert', 'data-missing-scope': panel.scope },
          `Missing permission: ${panel.scope}. This sign-in does not allow Organizer to read your ${panel.what}.`),
        h('button', { type: 'button', onclick: () => login({ prompt: 'consent', scope: withScope(panel.scope) }) }, `Allow ${panel.what} access`));
      return;
    }
    const code = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
    fillPanel(panel, 'error',
      h('p', { class: 'status error', role: 'alert' },
        `The ${panel.what} service answered ${response.status} (${code})`
        + (typeof body.error_description === 'string' ? `: ${body.error_description}` : '.')),
      h('button', { type: 'button', onclick: () => loadPanel(panel) }, 'Retry'));
  }

  /** GET with the bearer token; an expired or rejected token is renewed once, silently. */
  async function callApi(url) {
    if (Date.now() > session.expiresAt - RENEW_EARLY_MS) await renewOrSignOut();
    const send = () => fetch(url, {
      headers: { Authorization: `Bearer ${session.accessToken}` },
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    const response = await send();
    if (response.status !== 401) return response;
    await renewOrSignOut();
    return send();
  }

  // ---- tokens and the session ----------------------------------------------------------

  function decodeJwtPayload(token) {
    try {
      const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
    } catch {
      return {};
    }
  }

  /** Takes a verified auth0-js result (parseHash or checkSession). */
  function acceptTokens(result) {
    const claims = decodeJwtPayload(result.accessToken);
    const scope = typeof claims.scope === 'string' ? claims.scope : (result.scope || '');
    const previousSub = session.profile && session.profile.sub;
    session.accessToken = result.accessToken;
    session.expiresAt = Date.now() + (Number(result.expiresIn) || 0) * 1000;
    session.scopes = scope.split(' ').filter((s) => s && !['openid', 'profile', 'email'].includes(s));
    session.profile = result.idTokenPayload || { sub: claims.sub };
    clearTimeout(renewTimer);
    const delay = Math.max(session.expiresAt - Date.now() - RENEW_EARLY_MS, 5_000);
    renewTimer = setTimeout(() => renewOrSignOut().then(() => {}, () => {}), delay);
    return previousSub !== session.profile.sub;
  }

  function forgetTokens() {
    session.accessToken = null;
    session.expiresAt = 0;
    session.scopes = [];
    session.profile = null;
    clearTimeout(renewTimer);
  }

  function checkSession() {
    if (!inFlightCheck) {
      inFlightCheck = new Promise((resolve, reject) => {
        webAuth.checkSession({}, (err, result) => (err ? reject(err) : resolve(result)));
      }).finally(() => { inFlightCheck = null; });
    }
    return inFlightCheck;
  }

  const SESSION_OVER = ['login_required', 'consent_required', 'interaction_required'];

  /** Silent renewal; when the session is over the app signs out and the call is abandoned. */
  async function renewOrSignOut() {
    try {
      const result = await checkSession();
      if (acceptTokens(result)) showSignedIn();
    } catch (err) {
      if (err && SESSION_OVER.includes(err.error)) {
        forgetTokens();
        showSignedOut(noticeFor(err, 'expired'));
        throw Object.assign(new Error('signed out'), { signedOut: true });
      }
      throw err;
    }
  }

  /** The poll that gives single logout and single sign-on across applications. */
  async function pollSession() {
    const signedIn = Boolean(session.accessToken);
    try {
      const result = await checkSession();
      if (acceptTokens(result) || !signedIn) showSignedIn();
    } catch (err) {
      if (signedIn && err && SESSION_OVER.includes(err.error)) {
        forgetTokens();
        showSignedOut(noticeFor(err, 'elsewhere'));
      }
      // Anything else (a timeout, the network): keep what we have and try at the next poll.
    }
  }

  function noticeFor(err, context) {
    const code = (err && err.error) || 'unknown_error';
    const detail = (err && (err.errorDescription || err.error_description || err.description)) || '';
    if (code === 'access_denied') {
      return { kind: 'warning', code, title: 'You did not allow Organizer to read your data',
        text: 'Organizer needs your permission to read your contacts and calendar, so it has nothing to show. '
          + 'Log in again whenever you want to allow it.' };
    }
    if (code === 'login_required' && context === 'elsewhere') {
      return { kind: 'info', code: 'signed_out_elsewhere', title: 'You were signed out',
        text: 'Your session ended in another tab or application. Log in to continue.' };
    }
    if (SESSION_OVER.includes(code) && context === 'expired') {
      return { kind: 'info', code: 'session_expired', title: 'Your session has ended',
        text: 'Log in again to continue.' };
    }
    if (code === 'consent_required') {
      return { kind: 'info', code, title: 'One more step',
        text: 'You are signed in, but this application needs your permission to read your data. Log in to allow it.' };
    }
    if (code === 'timeout') {
      return { kind: 'error', code, title: 'The sign-in service did not answer',
        text: 'Check your connection and try again.' };
    }
    return { kind: 'error', code, title: 'Sign-in failed', text: detail ? `${code}: ${detail}` : code };
  }

  /** The configured scope plus `scope`: asking again for what a panel needs. */
  function withScope(scope) {
    const scopes = new Set((config.scope || DEFAULT_SCOPE).split(' ').filter(Boolean));
    scopes.add(scope);
    return [...scopes].join(' ');
  }

  function login(extra) {
    webAuth.authorize(extra || {});
  }

  function logout() {
    forgetTokens();
    webAuth.logout({ returnTo: config.logoutReturnTo, clientID: config.clientID });
  }

  // ---- start-up ------------------------------------------------------------------------

  async function loadConfig() {
    const response = await fetch('/config.json', { cache: 'no-store' });
    const body = await response.json().catch(() => null);
    if (!response.ok || !body) {
      const why = body && body.error_description ? body.error_description : `HTTP ${response.status}`;
      throw new Error(`config.json could not be loaded (${why}).`);
    }
    for (const key of ['domain', 'clientID', 'audience', 'apiBaseUrl']) {
      if (typeof body[key] !== 'string' || !body[key]) throw new Error(`config.json has no "${key}".`);
    }
    return body;
  }

  function hasAuthResponse(hash) {
    return /(^#|&)(access_token|id_token|error|state)=/.test(hash);
  }

  async function start() {
    setState('loading');
    try {
      config = await loadConfig();
    } catch (err) {
      showFatal('Organizer is not configured', `${err.message} See README, "config.json".`);
      return;
    }
    if (!window.auth0 || !window.auth0.WebAuth) {
      showFatal('auth0-js is missing', 'The site could not load /vendor/auth0.min.js. Install it with scripts/site-deps.sh (make run does).');
      return;
    }
    const origin = window.location.origin;
    webAuth = new window.auth0.WebAuth({
      domain: config.domain,
      clientID: config.clientID,
      audience: config.audience,
      scope: config.scope || DEFAULT_SCOPE,
      responseType: 'token id_token',
      redirectUri: config.redirectUri || `${origin}/callback.html`,
      overrides: config.overrides || undefined,
    });

    const hash = window.location.hash;
    if (hasAuthResponse(hash)) {
      // The fragment holds the token: take it out of the address bar and history first.
      window.history.replaceState(null, '', '/');
      try {
        const result = await new Promise((resolve, reject) => {
          webAuth.parseHash({ hash }, (err, res) => (err ? reject(err) : res ? resolve(res) : reject({ error: 'invalid_response' })));
        });
        acceptTokens(result);
        showSignedIn();
      } catch (err) {
        showSignedOut(noticeFor(err, 'callback'));
      }
    } else {
      try {
        acceptTokens(await checkSession());
        showSignedIn();
      } catch (err) {
        const quiet = err && err.error === 'login_required';
        showSignedOut(quiet ? null : noticeFor(err, 'load'));
      }
    }

    const seconds = Number(config.sessionCheckSeconds) > 0 ? Number(config.sessionCheckSeconds) : DEFAULT_SESSION_CHECK_SECONDS;
    setInterval(pollSession, seconds * 1000);
  }

  document.addEventListener('DOMContentLoaded', start);
})();
