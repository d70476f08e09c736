// The three pages the app can show: an error it cannot get past, signed out (with a notice of
// why), and signed in (who, the permissions granted, one panel per service). Each draws a new
// view, so that answers still arriving for the one before are dropped.
import { account, button, fill, h, main, newView } from './dom.js';
import { panelFor, panelFrame, startPanel } from './panels.js';
import { countInWords, namesInWords, scopeInWords, what } from './services.js';
import { login, logout, session, site } from './session.js';

export function showFatal(title, detail) {
  newView('error');
  fill(account());
  fill(main(), h('section', { class: 'card notice error', role: 'alert' }, h('h2', {}, title), h('p', {}, detail)));
}

/** What Organizer is, from the services it shows: "Your contacts and calendar, one sign-in". */
function intro(services) {
  const yours = namesInWords(services, (s) => `your ${what(s)}`);
  const keeps = services.length === 1
    ? `Organizer keeps ${yours} behind one sign-in. `
    : `Organizer keeps ${yours} in ${countInWords(services.length)} services that share one sign-in. `;
  return h('section', { class: 'card intro' },
    h('h2', {}, `Your ${namesInWords(services)}, one sign-in`),
    h('p', {}, `${keeps}Log in to see them; the first time, you will be asked to allow Organizer to use them.`),
    button('Log in', () => login(), { class: 'primary' }));
}

export function showSignedOut(notice) {
  newView('signed-out');
  fill(account(), button('Log in', () => login(), { class: 'primary' }));
  fill(main(),
    notice
      ? h('section', { class: `card notice ${notice.kind}`, role: notice.kind === 'error' ? 'alert' : 'status', 'data-notice': notice.code },
        h('h2', {}, notice.title), h('p', {}, notice.text))
      : null,
    intro(site.config.services));
}

const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

/**
 * One tab per panel: on a phone the panels are behind tabs (one shown at a time, app.css); on a
 * wider screen side by side, the tabs hidden. Arrow keys move between tabs, as in any tab list.
 */
function panelTabs(services, panelsNode) {
  const tabs = services.map((s, i) => h('button', {
    type: 'button', role: 'tab', id: `tab-${s.name}`, 'aria-controls': `panel-${s.name}`,
    'aria-selected': String(i === 0), tabindex: i === 0 ? '0' : '-1', onclick: () => choose(i),
    onkeydown: (ev) => {
      const by = { ArrowRight: 1, ArrowLeft: -1 }[ev.key];
      if (!by) return;
      ev.preventDefault();
      choose((i + by + services.length) % services.length);
      tabs[(i + by + services.length) % services.length].focus();
    },
  }, s.title));
  function choose(chosen) {
    tabs.forEach((tab, i) => {
      tab.setAttribute('aria-selected', String(i === chosen));
      tab.tabIndex = i === chosen ? 0 : -1;
    });
    for (const node of panelsNode.children) node.toggleAttribute('data-current', node.id === `panel-${services[chosen].name}`);
  }
  if (panelsNode.firstElementChild) panelsNode.firstElementChild.setAttribute('data-current', '');
  return h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Services' }, tabs);
}

/** What the user allowed this app, in words, folded away: it is not what they came for. */
function grants(services) {
  return h('details', { class: 'grants', 'data-testid': 'grants' },
    h('summary', {}, 'What this app may do'),
    session.scopes.length
      ? h('ul', { class: 'scopes', 'data-testid': 'scopes' }, session.scopes.map((s) => h('li', { 'data-scope': s }, scopeInWords(services, s))))
      : h('p', {}, 'Nothing yet.'));
}

export function showSignedIn() {
  const view = newView('signed-in');
  const who = session.profile || {};
  const { services } = site.config;
  fill(account(),
    h('span', { class: 'who', 'data-testid': 'user-name' }, who.name || who.email || who.sub || 'Logged in'),
    button('Log out', () => logout()));
  const panels = services.map((service) => panelFor(service, view));
  const panelsNode = h('div', { class: 'panels' }, panels.map(panelFrame));
  fill(main(),
    site.flow.renewsSilently() ? null : h('section', { class: 'card notice warning', role: 'status' },
      h('p', { class: 'status warning', 'data-testid': 'renewal-note' },
        'This browser blocks the sign-in service\'s cookies on this site (third-party cookies), so Organizer cannot renew '
        + `your sign-in silently: you will be asked to log in again when it ends, at ${clock.format(new Date(session.expiresAt))}.`)),
    services.length > 1 ? panelTabs(services, panelsNode) : null,
    panelsNode,
    grants(services));
  for (const panel of panels) startPanel(panel);
}
