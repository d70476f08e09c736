// Organizer: one sign-in (implicit grant with auth0-js), one access token, two APIs.
//
// The token lives in this closure only: never in localStorage, sessionStorage or a cookie, so
// a reload signs in again silently with checkSession (web_message + prompt=none) while the
// authorization server's session lasts. Everything the page shows that comes from outside is
// written with textContent, never parsed as HTML, and no text from a URL is ever shown.
'use strict';

(() => {
  /** Each panel is one microservice behind the one logical API, with the scope it needs. */
  const PANELS = [
    { id: 'contacts', title: 'Contacts', path: '/contacts', scope: 'read:contacts', what: 'contacts', none: 'No contacts yet.', render: contactItem },
    { id: 'calendar', title: 'Calendar', path: '/calendar', scope: 'read:calendar', what: 'calendar', none: 'Nothing on your calendar from today on.', render: eventItem, query: upcoming },
  ];
  const DEFAULT_SCOPE = 'openid profile email read:contacts read:calendar';
  const OIDC_SCOPES = ['openid', 'profile', 'email'];
  const DEFAULT_SESSION_CHECK_SECONDS = 900;
  const DEFAULT_PAGE_SIZE = 20;
  /** Renew this long before the token expires, so calls never race its expiry. */
  const RENEW_EARLY_MS = 60_000;
  /** Never renew more often than this, whatever the token's lifetime. */
  const MIN_RENEW_DELAY_MS = 30_000;
  /** A silent check that gets no answer gives up after this (auth0-js waits 60 s). */
  const CHECK_TIMEOUT_MS = 10_000;
  const SESSION_OVER = ['login_required', 'consent_required', 'interaction_required'];

  const session = { accessToken: null, expiresAt: 0, scope: '', scopes: [], profile: null };
  let config = null;
  let webAuth = null;
  let renewTimer = null;
  let inFlightCheck = null;
  /** Bumped whenever the signed-in view is redrawn: answers for an older view are dropped. */
  let generation = 0;

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

  /** Replaces a node's children, leaving out the null/false/undefined of optional parts (given
   * to replaceChildren as such, they become the text "null"). */
  function fill(node, ...children) {
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  }

  const main = () => document.getElementById('app');
  const account = () => document.getElementById('account');

  const TITLES = { loading: 'Organizer', error: 'Organizer: error', 'signed-out': 'Organizer: signed out', 'signed-in': 'Organizer' };

  function setState(state) {
    document.body.dataset.state = state;
    document.title = TITLES[state] || 'Organizer';
    main().setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
  }

  // ---- views ---------------------------------------------------------------------------

  function showFatal(title, detail) {
    generation += 1;
    setState('error');
    fill(account());
    fill(main(),
      h('section', { class: 'card notice error', role: 'alert' }, h('h2', {}, title), h('p', {}, detail)),
    );
  }

  function showSignedOut(notice) {
    generation += 1;
    setState('signed-out');
    fill(account(), h('button', { type: 'button', class: 'primary', onclick: () => login() }, 'Log in'));
    fill(main(),
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
    generation += 1;
    setState('signed-in');
    const who = session.profile || {};
    fill(account(),
      h('span', { class: 'who', 'data-testid': 'user-name' }, who.name || who.email || who.sub || 'Signed in'),
      h('button', { type: 'button', onclick: () => logout() }, 'Log out'),
    );
    fill(main(),
      h('section', { class: 'card grants', 'aria-labelledby': 'grants-title' },
        h('h2', { id: 'grants-title' }, 'Permissions granted to Organizer'),
        session.scopes.length
          ? h('ul', { class: 'scopes', 'data-testid': 'scopes' }, session.scopes.map((s) => h('li', {}, s)))
          : h('p', {}, 'None.')),
      h('div', { class: 'panels' }, PANELS.map((panel) => h('section', {
        class: 'card panel', id: `panel-${panel.id}`, 'aria-labelledby': `title-${panel.id}`, 'aria-busy': 'true', 'data-state': 'loading',
      }, panelTitle(panel), h('p', { class: 'status', role: 'status' }, 'Loading…')))),
    );
    for (const panel of PANELS) loadPanel(panel, { generation });
  }

  function panelTitle(panel) {
    return h('h2', { id: `title-${panel.id}`, tabindex: '-1' }, panel.title);
  }

  /** Redraws a panel, unless the view it belongs to has been replaced meanwhile. */
  function fillPanel(panel, view, state, content, { focus = false } = {}) {
    const node = document.getElementById(`panel-${panel.id}`);
    if (!node || view.generation !== generation) return;
    node.dataset.state = state;
    node.setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
    fill(node, panelTitle(panel), ...content.filter(Boolean));
    // The button the user pressed is gone: keep keyboard focus in the panel.
    if (focus) node.querySelector('h2').focus();
  }

  const text = (value) => (typeof value === 'string' ? value : '');

  function contactItem(c) {
    return h('li', {},
      h('strong', {}, text(c.name) || '(no name)'),
      h('span', { class: 'meta' }, [text(c.company), text(c.email), text(c.phone)].filter(Boolean).join(' · ')));
  }

  const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  function formatTime(value) {
    const date = new Date(text(value));
    return Number.isNaN(date.getTime()) ? text(value) : when.format(date);
  }

  function eventItem(e) {
    const range = [formatTime(e.start), formatTime(e.end)].filter(Boolean).join(' – ');
    return h('li', {},
      h('strong', {}, text(e.title) || '(untitled)'),
      h('span', { class: 'meta' }, [range, text(e.location)].filter(Boolean).join(' · ')));
  }

  /** The calendar shows what is ahead: events starting from the beginning of today (UTC). */
  function upcoming() {
    const today = new Date();
    today.setUTCHours(0, 0, 0, 0);
    return { from: today.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }

  // ---- the APIs ------------------------------------------------------------------------

  function apiUrl(panel, cursor) {
    // The base may carry a path (a stage, a custom domain's mapping): keep it.
    const url = new URL(config.apiBaseUrl.replace(/\/+$/, '') + panel.path);
    for (const [key, value] of Object.entries(panel.query ? panel.query() : {})) url.searchParams.set(key, value);
    url.searchParams.set('limit', String(config.pageSize));
    if (cursor) url.searchParams.set('cursor', cursor);
    return url;
  }

  async function loadPanel(panel, view, { cursor = null, items = [], focus = false } = {}) {
    const retry = () => {
      fillPanel(panel, view, 'loading', [h('p', { class: 'status', role: 'status' }, 'Loading…')]);
      loadPanel(panel, view, { focus: true });
    };
    const url = apiUrl(panel, cursor);
    let response;
    try {
      response = await callApi(url);
    } catch (err) {
      if (err && err.signedOut) return;
      const why = err && err.renewal
        ? 'Your sign-in could not be renewed (the sign-in service did not answer).'
        : `Could not reach the ${panel.what} service (${url.origin}).`;
      fillPanel(panel, view, 'error', [
        h('p', { class: 'status error', role: 'alert' }, why),
        h('button', { type: 'button', onclick: retry }, 'Retry')], { focus });
      return;
    }
    const body = await response.json().catch(() => null);
    try {
      if (response.ok) {
        const page = body && Array.isArray(body.items) ? body.items.filter((i) => i && typeof i === 'object') : null;
        if (!page) throw new Error('not a list');
        const all = items.concat(page);
        if (all.length === 0) {
          fillPanel(panel, view, 'empty', [h('p', { class: 'status' }, panel.none)], { focus });
          return;
        }
        const next = typeof body.next === 'string' && body.next ? body.next : null;
        const more = () => {
          fillPanel(panel, view, 'loading', [h('ul', { class: 'items' }, all.map(panel.render)), h('p', { class: 'status', role: 'status' }, 'Loading more…')]);
          loadPanel(panel, view, { cursor: next, items: all, focus: true });
        };
        fillPanel(panel, view, 'ready', [
          h('ul', { class: 'items' }, all.map(panel.render)),
          next ? h('button', { type: 'button', onclick: more }, 'Show more') : null], { focus });
        return;
      }
      // 403: the function's insufficient_scope, or an API Gateway authorizer's plain
      // {"message":"Forbidden"}. Either way, a token without the panel's scope is the cause.
      if (response.status === 403 && (text(body && body.error) === 'insufficient_scope' || !session.scopes.includes(panel.scope))) {
        fillPanel(panel, view, 'forbidden', [
          h('p', { class: 'status error', role: 'alert', 'data-missing-scope': panel.scope },
            `Missing permission: ${panel.scope}. This sign-in does not allow Organizer to read your ${panel.what}.`),
          h('button', { type: 'button', onclick: () => login({ prompt: 'consent', scope: withScope(panel.scope) }) }, `Allow ${panel.what} access`)], { focus });
        return;
      }
      const code = /^[a-z_]{1,64}$/.test(text(body && body.error)) ? `: ${body.error}` : '';
      fillPanel(panel, view, 'error', [
        h('p', { class: 'status error', role: 'alert' }, `The ${panel.what} service answered with an error (HTTP ${response.status}${code}). Try again in a moment.`),
        h('button', { type: 'button', onclick: retry }, 'Retry')], { focus });
    } catch {
      fillPanel(panel, view, 'error', [
        h('p', { class: 'status error', role: 'alert' }, `The ${panel.what} service sent an answer Organizer cannot read.`),
        h('button', { type: 'button', onclick: retry }, 'Retry')], { focus });
    }
  }

  /**
   * GET with the bearer token. A token that is about to expire is renewed first; a 401 (the
   * functions, the JWT authorizer) or a plain 403 (the Lambda authorizer denies expired
   * tokens that way) is answered by one silent renewal and one retry.
   */
  async function callApi(url) {
    if (Date.now() > session.expiresAt - RENEW_EARLY_MS) await renewOrSignOut();
    const send = () => fetch(url, {
      headers: { Authorization: `Bearer ${session.accessToken}` },
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    const response = await send();
    const gatewayDeny = response.status === 403
      && !/insufficient_scope/.test(response.headers.get('www-authenticate') || '');
    if (response.status !== 401 && !gatewayDeny) return response;
    const before = session.accessToken;
    await renewOrSignOut();
    return session.accessToken === before && response.status === 403 ? response : send();
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

  /**
   * Takes a result of parseHash or checkSession. auth0-js verified the ID token (signature,
   * issuer, audience, nonce, at_hash) when there is one; a result without one was not
   * verified, so it is refused. Returns whether what the page shows must change.
   */
  function acceptTokens(result) {
    if (!result || typeof result.accessToken !== 'string' || typeof result.idToken !== 'string'
      || !result.idTokenPayload || typeof result.idTokenPayload.sub !== 'string') {
      throw { error: 'invalid_response' };
    }
    const claims = decodeJwtPayload(result.accessToken);
    const scope = typeof claims.scope === 'string' ? claims.scope : text(result.scope);
    const changed = !session.profile || session.profile.sub !== result.idTokenPayload.sub || session.scope !== scope;
    const lifetimeMs = Number(result.expiresIn) > 0
      ? Number(result.expiresIn) * 1000
      : (Number(claims.exp) || 0) * 1000 - Date.now();
    session.accessToken = result.accessToken;
    session.expiresAt = Date.now() + Math.max(lifetimeMs, 0);
    session.scope = scope;
    session.scopes = scope.split(' ').filter((s) => s && !OIDC_SCOPES.includes(s));
    session.profile = result.idTokenPayload;
    clearTimeout(renewTimer);
    const delay = Math.max(session.expiresAt - Date.now() - RENEW_EARLY_MS, MIN_RENEW_DELAY_MS);
    renewTimer = setTimeout(() => renewOrSignOut().catch(() => {}), delay);
    return changed;
  }

  function forgetTokens() {
    session.accessToken = null;
    session.expiresAt = 0;
    session.scope = '';
    session.scopes = [];
    session.profile = null;
    clearTimeout(renewTimer);
  }

  /** One silent check at a time; the poll and a renewal share it. */
  function checkSession() {
    if (!inFlightCheck) {
      inFlightCheck = new Promise((resolve, reject) => {
        webAuth.checkSession({ timeout: CHECK_TIMEOUT_MS }, (err, result) => (err ? reject(err) : resolve(result)));
      }).finally(() => { inFlightCheck = null; });
    }
    return inFlightCheck;
  }

  /** Silent renewal; when the session is over the app signs out and the call is abandoned. */
  async function renewOrSignOut() {
    try {
      if (acceptTokens(await checkSession())) showSignedIn();
    } catch (err) {
      if (err && SESSION_OVER.includes(err.error)) {
        forgetTokens();
        showSignedOut(noticeFor(err, 'expired'));
        throw Object.assign(new Error('signed out'), { signedOut: true });
      }
      throw Object.assign(new Error('renewal failed'), { renewal: true, cause: err });
    }
  }

  /** The poll that gives single logout and single sign-on across applications. */
  async function pollSession() {
    const signedIn = Boolean(session.accessToken);
    try {
      if (acceptTokens(await checkSession()) || !signedIn) showSignedIn();
    } catch (err) {
      if (signedIn && err && SESSION_OVER.includes(err.error)) {
        forgetTokens();
        showSignedOut(noticeFor(err, 'elsewhere'));
      }
      // Anything else (a timeout, the network): keep what we have and try at the next poll.
    }
  }

  /**
   * What to tell the user. Only fixed wording: an error in the URL fragment is attacker
   * controlled until proven otherwise, so its description is never shown.
   */
  function noticeFor(err, context) {
    const raw = err && typeof err.error === 'string' ? err.error : '';
    const code = /^[a-z_]{1,64}$/.test(raw) ? raw : 'unknown_error';
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
    return { kind: 'error', code, title: 'Sign-in did not complete',
      text: `The sign-in could not be completed (${code}). Log in to try again.` };
  }

  /** The configured scope plus `scope`: asking again for what a panel needs. */
  function withScope(scope) {
    const scopes = new Set(config.scope.split(' ').filter(Boolean));
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
    const seconds = Number(body.sessionCheckSeconds);
    const pageSize = Number(body.pageSize);
    return {
      ...body,
      scope: typeof body.scope === 'string' && body.scope ? body.scope : DEFAULT_SCOPE,
      sessionCheckSeconds: Number.isFinite(seconds) && seconds >= 1 ? seconds : DEFAULT_SESSION_CHECK_SECONDS,
      pageSize: Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= 50 ? pageSize : DEFAULT_PAGE_SIZE,
    };
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
      scope: config.scope,
      responseType: 'token id_token',
      redirectUri: config.redirectUri || `${origin}/callback.html`,
      overrides: config.overrides || undefined,
    });

    const hash = window.location.hash;
    let notice = null;
    if (hasAuthResponse(hash)) {
      // The fragment holds the token: take it out of the address bar and session history first.
      window.history.replaceState(null, '', '/');
      try {
        const result = await new Promise((resolve, reject) => {
          webAuth.parseHash({ hash }, (err, res) => (err ? reject(err) : resolve(res)));
        });
        acceptTokens(result);
        showSignedIn();
      } catch (err) {
        notice = noticeFor(err, 'callback');
      }
    }
    // On load (or after a failed callback other than a refusal): a silent sign-in.
    if (!session.accessToken && !(notice && notice.code === 'access_denied')) {
      try {
        acceptTokens(await checkSession());
        showSignedIn();
        notice = null;
      } catch (err) {
        if (!notice && !(err && err.error === 'login_required')) notice = noticeFor(err, 'load');
      }
    }
    if (!session.accessToken) showSignedOut(notice);

    setInterval(pollSession, config.sessionCheckSeconds * 1000);
  }

  document.addEventListener('DOMContentLoaded', start);
})();
