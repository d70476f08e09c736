// One panel per service of config.json: its frame (title, filters, Add, a read-only note), its
// list, loaded a page at a time with the service's cursors, and its rows. Everything a panel
// says of its service comes from that service's entry.
import { answerOf, callApi, errorCode, listUrl } from './api.js';
import { button, fill, h, isCurrent, text } from './dom.js';
import { editItem, openEditor } from './editor.js';
import { metaOf } from './fields.js';
import { groupByDay, rangeOf, rangeQuery, RangeState, timeField } from './range.js';
import { askDelete, toggle } from './row-actions.js';
import { itemLabel, quotaText, what } from './services.js';
import { allowEditing, granted, login, permitted, session, site, withScope } from './session.js';

/**
 * The panel of `service` in `view`: what the editor and the rows are given. Its node is there
 * only while the view is the page's current one, so answers for a replaced view are dropped.
 */
export function panelFor(service, view) {
  const range = rangeOf(service);
  const panel = { service, view, filters: initialFilters(service), loads: 0, range: range ? new RangeState(range) : null, quiet: null };
  panel.node = () => {
    const node = document.getElementById(`panel-${service.name}`);
    return node && isCurrent(view) ? node : null;
  };
  // What just happened is news for a few seconds, or until the next action (which says '').
  // A failure (`keep`) stays until then: the user has something to do about it.
  panel.say = (message, { keep = false } = {}) => {
    const node = panel.node();
    if (!node) return;
    const status = node.querySelector('.panel-status');
    status.textContent = message;
    status.classList.toggle('error', Boolean(message && keep));
    clearTimeout(panel.quiet);
    if (message && !keep) {
      panel.quiet = setTimeout(() => {
        if (status.textContent === message) status.textContent = '';
      }, MESSAGE_SECONDS * 1000);
    }
  };
  panel.reload = (options = {}) => loadPanel(panel, options);
  return panel;
}

/** How long a message of what just happened stays. */
const MESSAGE_SECONDS = 8;

/** A `choice` filter starts at the app's default, else the API's, else its first value. */
function initialFilters(service) {
  const values = {};
  for (const f of service.list.filters) {
    if (f.type !== 'choice') continue;
    values[f.name] = [f.appDefault, f.default].find((v) => f.values.includes(v)) || f.values[0];
  }
  return values;
}

/** The start of today in the browser's time zone, as a `time` filter's `today`. */
function today() {
  const start = new Date();
  start.setHours(0, 0, 0, 0);
  return start.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The list's query: the chosen filters, the words searched for, and the time range shown. */
function filterQuery(panel) {
  const query = panel.range ? rangeQuery(panel.range) : {};
  for (const f of panel.service.list.filters) {
    if (f.type === 'choice') query[f.name] = panel.filters[f.name];
    else if (f.type === 'search' && panel.filters[f.name]) query[f.name] = panel.filters[f.name];
    else if (f.type === 'time' && !panel.range && f.appDefault === 'today') query[f.name] = today();
  }
  return query;
}

/** The list loaded again from its start for a changed filter, its old rows kept meanwhile. */
function refilter(panel) {
  panel.say('');
  const node = panel.node();
  if (node) node.setAttribute('aria-busy', 'true');
  loadPanel(panel);
}

/** How long typing pauses before the list is searched. */
const SEARCH_PAUSE_MS = 250;

/** A search box: the API finds the matches (all of the user's items, not the page shown). */
function searchBox(panel, f) {
  let pause = null;
  const label = `Search ${what(panel.service)}`;
  return h('label', { class: 'filter search' },
    h('span', { class: 'visually-hidden' }, label),
    h('input', {
      type: 'search', 'data-filter': f.name, placeholder: `${label}…`, maxlength: 100, autocomplete: 'off',
      value: panel.filters[f.name] || '', title: f.description || undefined,
      oninput: (ev) => {
        clearTimeout(pause);
        const words = ev.currentTarget.value.trim();
        pause = setTimeout(() => {
          if (words === (panel.filters[f.name] || '')) return;
          panel.filters[f.name] = words;
          refilter(panel);
        }, SEARCH_PAUSE_MS);
      },
    }));
}

const canWrite = (service) => granted(service.scopes.write);

function filterControls(panel) {
  const search = panel.service.list.filters.filter((f) => f.type === 'search').map((f) => searchBox(panel, f));
  return search.concat(panel.service.list.filters.filter((f) => f.type === 'choice').map((f) => h('label', { class: 'filter' },
    `${f.name[0].toUpperCase()}${f.name.slice(1)} `,
    h('select', {
      'data-filter': f.name,
      title: f.description || undefined,
      onchange: (ev) => {
        panel.filters[f.name] = ev.target.value;
        panel.say('');
        fillPanel(panel, 'loading', [h('p', { class: 'status', role: 'status' }, 'Loading…')]);
        loadPanel(panel);
      },
    }, f.values.map((v) => h('option', { value: v, selected: v === panel.filters[f.name] }, v))))));
}

/** A time-listed service's choice of what to show (upcoming, or a week) and the week's moves. */
function drawRange(panel) {
  const node = panel.node();
  const { range } = panel;
  if (!node || !range) return;
  const move = (change) => () => {
    change();
    drawRange(panel);
    refilter(panel);
  };
  const mode = (value, label) => button(label, move(() => range.show(value)), {
    class: 'small', 'aria-pressed': String(range.mode === value), 'data-range': value,
  });
  fill(node.querySelector('.range-slot'),
    h('div', { class: 'segmented', role: 'group', 'aria-label': `Show ${what(panel.service)}` },
      mode('upcoming', 'Upcoming'), mode('week', 'Week')),
    range.mode === 'week' ? h('div', { class: 'week-nav' },
      button('‹', move(() => range.step(-1)), { class: 'small', 'aria-label': 'Previous week', 'data-week': 'previous' }),
      h('span', { class: 'week-label', 'data-testid': `week-${panel.service.name}`, 'aria-live': 'polite' }, range.label()),
      button('›', move(() => range.step(1)), { class: 'small', 'aria-label': 'Next week', 'data-week': 'next' }),
      range.isThisWeek() ? null : button('This week', move(() => range.step(0)), { class: 'small', 'data-week': 'this' }))
      : null);
}

/** A panel's fixed parts: title, filters, Add, the read-only note; its form and list go in slots. */
export function panelFrame(panel) {
  const { service } = panel;
  const id = service.name;
  // Without the read scope the list says what is missing; a note on writing would be noise.
  const note = canWrite(service) || !granted(service.scopes.read) ? null
    : permitted(service.scopes.write)
      ? h('p', { class: 'note', 'data-testid': `readonly-${id}` },
        `Read-only: you have not allowed Organizer to change your ${what(service)} yet. `,
        button('Allow editing', () => allowEditing()))
      : h('p', { class: 'note', 'data-testid': `readonly-${id}` }, `Read-only: your account may view your ${what(service)} but not change them.`);
  return h('section', {
    class: 'card panel', id: `panel-${id}`, 'aria-labelledby': `title-${id}`, 'aria-busy': 'true', 'data-state': 'loading',
  },
  h('div', { class: 'panel-head' },
    h('h2', { id: `title-${id}`, tabindex: '-1' }, service.title),
    h('div', { class: 'panel-tools' },
      filterControls(panel),
      canWrite(service) ? button(`Add ${service.one}`, () => openEditor(panel, { mode: 'add' }), { class: 'primary small', 'data-action': 'add' }) : null)),
  note,
  panel.range ? h('div', { class: 'range-slot' }) : null,
  h('p', { class: 'panel-status', role: 'status', 'data-testid': `status-${id}` }),
  h('div', { class: 'editor-slot' }),
  h('div', { class: 'list-slot' }, h('p', { class: 'status' }, 'Loading…')),
  canWrite(service) ? h('p', { class: 'hint quota', 'data-testid': `quota-${id}` }, `Up to ${quotaText(service)}.`) : null);
}

/** Redraws a panel's list, unless the view it belongs to has been replaced meanwhile. */
function fillPanel(panel, state, content, { focus = false } = {}) {
  const node = panel.node();
  if (!node) return;
  node.dataset.state = state;
  node.setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
  fill(node.querySelector('.list-slot'), ...content.filter(Boolean));
  // The button the user pressed is gone: keep keyboard focus in the panel.
  if (focus) node.querySelector('h2').focus();
}

function itemRow(panel, item) {
  const { service } = panel;
  const id = typeof item.id === 'string' ? item.id : null;
  const writable = Boolean(canWrite(service) && id);
  const label = itemLabel(service, item);
  const row = h('li', { 'data-id': id || undefined });
  const redraw = (next) => {
    const replacement = itemRow(panel, { ...next, id });
    row.replaceWith(replacement);
    const box = replacement.querySelector('[data-toggle]');
    if (box) box.focus();
  };
  // A box the user may change is a checkbox of the row; else its state is words in the meta.
  const toggles = writable ? service.fields.filter((f) => f.type === 'boolean').map((f) => h('label', { class: 'toggle' },
    h('input', {
      type: 'checkbox', checked: item[f.name] === true, 'data-toggle': f.name, 'aria-label': `${f.label}: ${label}`,
      onchange: (ev) => toggle(panel, item, f, ev.currentTarget, redraw),
    }), f.label)) : [];
  row.append(h('div', { class: 'item-main' },
    h('strong', {}, label),
    h('span', { class: 'meta' }, metaOf(service, item, { toggles: writable, underDay: Boolean(panel.range) })),
    toggles.length ? h('div', { class: 'toggles' }, toggles) : null));
  if (writable) {
    row.append(h('div', { class: 'item-actions' },
      button('Edit', (ev) => editItem(panel, id, ev.currentTarget), { class: 'small', 'aria-label': `Edit ${label}` }),
      button('Delete', () => askDelete(panel, item, row), { class: 'small danger', 'aria-label': `Delete ${label}` })));
  }
  return row;
}

function unreachable(err, service, url) {
  return err && err.renewal
    ? 'Your sign-in could not be renewed (the sign-in service did not answer).'
    : `Could not reach the ${what(service)} service (${url.origin}).`;
}

/** A panel drawn in the page starts: its range controls, then its list. */
export function startPanel(panel) {
  drawRange(panel);
  return loadPanel(panel);
}

/**
 * Loads the list from its start, or its next page (`cursor`, with the `items` shown so far).
 * `saved`: the item just added or saved. It is marked in the list; when it is not on the pages
 * loaded (a name late in the alphabet, an event far ahead) it is shown above the list, so that
 * what the user just did is always in sight. A new load (a filter changed) drops the answers
 * of the ones before it.
 */
export async function loadPanel(panel, { cursor = null, items = [], focus = false, saved = null, load = null } = {}) {
  const { service } = panel;
  const ticket = cursor ? load : ++panel.loads;
  const stale = () => ticket !== panel.loads;
  const retry = () => {
    fillPanel(panel, 'loading', [h('p', { class: 'status', role: 'status' }, 'Loading…')]);
    loadPanel(panel, { focus: true });
  };
  const url = listUrl(service, { ...filterQuery(panel), limit: String(site.config.pageSize), ...(cursor ? { cursor } : {}) });
  let response;
  try {
    response = await callApi(url);
  } catch (err) {
    if ((err && err.signedOut) || stale()) return;
    fillPanel(panel, 'error', [
      h('p', { class: 'status error', role: 'alert' }, unreachable(err, service, url)),
      button('Retry', retry)], { focus });
    return;
  }
  const body = await answerOf(response);
  if (stale()) return;
  try {
    if (response.ok) {
      const page = body && Array.isArray(body.items) ? body.items.filter((i) => i && typeof i === 'object') : null;
      if (!page) throw new Error('not a list');
      const all = items.concat(page);
      const searched = service.list.filters.find((f) => f.type === 'search' && panel.filters[f.name]);
      if (all.length === 0 && !(panel.range && panel.range.mode === 'week')) {
        const empty = searched ? `No ${service.many} match “${panel.filters[searched.name]}”.`
          : (service.list.empty || `No ${service.many} yet.`);
        fillPanel(panel, 'empty', [h('p', { class: 'status empty', 'data-testid': `empty-${service.name}` }, empty)], { focus });
        return;
      }
      const next = typeof body.next === 'string' && body.next ? body.next : null;
      const row = (item) => {
        const li = itemRow(panel, item);
        if (saved && item.id === saved.id) li.classList.add('saved');
        return li;
      };
      const list = () => (panel.range
        ? groupByDay(panel.range, timeField(service), all, row)
        : h('ul', { class: 'items' }, all.map(row)));
      const aside = saved && saved.id && !all.some((i) => i.id === saved.id)
        ? h('div', { class: 'just-saved', 'data-testid': `just-saved-${service.name}` },
          h('p', { class: 'hint' }, 'Just saved (further down the list):'),
          h('ul', { class: 'items' }, row(saved)))
        : null;
      const more = () => {
        fillPanel(panel, 'loading', [aside, list(), h('p', { class: 'status', role: 'status' }, 'Loading more…')]);
        loadPanel(panel, { cursor: next, items: all, focus: true, saved, load: ticket });
      };
      fillPanel(panel, all.length ? 'ready' : 'empty', [aside, list(), next ? button('Show more', more) : null], { focus });
      return;
    }
    // 403: the function's insufficient_scope, or an API Gateway authorizer's plain
    // {"message":"Forbidden"}. Either way, a token without the panel's scope is the cause.
    const scope = service.scopes.read;
    if (response.status === 403 && (text(body && body.error) === 'insufficient_scope' || !session.scopes.includes(scope))) {
      fillPanel(panel, 'forbidden', [
        h('p', { class: 'status error', role: 'alert', 'data-missing-scope': scope },
          `Missing permission: ${scope}. This sign-in does not allow Organizer to read your ${what(service)}.`),
        button(`Allow ${what(service)} access`, () => login({ prompt: 'consent', scope: withScope(scope) }))], { focus });
      return;
    }
    fillPanel(panel, 'error', [
      h('p', { class: 'status error', role: 'alert' },
        `The ${what(service)} service answered with an error (HTTP ${response.status}${errorCode(body)}). Try again in a moment.`),
      button('Retry', retry)], { focus });
  } catch {
    fillPanel(panel, 'error', [
      h('p', { class: 'status error', role: 'alert' }, `The ${what(service)} service sent an answer Organizer cannot read.`),
      button('Retry', retry)], { focus });
  }
}
