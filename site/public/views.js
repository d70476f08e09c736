// The three pages the app can show: an error it cannot get past, signed out (with a notice of
// why), and signed in (who, the permissions granted, one panel per service). Each draws a new
// view, so that answers still arriving for the one before are dropped.
import { account, button, fill, h, main, newView } from './dom.js';
import { loadPanel, panelFor, panelFrame } from './panels.js';
import { countInWords, namesInWords, what } from './services.js';
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

export function showSignedIn() {
  const view = newView('signed-in');
  const who = session.profile || {};
  fill(account(),
    h('span', { class: 'who', 'data-testid': 'user-name' }, who.name || who.email || who.sub || 'Signed in'),
    button('Log out', () => logout()));
  const panels = site.config.services.map((service) => panelFor(service, view));
  fill(main(),
    h('section', { class: 'card grants', 'aria-labelledby': 'grants-title' },
      h('h2', { id: 'grants-title' }, 'Permissions granted to Organizer'),
      session.scopes.length
        ? h('ul', { class: 'scopes', 'data-testid': 'scopes' }, session.scopes.map((s) => h('li', {}, s)))
        : h('p', {}, 'None.'),
      site.flow.renewsSilently() ? null : h('p', { class: 'status warning', 'data-testid': 'renewal-note' },
        'This browser blocks the sign-in service\'s cookies on this site (third-party cookies), so Organizer cannot renew '
        + `your sign-in silently: you will be asked to log in again when it ends, at ${clock.format(new Date(session.expiresAt))}.`)),
    h('div', { class: 'panels' }, panels.map(panelFrame)));
  for (const panel of panels) loadPanel(panel);
}
