// Organizer: one sign-in, one access token, two APIs, read and write.
//
// config.json chooses the sign-in flow (auth.js): the implicit grant with auth0-js, or the
// authorization code flow + PKCE with auth0-spa-js and rotating refresh tokens; this file
// loads the one library that flow needs from the site (both set window.auth0) and never knows
// more of the flow than auth.js's small interface.
//
// The access token lives in this closure only (the code flow's refresh token lives in
// auth0-spa-js's worker, or in localStorage when config.json says so). Everything the page
// shows that comes from outside is written with textContent, never parsed as HTML, and no
// text from a URL is ever shown.
'use strict';

(() => {
  const DEFAULT_SCOPE = 'openid profile email read:contacts read:calendar write:contacts write:calendar';
  const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
  const DEFAULT_SESSION_CHECK_SECONDS = 900;
  const DEFAULT_PAGE_SIZE = 20;
  /** Renew this long before the token expires, so calls never race its expiry. */
  const RENEW_EARLY_MS = 60_000;
  /** Never renew on a timer more often than this, whatever the token's lifetime. */
  const MIN_RENEW_DELAY_MS = 30_000;
  /** After another tab logged out, the poll does not sign in again for this long (the
   * tenant's logout may not have happened yet). */
  const QUIET_AFTER_LOGOUT_MS = 10_000;
  const SESSION_OVER = ['login_required', 'consent_required', 'interaction_required', 'invalid_grant', 'missing_refresh_token'];
  const LIBRARIES = {
    implicit: { src: '/vendor/auth0.min.js', name: 'auth0-js', ready: () => window.auth0 && window.auth0.WebAuth },
    code: { src: '/vendor/auth0-spa-js.production.js', name: 'auth0-spa-js', ready: () => window.auth0 && window.auth0.Auth0Client },
  };

  const contactFields = [
    { name: 'name', label: 'Name', required: true, max: 200, autocomplete: 'name' },
    { name: 'email', label: 'E-mail', type: 'email', max: 254, autocomplete: 'email' },
    { name: 'phone', label: 'Phone', type: 'tel', max: 40, autocomplete: 'tel' },
    { name: 'company', label: 'Company', max: 200, autocomplete: 'organization' },
  ];
  const eventFields = [
    { name: 'title', label: 'Title', required: true, max: 200 },
    { name: 'start', label: 'Starts', type: 'datetime-local', required: true, time: true },
    { name: 'end', label: 'Ends', type: 'datetime-local', required: true, time: true },
    { name: 'location', label: 'Location', max: 200 },
    { name: 'attendees', label: 'Attendees', list: true, hint: 'E-mail addresses, separated by commas' },
  ];

  /** Each panel is one microservice behind the one logical API, with the scopes it needs. */
  const PANELS = [
    { id: 'contacts', title: 'Contacts', path: '/contacts', scope: 'read:contacts', writeScope: 'write:contacts',
      what: 'contacts', one: 'contact', quota: '5,000 contacts', none: 'No contacts yet.', render: contactItem,
      fields: contactFields, label: (c) => text(c.name) || '(no name)' },
    { id: 'calendar', title: 'Calendar', path: '/calendar', scope: 'read:calendar', writeScope: 'write:calendar',
      what: 'calendar', one: 'event', quota: '10,000 events', none: 'Nothing on your calendar from today on.', render: eventItem,
      query: upcoming, fields: eventFields, label: (e) => text(e.title) || '(untitled)' },
  ];

  const session = { accessToken: null, expiresAt: 0, scope: '', scopes: [], permissions: [], profile: null, requested: '' };
  let config = null;
  let flow = null;
  let renewTimer = null;
  let inFlightRenewal = null;
  let channel = null;
  let quietUntil = 0;
  /** Bumped whenever the signed-in view is redrawn: answers for an older view are dropped. */
  let generation = 0;

  // ---- small DOM helpers ---------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'onclick') node.addEventListener('click', value);
      else if (key === 'onsubmit') node.addEventListener('submit', value);
      else if (key === 'class') node.className = value;
      else if (key === 'value') node.value = value;
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
  const text = (value) => (typeof value === 'string' ? value : '');
  const button = (label, onclick, extra = {}) => h('button', { type: 'button', onclick, ...extra }, label);

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
    fill(account(), button('Log in', () => login(), { class: 'primary' }));
    fill(main(),
      notice
        ? h('section', { class: `card notice ${notice.kind}`, role: notice.kind === 'error' ? 'alert' : 'status', 'data-notice': notice.code },
            h('h2', {}, notice.title), h('p', {}, notice.text))
        : null,
      h('section', { class: 'card intro' },
        h('h2', {}, 'Your contacts and calendar, one sign-in'),
        h('p', {}, 'Organizer keeps your contacts and your calendar in two services that share one sign-in. '
          + 'Log in to see them; the first time, you will be asked to allow Organizer to use them.'),
        button('Log in', () => login(), { class: 'primary' })),
    );
  }

  const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

  function showSignedIn() {
    generation += 1;
    const view = { generation };
    setState('signed-in');
    const who = session.profile || {};
    fill(account(),
      h('span', { class: 'who', 'data-testid': 'user-name' }, who.name || who.email || who.sub || 'Signed in'),
      button('Log out', () => logout()),
    );
    fill(main(),
      h('section', { class: 'card grants', 'aria-labelledby': 'grants-title' },
        h('h2', { id: 'grants-title' }, 'Permissions granted to Organizer'),
        session.scopes.length
          ? h('ul', { class: 'scopes', 'data-testid': 'scopes' }, session.scopes.map((s) => h('li', {}, s)))
          : h('p', {}, 'None.'),
        flow.renewsSilently() ? null : h('p', { class: 'status warning', 'data-testid': 'renewal-note' },
          'This browser blocks the sign-in service\'s cookies on this site (third-party cookies), so Organizer cannot renew '
          + `your sign-in silently: you will be asked to log in again when it ends, at ${clock.format(new Date(session.expiresAt))}.`)),
      h('div', { class: 'panels' }, PANELS.map((panel) => panelFrame(panel, view))),
    );
    for (const panel of PANELS) loadPanel(panel, view);
  }

  const canWrite = (panel) => session.scopes.includes(panel.writeScope);
  const mayWrite = (panel) => session.permissions.includes(panel.writeScope);

  /** A panel's fixed parts: title, Add, the read-only note; its list and form go in slots. */
  function panelFrame(panel, view) {
    const note = canWrite(panel) ? null
      : mayWrite(panel)
        ? h('p', { class: 'note', 'data-testid': `readonly-${panel.id}` },
          `Read-only: you have not allowed Organizer to change your ${panel.what} yet. `,
          button('Allow editing', () => allowEditing()))
        : session.scopes.includes(panel.scope)
          ? h('p', { class: 'note', 'data-testid': `readonly-${panel.id}` }, `Read-only: your account may view your ${panel.what} but not change them.`)
          : null;
    return h('section', {
      class: 'card panel', id: `panel-${panel.id}`, 'aria-labelledby': `title-${panel.id}`, 'aria-busy': 'true', 'data-state': 'loading',
    },
    h('div', { class: 'panel-head' },
      h('h2', { id: `title-${panel.id}`, tabindex: '-1' }, panel.title),
      canWrite(panel) ? button(`Add ${panel.one}`, () => openEditor(panel, view, { mode: 'add' }), { class: 'primary small', 'data-action': 'add' }) : null),
    note,
    h('p', { class: 'panel-status', role: 'status', 'data-testid': `status-${panel.id}` }),
    h('div', { class: 'editor-slot' }),
    h('div', { class: 'list-slot' }, h('p', { class: 'status' }, 'Loading…')));
  }

  function panelNode(panel, view) {
    const node = document.getElementById(`panel-${panel.id}`);
    return node && view.generation === generation ? node : null;
  }

  /** Redraws a panel's list, unless the view it belongs to has been replaced meanwhile. */
  function fillPanel(panel, view, state, content, { focus = false } = {}) {
    const node = panelNode(panel, view);
    if (!node) return;
    node.dataset.state = state;
    node.setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
    fill(node.querySelector('.list-slot'), ...content.filter(Boolean));
    // The button the user pressed is gone: keep keyboard focus in the panel.
    if (focus) node.querySelector('h2').focus();
  }

  function say(panel, view, message) {
    const node = panelNode(panel, view);
    if (node) node.querySelector('.panel-status').textContent = message;
  }

  function contactItem(c) {
    return [h('strong', {}, text(c.name) || '(no name)'),
      h('span', { class: 'meta' }, [text(c.company), text(c.email), text(c.phone)].filter(Boolean).join(' · '))];
  }

  const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  function formatTime(value) {
    const date = new Date(text(value));
    return Number.isNaN(date.getTime()) ? text(value) : when.format(date);
  }

  /** "Nov 27, 2026, 11:00 AM – 12:30 PM": the date once when both ends share it. */
  function formatRange(start, end) {
    const a = new Date(text(start));
    const b = new Date(text(end));
    if (Number.isNaN(a.getTime()) || Number.isNaN(b.getTime()) || b < a) {
      return [formatTime(start), formatTime(end)].filter(Boolean).join(' – ');
    }
    return when.formatRange(a, b);
  }

  function eventItem(e) {
    const range = formatRange(e.start, e.end);
    const people = Array.isArray(e.attendees) ? e.attendees.filter((a) => typeof a === 'string') : [];
    return [h('strong', {}, text(e.title) || '(untitled)'),
      h('span', { class: 'meta' }, [range, text(e.location), people.length ? `with ${people.join(', ')}` : ''].filter(Boolean).join(' · '))];
  }

  function itemRow(panel, view, item) {
    const id = typeof item.id === 'string' ? item.id : null;
    const row = h('li', { 'data-id': id || undefined }, h('div', { class: 'item-main' }, panel.render(item)));
    if (canWrite(panel) && id) {
      row.append(h('div', { class: 'item-actions' },
        button('Edit', (ev) => editItem(panel, view, id, ev.currentTarget), { class: 'small', 'aria-label': `Edit ${panel.label(item)}` }),
        button('Delete', () => askDelete(panel, view, item, row), { class: 'small danger', 'aria-label': `Delete ${panel.label(item)}` })));
    }
    return row;
  }

  /** The calendar shows what is ahead: events starting from the beginning of today (UTC). */
  function upcoming() {
    const today = new Date();
    today.setUTCHours(0, 0, 0, 0);
    return { from: today.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }

  // ---- the APIs: reading ---------------------------------------------------------------

  function apiUrl(path, query = {}) {
    // The base may carry a path (a stage, a custom domain's mapping): keep it.
    const url = new URL(config.apiBaseUrl.replace(/\/+$/, '') + path);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    return url;
  }

  function listUrl(panel, cursor) {
    return apiUrl(panel.path, {
      ...(panel.query ? panel.query() : {}),
      limit: String(config.pageSize),
      ...(cursor ? { cursor } : {}),
    });
  }

  /**
   * `saved`: the item just added or saved. It is marked in the list; when it is not on the
   * pages loaded (a name late in the alphabet, an event far ahead) it is shown above the list,
   * so that what the user just did is always in sight.
   */
  async function loadPanel(panel, view, { cursor = null, items = [], focus = false, saved = null } = {}) {
    const retry = () => {
      fillPanel(panel, view, 'loading', [h('p', { class: 'status', role: 'status' }, 'Loading…')]);
      loadPanel(panel, view, { focus: true });
    };
    const url = listUrl(panel, cursor);
    let response;
    try {
      response = await callApi(url);
    } catch (err) {
      if (err && err.signedOut) return;
      fillPanel(panel, view, 'error', [
        h('p', { class: 'status error', role: 'alert' }, unreachable(err, panel, url)),
        button('Retry', retry)], { focus });
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
        const row = (item) => {
          const li = itemRow(panel, view, item);
          if (saved && item.id === saved.id) li.classList.add('saved');
          return li;
        };
        const list = () => h('ul', { class: 'items' }, all.map(row));
        const aside = saved && saved.id && !all.some((i) => i.id === saved.id)
          ? h('div', { class: 'just-saved', 'data-testid': `just-saved-${panel.id}` },
            h('p', { class: 'hint' }, 'Just saved (further down the list):'),
            h('ul', { class: 'items' }, row(saved)))
          : null;
        const more = () => {
          fillPanel(panel, view, 'loading', [aside, list(), h('p', { class: 'status', role: 'status' }, 'Loading more…')]);
          loadPanel(panel, view, { cursor: next, items: all, focus: true, saved });
        };
        fillPanel(panel, view, 'ready', [aside, list(), next ? button('Show more', more) : null], { focus });
        return;
      }
      // 403: the function's insufficient_scope, or an API Gateway authorizer's plain
      // {"message":"Forbidden"}. Either way, a token without the panel's scope is the cause.
      if (response.status === 403 && (text(body && body.error) === 'insufficient_scope' || !session.scopes.includes(panel.scope))) {
        fillPanel(panel, view, 'forbidden', [
          h('p', { class: 'status error', role: 'alert', 'data-missing-scope': panel.scope },
            `Missing permission: ${panel.scope}. This sign-in does not allow Organizer to read your ${panel.what}.`),
          button(`Allow ${panel.what} access`, () => login({ prompt: 'consent', scope: withScope(panel.scope) }))], { focus });
        return;
      }
      fillPanel(panel, view, 'error', [
        h('p', { class: 'status error', role: 'alert' }, `The ${panel.what} service answered with an error (HTTP ${response.status}${errorCode(body)}). Try again in a moment.`),
        button('Retry', retry)], { focus });
    } catch {
      fillPanel(panel, view, 'error', [
        h('p', { class: 'status error', role: 'alert' }, `The ${panel.what} service sent an answer Organizer cannot read.`),
        button('Retry', retry)], { focus });
    }
  }

  const errorCode = (body) => (/^[a-z_]{1,64}$/.test(text(body && body.error)) ? `: ${body.error}` : '');

  function unreachable(err, panel, url) {
    return err && err.renewal
      ? 'Your sign-in could not be renewed (the sign-in service did not answer).'
      : `Could not reach the ${panel.what} service (${url.origin}).`;
  }

  /**
   * A call with the bearer token. A token that is about to expire is renewed first; a 401 (the
   * functions, the JWT authorizer) or a plain 403 (the Lambda authorizer denies expired
   * tokens that way) is answered by one silent renewal and one retry.
   */
  async function callApi(url, { method = 'GET', body, headers = {} } = {}) {
    // Where silent renewal cannot work, the token is used to its end instead of renewed early.
    const margin = flow.renewsSilently() ? RENEW_EARLY_MS : 0;
    if (Date.now() > session.expiresAt - margin) await renewOrSignOut();
    const send = () => fetch(url, {
      method,
      headers: {
        Authorization: `Bearer ${session.accessToken}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
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

  // ---- the APIs: writing ---------------------------------------------------------------

  function emptyValues(panel) {
    return Object.fromEntries(panel.fields.map((f) => [f.name, '']));
  }

  const pad = (n) => String(n).padStart(2, '0');

  /** An RFC 3339 time as the value of a datetime-local input, in the browser's time zone. */
  function toLocalInput(value) {
    const d = new Date(text(value));
    if (Number.isNaN(d.getTime())) return '';
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  /** A datetime-local value as RFC 3339 with the browser's offset at that moment. */
  function fromLocalInput(value) {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null;
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return null;
    const minutes = -d.getTimezoneOffset();
    const sign = minutes >= 0 ? '+' : '-';
    const seconds = value.length === 16 ? ':00' : '';
    return `${value}${seconds}${sign}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
  }

  function valuesOf(panel, item) {
    const values = emptyValues(panel);
    for (const f of panel.fields) {
      const v = item[f.name];
      if (f.time) values[f.name] = toLocalInput(v);
      else if (f.list) values[f.name] = Array.isArray(v) ? v.filter((a) => typeof a === 'string').join(', ') : '';
      else values[f.name] = text(v);
    }
    return values;
  }

  /** The form's values as the API's body, or the errors found before sending. */
  function bodyOf(panel, values) {
    const body = {};
    const errors = {};
    for (const f of panel.fields) {
      const raw = values[f.name].trim();
      if (f.required && !raw) {
        errors[f.name] = `${f.label} is required.`;
        continue;
      }
      if (!raw) continue;
      if (f.time) {
        const time = fromLocalInput(raw);
        if (time) body[f.name] = time;
        else errors[f.name] = `${f.label}: enter a date and a time.`;
      } else if (f.list) {
        body[f.name] = raw.split(/[\s,;]+/).filter(Boolean);
      } else {
        body[f.name] = raw;
      }
    }
    if (body.start && body.end && !errors.end && new Date(body.end) <= new Date(body.start)) {
      errors.end = 'The end must be after the start.';
    }
    return { body, errors };
  }

  /** The field a 400's description names ("email \"x\" is not …", "attendees[0] …"). */
  function fieldOf(panel, description) {
    const match = /^([a-z_]+)(\[\d+\])?(?=[\s:]|$)/.exec(description);
    return match && panel.fields.some((f) => f.name === match[1]) ? match[1] : null;
  }

  /**
   * The add/edit form. `state`: { mode: 'add' | 'edit', id, etag, values, key } — `key` is the
   * create's Idempotency-Key, made once per create and kept for every retry until the create
   * succeeds or the user gives up, so a retry after a lost answer never adds twice.
   */
  function openEditor(panel, view, state) {
    const node = panelNode(panel, view);
    if (!node) return;
    const editor = {
      mode: state.mode,
      id: state.id || null,
      etag: state.etag || null,
      values: state.values || emptyValues(panel),
      // What the form showed when opened: a conflict re-applies only what the user changed.
      original: { ...(state.values || emptyValues(panel)) },
      key: state.mode === 'add' ? crypto.randomUUID() : null,
      busy: false,
    };
    renderEditor(panel, view, editor, {});
    node.querySelector('.editor-slot input').focus();
  }

  function closeEditor(panel, view, message) {
    const node = panelNode(panel, view);
    if (!node) return;
    fill(node.querySelector('.editor-slot'));
    if (message !== undefined) say(panel, view, message);
  }

  function renderEditor(panel, view, editor, { errors = {}, problem = null, conflict = null }) {
    const node = panelNode(panel, view);
    if (!node) return;
    const slot = node.querySelector('.editor-slot');
    const title = editor.mode === 'add' ? `New ${panel.one}` : `Edit ${panel.one}`;
    const formId = `editor-${panel.id}`;
    const inputs = panel.fields.map((f) => {
      const id = `${formId}-${f.name}`;
      const error = errors[f.name];
      return h('div', { class: `field${error ? ' invalid' : ''}` },
        h('label', { for: id }, f.label, f.required ? h('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : null),
        h('input', {
          id, name: f.name, type: f.type || 'text', value: editor.values[f.name],
          maxlength: f.max, required: f.required, autocomplete: f.autocomplete || 'off',
          'aria-invalid': error ? 'true' : undefined,
          'aria-describedby': [error ? `${id}-error` : null, f.hint ? `${id}-hint` : null].filter(Boolean).join(' ') || undefined,
        }),
        f.hint ? h('p', { class: 'hint', id: `${id}-hint` }, f.hint) : null,
        error ? h('p', { class: 'field-error', id: `${id}-error`, 'data-error-for': f.name }, error) : null);
    });
    const form = h('form', { class: 'editor', id: formId, novalidate: true, 'aria-label': title, onsubmit: (ev) => { ev.preventDefault(); save(panel, view, editor); } },
      h('h3', {}, title),
      problem ? h('div', { class: `problem ${problem.kind || 'error'}`, role: 'alert', 'data-problem': problem.code },
        h('p', {}, problem.text), problem.actions ? h('div', { class: 'actions' }, problem.actions) : null) : null,
      conflict,
      h('div', { class: 'fields' }, inputs),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary', disabled: editor.busy }, editor.busy ? 'Saving…' : 'Save'),
        button('Cancel', () => closeEditor(panel, view, ''))));
    // Keep what the user types in the editor's state: a redraw never loses it.
    form.addEventListener('input', (ev) => {
      if (ev.target.name in editor.values) editor.values[ev.target.name] = ev.target.value;
    });
    fill(slot, form);
  }

  async function save(panel, view, editor, { overEtag } = {}) {
    if (editor.busy) return;
    const { body, errors } = bodyOf(panel, editor.values);
    if (Object.keys(errors).length) {
      renderEditor(panel, view, editor, { errors });
      focusFirstError(panel, view);
      return;
    }
    editor.busy = true;
    renderEditor(panel, view, editor, {});
    const adding = editor.mode === 'add';
    const etag = overEtag || editor.etag;
    let response;
    try {
      response = await callApi(apiUrl(adding ? panel.path : `${panel.path}/${encodeURIComponent(editor.id)}`), {
        method: adding ? 'POST' : 'PUT',
        body,
        headers: adding ? { 'Idempotency-Key': editor.key } : (etag ? { 'If-Match': etag } : {}),
      });
    } catch (err) {
      editor.busy = false;
      if (err && err.signedOut) return;
      renderEditor(panel, view, editor, { problem: { code: 'unreachable', text: adding
        ? `Could not reach the ${panel.what} service, so Organizer cannot tell whether the ${panel.one} was added. Save again: it will not be added twice.`
        : `Could not reach the ${panel.what} service: nothing was changed. Save again when you are back online.` } });
      return;
    }
    editor.busy = false;
    const answer = await response.json().catch(() => null);
    if (response.ok) {
      closeEditor(panel, view, adding ? `Added “${panel.label(answer || body)}”.` : `Saved “${panel.label(answer || body)}”.`);
      loadPanel(panel, view, { focus: true, saved: answer && typeof answer === 'object' ? answer : null });
      return;
    }
    const code = text(answer && answer.error);
    const description = text(answer && answer.error_description);
    if (response.status === 400 && code === 'invalid_request') {
      const field = fieldOf(panel, description);
      if (field) {
        renderEditor(panel, view, editor, { errors: { [field]: sentence(description) } });
        focusFirstError(panel, view);
      } else {
        renderEditor(panel, view, editor, { problem: { code, text: `The ${panel.what} service refused it: ${sentence(description || 'invalid request')}` } });
      }
      return;
    }
    if (response.status === 412 && answer && answer.current && typeof answer.current === 'object') {
      showConflict(panel, view, editor, answer.current, response.headers.get('etag'));
      return;
    }
    renderEditor(panel, view, editor, { problem: writeProblem(panel, view, editor, response.status, code) });
  }

  const sentence = (s) => (s ? s[0].toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.') : s);

  function focusFirstError(panel, view) {
    const node = panelNode(panel, view);
    const input = node && node.querySelector('.editor-slot .field.invalid input');
    if (input) input.focus();
  }

  /** What a refused write means, in words, with what the user can do about it. */
  function writeProblem(panel, view, editor, status, code) {
    if (status === 409 && code === 'quota_exceeded') {
      return { code, text: `You have reached the limit of ${panel.quota}. Delete some ${panel.what === 'calendar' ? 'events' : panel.what} to make room.` };
    }
    if (status === 403) {
      return { code: 'forbidden', text: `Organizer is not allowed to change your ${panel.what}: this sign-in does not grant ${panel.writeScope}.`,
        actions: mayWrite(panel) ? [button('Allow editing', () => allowEditing())] : null };
    }
    if (status === 404) {
      return { code: 'not_found', text: `This ${panel.one} no longer exists: it was deleted elsewhere.`,
        actions: [button(`Add it as a new ${panel.one}`, () => {
          editor.mode = 'add';
          editor.id = null;
          editor.etag = null;
          editor.key = crypto.randomUUID();
          save(panel, view, editor);
        })] };
    }
    if (status === 422 && code === 'idempotency_key_reused') {
      return { code, text: `An earlier try of this form was saved after all, with the values it had then. Close the form to see it, or add these values as another ${panel.one}.`,
        actions: [button(`Add as another ${panel.one}`, () => {
          editor.key = crypto.randomUUID();
          save(panel, view, editor);
        })] };
    }
    if (status === 413) return { code: 'payload_too_large', text: 'That is more than Organizer can save at once. Shorten some fields.' };
    return { code: code || 'error', text: `The ${panel.what} service answered with an error (HTTP ${status}${code ? `: ${code}` : ''}). Nothing was changed; try again in a moment.` };
  }

  /** 412: someone saved this item after the form was opened. Show theirs; the user chooses. */
  function showConflict(panel, view, editor, current, etag) {
    const theirValues = valuesOf(panel, current);
    const theirs = h('div', { class: 'conflict', role: 'alert', 'data-problem': 'changed_elsewhere' },
      h('p', {}, h('strong', {}, 'Changed elsewhere. '),
        `This ${panel.one} was changed in another tab or application after you opened it. It is now as below; `
        + 'your changes can be applied to this version, or discarded.'),
      h('dl', { class: 'current' }, panel.fields.flatMap((f) => [
        h('dt', {}, f.label), h('dd', {}, (f.time ? formatTime(current[f.name]) : theirValues[f.name]) || '—')])),
      h('div', { class: 'actions' },
        button('Apply my changes to it', () => {
          // Their version, with the fields this form changed set to this form's values.
          const now = valuesOf(panel, current);
          const merged = { ...now };
          for (const f of panel.fields) {
            if (editor.values[f.name] !== editor.original[f.name]) merged[f.name] = editor.values[f.name];
          }
          editor.values = merged;
          editor.original = now;
          editor.etag = etag;
          save(panel, view, editor);
        }, { class: 'primary' }),
        button('Discard my changes', () => {
          closeEditor(panel, view, 'Your changes were discarded.');
          loadPanel(panel, view, { focus: true });
        })));
    renderEditor(panel, view, editor, { conflict: theirs });
    const node = panelNode(panel, view);
    if (node) node.querySelector('.conflict button').focus();
  }

  /** Edit: the item as it is now (and its ETag) from the service, not from the list. */
  async function editItem(panel, view, id, trigger) {
    trigger.disabled = true;
    let response;
    try {
      response = await callApi(apiUrl(`${panel.path}/${encodeURIComponent(id)}`));
    } catch (err) {
      trigger.disabled = false;
      if (!(err && err.signedOut)) say(panel, view, `Could not reach the ${panel.what} service to open it. Try again.`);
      return;
    }
    trigger.disabled = false;
    const item = await response.json().catch(() => null);
    if (response.status === 404) {
      say(panel, view, `That ${panel.one} no longer exists: it was deleted elsewhere.`);
      loadPanel(panel, view);
      return;
    }
    if (!response.ok || !item || typeof item !== 'object') {
      say(panel, view, `Could not open it (HTTP ${response.status}${errorCode(item)}). Try again.`);
      return;
    }
    openEditor(panel, view, { mode: 'edit', id, etag: response.headers.get('etag'), values: valuesOf(panel, item) });
  }

  /** Delete asks first, in the item's row; then deletes the version it showed (If-Match). */
  async function askDelete(panel, view, item, row) {
    const id = item.id;
    const actions = row.querySelector('.item-actions');
    let etag = null;
    const confirmRow = (message, label) => h('div', { class: 'confirm', role: 'alert', 'data-confirm': 'delete' },
      h('p', {}, message),
      button(label, () => doDelete(), { class: 'danger' }),
      button('Cancel', () => { confirm.remove(); actions.hidden = false; actions.querySelector('button').focus(); }));
    let confirm = confirmRow(`Delete “${panel.label(item)}”? This cannot be undone.`, 'Delete');
    actions.hidden = true;
    row.append(confirm);
    confirm.querySelector('button').focus();
    // The version to delete: the one the user is looking at (fetched now, for its ETag).
    callApi(apiUrl(`${panel.path}/${encodeURIComponent(id)}`))
      .then((r) => { if (r.ok) etag = r.headers.get('etag'); })
      .catch(() => {});

    async function doDelete() {
      for (const b of confirm.querySelectorAll('button')) b.disabled = true;
      let response;
      try {
        response = await callApi(apiUrl(`${panel.path}/${encodeURIComponent(id)}`), { method: 'DELETE', headers: etag ? { 'If-Match': etag } : {} });
      } catch (err) {
        if (err && err.signedOut) return;
        for (const b of confirm.querySelectorAll('button')) b.disabled = false;
        say(panel, view, `Could not reach the ${panel.what} service: nothing was deleted.`);
        return;
      }
      const answer = await response.json().catch(() => null);
      if (response.status === 204 || response.status === 404) {
        say(panel, view, response.status === 204 ? `Deleted “${panel.label(item)}”.` : `“${panel.label(item)}” was already deleted elsewhere.`);
        loadPanel(panel, view, { focus: true });
        return;
      }
      if (response.status === 412 && answer && answer.current) {
        etag = response.headers.get('etag');
        const now = panel.label(answer.current);
        const replacement = confirmRow(`Changed elsewhere: it is now “${now}”. Delete it anyway?`, 'Delete anyway');
        confirm.replaceWith(replacement);
        confirm = replacement;
        confirm.querySelector('button').focus();
        return;
      }
      const problem = writeProblem(panel, view, {}, response.status, text(answer && answer.error));
      say(panel, view, problem.text);
      confirm.remove();
      actions.hidden = false;
    }
  }

  // ---- tokens and the session ----------------------------------------------------------

  /** Takes tokens from the flow. Returns whether what the page shows must change. */
  function acceptTokens(tokens) {
    const claims = window.OrganizerAuth.decodeJwtPayload(tokens.accessToken);
    const scope = typeof claims.scope === 'string' ? claims.scope : '';
    const permissions = Array.isArray(claims.permissions) ? claims.permissions.filter((p) => typeof p === 'string') : [];
    const changed = !session.profile || session.profile.sub !== tokens.idClaims.sub || session.scope !== scope
      || session.permissions.join(' ') !== permissions.join(' ');
    session.accessToken = tokens.accessToken;
    session.expiresAt = (Number(claims.exp) || 0) * 1000;
    session.scope = scope;
    session.scopes = scope.split(' ').filter((s) => s && !OIDC_SCOPES.includes(s));
    session.permissions = permissions;
    session.profile = tokens.idClaims;
    session.requested = tokens.requested;
    clearTimeout(renewTimer);
    if (flow.renewsSilently()) {
      const delay = Math.max(session.expiresAt - Date.now() - RENEW_EARLY_MS, MIN_RENEW_DELAY_MS);
      renewTimer = setTimeout(() => renewOrSignOut().catch(() => {}), delay);
    } else {
      // Nothing can renew it: when it ends, say so (one try first, in case that changed).
      renewTimer = setTimeout(() => renewOrSignOut().catch(() => {}), Math.max(session.expiresAt - Date.now(), 1000));
    }
    return changed;
  }

  function forgetTokens() {
    session.accessToken = null;
    session.expiresAt = 0;
    session.scope = '';
    session.scopes = [];
    session.permissions = [];
    session.profile = null;
    session.requested = '';
    clearTimeout(renewTimer);
  }

  /** Silent renewal; when the session is over the app signs out and the call is abandoned. */
  function renewOrSignOut() {
    if (!inFlightRenewal) {
      inFlightRenewal = (async () => {
        try {
          if (acceptTokens(await flow.renew(session.requested))) showSignedIn();
        } catch (err) {
          if (err && SESSION_OVER.includes(err.error)) {
            const blocked = flow.silentBlocked() && flow.name === 'implicit';
            await signOutHere(noticeFor(blocked ? { error: 'renewal_blocked' } : err, 'expired'));
            throw Object.assign(new Error('signed out'), { signedOut: true });
          }
          throw Object.assign(new Error('renewal failed'), { renewal: true, cause: err });
        }
      })().finally(() => { inFlightRenewal = null; });
    }
    return inFlightRenewal;
  }

  async function signOutHere(notice) {
    forgetTokens();
    showSignedOut(notice);
    await flow.forget();
  }

  /** The poll that gives single logout and single sign-on across applications. */
  async function pollSession() {
    const signedIn = Boolean(session.accessToken);
    if (!signedIn && Date.now() < quietUntil) return;
    try {
      const tokens = await flow.poll(signedIn ? session.requested : null);
      if (tokens && (acceptTokens(tokens) || !signedIn)) showSignedIn();
    } catch (err) {
      if (signedIn && err && SESSION_OVER.includes(err.error)) {
        await signOutHere(noticeFor(err, err.error === 'login_required' ? 'elsewhere' : 'expired'));
      }
      // Anything else (a timeout, the network): keep what we have and try at the next poll.
    }
  }

  /**
   * What to tell the user. Only fixed wording: an error in the URL is attacker controlled
   * until proven otherwise, so its description is never shown.
   */
  function noticeFor(err, context) {
    const raw = err && typeof err.error === 'string' ? err.error : '';
    const code = /^[a-z_]{1,64}$/.test(raw) ? raw : 'unknown_error';
    if (code === 'access_denied') {
      return { kind: 'warning', code, title: 'You did not allow Organizer to read your data',
        text: 'Organizer needs your permission to read your contacts and calendar, so it has nothing to show. '
          + 'Log in again whenever you want to allow it.' };
    }
    if (code === 'renewal_blocked') {
      return { kind: 'warning', code, title: 'Your sign-in has ended',
        text: 'Organizer could not renew it silently: this browser blocks the sign-in service\'s cookies on this site '
          + '(third-party cookies). Log in again to continue.' };
    }
    if (code === 'silent_sign_in_failed') {
      return { kind: 'info', code, title: 'Log in to continue',
        text: 'Organizer could not sign you in again without a page of the sign-in service: your session may have ended, '
          + 'or this browser blocks the sign-in service\'s cookies on this site (third-party cookies).' };
    }
    if (code === 'signed_out_other_tab') {
      return { kind: 'info', code, title: 'You were signed out', text: 'You logged out in another tab. Log in to continue.' };
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
    flow.login(extra || {});
  }

  /** Asks for the configured scope, write scopes included: the consent page lists only what
   * was not allowed before. */
  function allowEditing() {
    flow.login({ scope: config.scope });
  }

  async function logout() {
    forgetTokens();
    // The other tabs of this application: a word, nothing else (no token, no name).
    if (channel) channel.postMessage({ type: 'signed-out' });
    await flow.logout();
  }

  function listenToOtherTabs() {
    if (typeof BroadcastChannel !== 'function') return;
    channel = new BroadcastChannel(`organizer:${config.clientID}`);
    channel.addEventListener('message', (event) => {
      if (!event.data || event.data.type !== 'signed-out') return;
      quietUntil = Date.now() + QUIET_AFTER_LOGOUT_MS;
      if (session.accessToken) signOutHere(noticeFor({ error: 'signed_out_other_tab' }));
    });
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
    const flowName = body.flow === undefined ? 'implicit' : body.flow;
    if (!Object.hasOwn(LIBRARIES, flowName)) throw new Error('config.json: "flow" must be "implicit" or "code".');
    const cacheLocation = body.cacheLocation === undefined ? 'memory' : body.cacheLocation;
    if (!['memory', 'localstorage'].includes(cacheLocation)) throw new Error('config.json: "cacheLocation" must be "memory" or "localstorage".');
    const seconds = Number(body.sessionCheckSeconds);
    const pageSize = Number(body.pageSize);
    return {
      ...body,
      flow: flowName,
      cacheLocation,
      scope: typeof body.scope === 'string' && body.scope ? body.scope : DEFAULT_SCOPE,
      redirectUri: typeof body.redirectUri === 'string' && body.redirectUri ? body.redirectUri : `${window.location.origin}/callback.html`,
      logoutReturnTo: typeof body.logoutReturnTo === 'string' && body.logoutReturnTo ? body.logoutReturnTo : window.location.origin,
      sessionCheckSeconds: Number.isFinite(seconds) && seconds >= 1 ? seconds : DEFAULT_SESSION_CHECK_SECONDS,
      pageSize: Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= 50 ? pageSize : DEFAULT_PAGE_SIZE,
    };
  }

  /** The flow's library, from the site (script-src 'self'): only the one this flow needs,
   * since both set window.auth0. */
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
    try {
      config = await loadConfig();
    } catch (err) {
      showFatal('Organizer is not configured', `${err.message} See docs/spa.md, "config.json".`);
      return;
    }
    const library = LIBRARIES[config.flow];
    try {
      await loadLibrary(library);
    } catch {
      showFatal(`${library.name} is missing`, `The site could not load ${library.src}. Install it with scripts/site-deps.sh (make run does).`);
      return;
    }
    try {
      flow = window.OrganizerAuth[config.flow](config);
    } catch {
      showFatal('Sign-in cannot start', `${library.name} refused the configuration in config.json.`);
      return;
    }
    listenToOtherTabs();

    const outcome = await flow.begin();
    if (outcome.tokens) {
      acceptTokens(outcome.tokens);
      showSignedIn();
    } else {
      // A failed callback (other than a refusal) was followed by a silent sign-in; when that
      // failed too, say what went wrong with the callback. A plain "no session" says nothing.
      const err = outcome.callbackError || outcome.error;
      showSignedOut(err && err.error !== 'login_required' ? noticeFor(err, 'load') : null);
    }
    setInterval(pollSession, config.sessionCheckSeconds * 1000);
  }

  document.addEventListener('DOMContentLoaded', start);
})();
