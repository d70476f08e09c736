// The signed-in session: the tokens the flow gives (auth.js), their renewal, the poll that gives
// single logout and single sign-on, logging in and out, and the word other tabs send. One place
// holds the access token: the `session` object below, in memory only (never web storage or a
// cookie). The pages themselves are drawn elsewhere: start() is given the two views to show.
import { decodeJwtPayload } from './auth.js';
import { namesInWords } from './services.js';

const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
/** Renew this long before the token expires, so calls never race its expiry. */
export const RENEW_EARLY_MS = 60_000;
/** Never renew on a timer more often than this, whatever the token's lifetime. */
const MIN_RENEW_DELAY_MS = 30_000;
/** After another tab logged out, the poll does not sign in again for this long (the tenant's
 * logout may not have happened yet). */
const QUIET_AFTER_LOGOUT_MS = 10_000;
const SESSION_OVER = ['login_required', 'consent_required', 'interaction_required', 'invalid_grant', 'missing_refresh_token'];

export const session = { accessToken: null, expiresAt: 0, scope: '', scopes: [], permissions: [], profile: null, requested: '' };

/** The site's configuration (config.json, checked) and its sign-in flow, set once by start(). */
export const site = { config: null, flow: null };

/** { signedIn(), signedOut(notice) }: how the session's changes are shown. */
let views = null;
let renewTimer = null;
let inFlightRenewal = null;
let channel = null;
let quietUntil = 0;

/** Whether the token grants `scope` now; whether the user's roles allow it at all. */
export const granted = (scope) => session.scopes.includes(scope);
export const permitted = (scope) => session.permissions.includes(scope);

/** Takes tokens from the flow. Returns whether what the page shows must change. */
function acceptTokens(tokens) {
  const claims = decodeJwtPayload(tokens.accessToken);
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
  if (site.flow.renewsSilently()) {
    const delay = Math.max(session.expiresAt - Date.now() - RENEW_EARLY_MS, MIN_RENEW_DELAY_MS);
    renewTimer = setTimeout(() => renewOrSignOut().catch(() => {}), delay);
  } else {
    // Nothing can renew it: when it ends, say so (one try first, in case that changed).
    renewTimer = setTimeout(() => renewOrSignOut().catch(() => {}), Math.max(session.expiresAt - Date.now(), 1000));
  }
  return changed;
}

function forgetTokens() {
  Object.assign(session, { accessToken: null, expiresAt: 0, scope: '', scopes: [], permissions: [], profile: null, requested: '' });
  clearTimeout(renewTimer);
}

/** Silent renewal; when the session is over the app signs out and the call is abandoned. */
export function renewOrSignOut() {
  if (!inFlightRenewal) {
    inFlightRenewal = (async () => {
      try {
        if (acceptTokens(await site.flow.renew(session.requested))) views.signedIn();
      } catch (err) {
        if (err && SESSION_OVER.includes(err.error)) {
          const blocked = site.flow.silentBlocked() && site.flow.name === 'implicit';
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
  views.signedOut(notice);
  await site.flow.forget();
}

/** The poll that gives single logout and single sign-on across applications. */
async function pollSession() {
  const signedIn = Boolean(session.accessToken);
  if (!signedIn && Date.now() < quietUntil) return;
  try {
    const tokens = await site.flow.poll(signedIn ? session.requested : null);
    if (tokens && (acceptTokens(tokens) || !signedIn)) views.signedIn();
  } catch (err) {
    if (signedIn && err && SESSION_OVER.includes(err.error)) {
      await signOutHere(noticeFor(err, err.error === 'login_required' ? 'elsewhere' : 'expired'));
    }
    // Anything else (a timeout, the network): keep what we have and try at the next poll.
  }
}

/**
 * What to tell the user. Only fixed wording: an error in the URL is attacker controlled until
 * proven otherwise, so its description is never shown.
 */
function noticeFor(err, context) {
  const raw = err && typeof err.error === 'string' ? err.error : '';
  const code = /^[a-z_]{1,64}$/.test(raw) ? raw : 'unknown_error';
  if (code === 'access_denied') {
    return { kind: 'warning', code, title: 'You did not allow Organizer to read your data',
      text: `Organizer needs your permission to read your ${namesInWords(site.config.services)}, so it has nothing to show. `
        + 'Log in again whenever you want to allow it.' };
  }
  if (code === 'renewal_blocked') {
    return { kind: 'warning', code, title: 'Your sign-in has ended',
      text: 'Organizer could not renew it silently: this browser blocks the sign-in service\'s cookies on this site '
        + '(third-party cookies). Log in again to continue.' };
  }
  if (code === 'silent_sign_in_failed') {
    return { kind: 'info', code, title: 'Log in to continue',
      text: 'Organizer could not log you in again without a page of the sign-in service: your session may have ended, '
        + 'or this browser blocks the sign-in service\'s cookies on this site (third-party cookies).' };
  }
  if (code === 'signed_out_other_tab') {
    return { kind: 'info', code, title: 'You were logged out', text: 'You logged out in another tab. Log in to continue.' };
  }
  if (code === 'login_required' && context === 'elsewhere') {
    return { kind: 'info', code: 'signed_out_elsewhere', title: 'You were logged out',
      text: 'Your session ended in another tab or application. Log in to continue.' };
  }
  if (SESSION_OVER.includes(code) && context === 'expired') {
    return { kind: 'info', code: 'session_expired', title: 'Your session has ended', text: 'Log in again to continue.' };
  }
  if (code === 'consent_required') {
    return { kind: 'info', code, title: 'One more step',
      text: 'You are logged in, but this application needs your permission to read your data. Log in to allow it.' };
  }
  if (code === 'timeout') {
    return { kind: 'error', code, title: 'The sign-in service did not answer', text: 'Check your connection and try again.' };
  }
  return { kind: 'error', code, title: 'Sign-in did not complete',
    text: `The sign-in could not be completed (${code}). Log in to try again.` };
}

/** The configured scope plus `scope`: asking again for what a panel needs. */
export function withScope(scope) {
  const scopes = new Set(site.config.scope.split(' ').filter(Boolean));
  scopes.add(scope);
  return [...scopes].join(' ');
}

export function login(extra) {
  site.flow.login(extra || {});
}

/** Asks for the configured scope, write scopes included: the consent page lists only what was
 * not allowed before. */
export function allowEditing() {
  site.flow.login({ scope: site.config.scope });
}

export async function logout() {
  forgetTokens();
  // The other tabs of this application: a word, nothing else (no token, no name).
  if (channel) channel.postMessage({ type: 'signed-out' });
  await site.flow.logout();
}

function listenToOtherTabs() {
  if (typeof BroadcastChannel !== 'function') return;
  channel = new BroadcastChannel(`organizer:${site.config.clientID}`);
  channel.addEventListener('message', (event) => {
    if (!event.data || event.data.type !== 'signed-out') return;
    quietUntil = Date.now() + QUIET_AFTER_LOGOUT_MS;
    if (session.accessToken) signOutHere(noticeFor({ error: 'signed_out_other_tab' }));
  });
}

/**
 * Signs in on load (the callback, or silently), shows the outcome, then polls. `shown`:
 * { signedIn(), signedOut(notice) }.
 */
export async function start(config, flow, shown) {
  site.config = config;
  site.flow = flow;
  views = shown;
  listenToOtherTabs();
  const outcome = await flow.begin();
  if (outcome.tokens) {
    acceptTokens(outcome.tokens);
    views.signedIn();
  } else {
    // A failed callback (other than a refusal) was followed by a silent sign-in; when that
    // failed too, say what went wrong with the callback. A plain "no session" says nothing.
    const err = outcome.callbackError || outcome.error;
    views.signedOut(err && err.error !== 'login_required' ? noticeFor(err, 'load') : null);
  }
  setInterval(pollSession, config.sessionCheckSeconds * 1000);
}
