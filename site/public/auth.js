// Organizer's two sign-in flows behind one small interface, so that the rest of the app never
// needs to know which one runs (app.js picks one by config.json's `flow`, session.js drives it):
//
// - implicit: auth0-js (WebAuth), tokens in the URL fragment, renewed with checkSession's
//   hidden iframe (web_message, prompt=none);
// - code: auth0-spa-js, authorization code + PKCE, renewed with rotating refresh tokens; the
//   hidden iframe only signs in again where no refresh token is at hand (a reload with the
//   in-memory cache) and polls the tenant's session for single logout, where it can see it.
//
// Where the site and the tenant are two sites and the browser blocks third-party cookies, the
// iframe never sees the tenant's session and always answers login_required. Each flow finds out
// once, right after an interactive sign-in (when the session surely exists), whether its iframe
// can see the session (`silent` below): if it cannot, the poll never takes its login_required
// for a logout, the implicit app says that it cannot renew and asks to log in when its token
// ends, and the code app keeps renewing with its refresh token.
//
// A flow returns tokens as { accessToken, idClaims, requested }: `requested` is the scope asked
// for (what renewals ask for again). Errors are objects with an OAuth `error` code.
//
// The libraries (auth0-js, auth0-spa-js) are classic scripts the app loads on demand; both set
// window.auth0, which is where the flows find them.
import { withoutWriteScopes } from './services.js';

const OIDC = 'openid profile email';
/** A silent check that gets no answer gives up after this (auth0-js waits 60 s). */
const CHECK_TIMEOUT_MS = 10_000;

export function decodeJwtPayload(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(decodeURIComponent(escape(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')))));
  } catch {
    return {};
  }
}

/** Asks with the configured scope; on `code` (by default consent_required: a consent given
 * before the write scopes existed) asks again, silently, without the services' write scopes.
 * The app then offers "Allow editing". */
async function withConsentFallback(config, ask, code = 'consent_required') {
  try {
    return await ask(config.scope);
  } catch (err) {
    const narrower = withoutWriteScopes(config.scope, config.services);
    if (err && err.error === code && narrower !== config.scope) return ask(narrower);
    throw err;
  }
}

function oauthError(err) {
  if (err && typeof err.error === 'string') return err;
  return { error: 'unknown_error', cause: err };
}

/** Whether the iframe sees the tenant's session: kept where the cache is kept (a boolean
 * about the browser, nothing secret), so a reload with cached tokens still knows. */
function silentMemory(key, persist) {
  let value = null;
  if (persist) {
    try {
      const stored = localStorage.getItem(key);
      value = stored === 'yes' ? true : stored === 'no' ? false : null;
    } catch {
      // storage refused: keep it in memory
    }
  }
  return {
    get: () => value,
    set(next) {
      value = next;
      if (!persist) return;
      try {
        if (next === null) localStorage.removeItem(key);
        else localStorage.setItem(key, next ? 'yes' : 'no');
      } catch {
        // as above
      }
    },
  };
}

// ---- implicit grant (auth0-js) ---------------------------------------------------------

export function implicit(config) {
  const webAuth = new window.auth0.WebAuth({
    domain: config.domain,
    clientID: config.clientID,
    audience: config.audience,
    scope: config.scope,
    responseType: 'token id_token',
    redirectUri: config.redirectUri,
    overrides: config.overrides || undefined,
  });
  const silent = silentMemory('', false);
  let inFlight = null;

  /** One silent check at a time; the poll and a renewal share it. */
  function check(scope) {
    if (!inFlight) {
      inFlight = new Promise((resolve, reject) => {
        webAuth.checkSession({ scope, timeout: CHECK_TIMEOUT_MS }, (err, result) => (err ? reject(oauthError(err)) : resolve(result)));
      }).finally(() => { inFlight = null; });
    }
    return inFlight.then((result) => toTokens(result, scope));
  }

  /** auth0-js verified the ID token (signature, issuer, audience, nonce, at_hash) when there
   * is one; a result without one was not verified, so it is refused. */
  function toTokens(result, requested) {
    if (!result || typeof result.accessToken !== 'string' || typeof result.idToken !== 'string'
      || !result.idTokenPayload || typeof result.idTokenPayload.sub !== 'string') {
      throw { error: 'invalid_response' };
    }
    const claims = decodeJwtPayload(result.accessToken);
    const granted = typeof claims.scope === 'string' ? claims.scope : (typeof result.scope === 'string' ? result.scope : '');
    return {
      accessToken: result.accessToken,
      idClaims: result.idTokenPayload,
      // Renewals ask for what was granted: asking for more would need consent again.
      requested: requested || [OIDC, granted].join(' '),
    };
  }

  return {
    name: 'implicit',
    dpop: false,
    renewsSilently: () => silent.get() !== false,

    /** The implicit grant has no DPoP: its token is a bearer token. */
    async authorization(_url, _method, accessToken) {
      return { Authorization: `Bearer ${accessToken}` };
    },
    silentBlocked: () => silent.get() === false,

    async begin() {
      const hash = window.location.hash;
      if (/(^#|&)(access_token|id_token|error|state)=/.test(hash)) {
        // The fragment holds the token: out of the address bar and session history first.
        window.history.replaceState(null, '', '/');
        let tokens;
        try {
          const result = await new Promise((resolve, reject) => {
            webAuth.parseHash({ hash }, (err, res) => (err ? reject(oauthError(err)) : resolve(res)));
          });
          tokens = toTokens(result, null);
        } catch (err) {
          // A refusal stays a refusal; anything else falls through to a silent sign-in.
          if (err.error === 'access_denied') return { error: err };
          return { ...(await this.silentStart()), callbackError: err };
        }
        // Now the session surely exists: can the iframe see it?
        try {
          await check(tokens.requested);
          silent.set(true);
        } catch (err) {
          if (['login_required', 'consent_required', 'interaction_required'].includes(err.error)) silent.set(false);
        }
        return { tokens };
      }
      return this.silentStart();
    },

    async silentStart() {
      try {
        const tokens = await withConsentFallback(config, check);
        silent.set(true);
        return { tokens };
      } catch (err) {
        return { error: err };
      }
    },

    renew: (requested) => check(requested),

    /** The poll: tokens when the session is there, null when there is nothing to learn. */
    async poll(requested) {
      if (silent.get() === false) return null;
      return requested ? check(requested) : withConsentFallback(config, check);
    },

    login({ scope, prompt } = {}) {
      webAuth.authorize({ scope: scope || config.scope, ...(prompt ? { prompt } : {}) });
    },

    async logout() {
      webAuth.logout({ returnTo: config.logoutReturnTo, clientID: config.clientID });
    },

    async forget() {},
  };
}

// ---- authorization code + PKCE (auth0-spa-js) ------------------------------------------

export function code(config) {
  const { Auth0Client } = window.auth0;
  const base = {
    domain: config.domain,
    clientId: config.clientID,
    ...(config.issuer ? { issuer: config.issuer } : {}),
    authorizationParams: { audience: config.audience, redirect_uri: config.redirectUri, scope: OIDC },
    authorizeTimeoutInSeconds: CHECK_TIMEOUT_MS / 1000,
  };
  const memory = config.cacheLocation !== 'localstorage';
  // DPoP (RFC 9449) when the API asks for it: auth0-spa-js makes a non-extractable key pair
  // (kept in IndexedDB, per client id, so both clients below share it), sends a proof to the
  // token endpoint, and makes the proofs the API calls need (generateDpopProof).
  const dpop = config.dpop !== 'off';
  // Tokens come from here: refresh tokens, rotated at every use, never an iframe.
  // With the in-memory cache the refresh token lives in auth0-spa-js's worker, loaded from
  // the site (the CSP allows no blob: worker).
  const client = new Auth0Client({
    ...base,
    useRefreshTokens: true,
    useRefreshTokensFallback: false,
    cacheLocation: memory ? 'memory' : 'localstorage',
    ...(memory ? { workerUrl: '/vendor/auth0-spa-js.worker.production.js' } : {}),
    useDpop: dpop,
  });
  // The hidden iframe (prompt=none, web_message): asks the tenant whether its session is
  // there. A client of its own, without refresh tokens, so that its answers never touch the
  // refresh token above; its cache is its own memory.
  const iframe = new Auth0Client({ ...base, useRefreshTokens: false, cacheLocation: 'memory', useDpop: dpop });
  const silent = silentMemory(`organizer.${config.clientID}.silent`, !memory);
  // 'refresh': tokens from a refresh token; 'iframe': from the hidden iframe (a reload with
  // the in-memory cache, or single sign-on from another application).
  let source = null;
  // "This browser was signed in to this app": a word in localStorage, nothing secret, so that
  // a reload that cannot sign in silently says so (auth0-spa-js's own is.authenticated cookie
  // is removed by every login_required of the iframe, the probe's included).
  const marker = `organizer.${config.clientID}.signed-in`;
  const mark = (on) => {
    try {
      if (on) localStorage.setItem(marker, 'yes');
      else localStorage.removeItem(marker);
    } catch {
      // storage refused: the notice is only less precise
    }
  };
  const wasSignedIn = () => {
    try {
      return localStorage.getItem(marker) === 'yes';
    } catch {
      return false;
    }
  };

  function toTokens(result, requested) {
    if (!result || typeof result.access_token !== 'string' || typeof result.id_token !== 'string') {
      throw { error: 'invalid_response' };
    }
    // auth0-spa-js verified the ID token (signature, issuer, audience, nonce) before caching it.
    const idClaims = decodeJwtPayload(result.id_token);
    if (typeof idClaims.sub !== 'string') throw { error: 'invalid_response' };
    return { accessToken: result.access_token, idClaims, requested };
  }

  const fromRefresh = (requested, cacheMode = 'on') => client
    .getTokenSilently({ cacheMode, detailedResponse: true, authorizationParams: { scope: requested } })
    .then((r) => toTokens(r, requested), (err) => { throw oauthError(err); });

  const fromIframe = (requested) => iframe
    .getTokenSilently({ cacheMode: 'off', detailedResponse: true, authorizationParams: { scope: requested } })
    .then((r) => toTokens(r, requested), (err) => { throw oauthError(err); });

  /** Cached tokens or a refresh token from an earlier page (localstorage), for either scope. */
  const fromCache = () => withConsentFallback(config, fromRefresh, 'missing_refresh_token');

  async function probe(requested) {
    try {
      await fromIframe(requested);
      silent.set(true);
    } catch (err) {
      if (['login_required', 'consent_required', 'interaction_required'].includes(err.error)) silent.set(false);
    }
  }

  async function clearLocal() {
    source = null;
    mark(false);
    await Promise.allSettled([client.logout({ openUrl: false }), iframe.logout({ openUrl: false })]);
  }

  return {
    name: 'code',
    dpop,
    renewsSilently: () => source === 'refresh' || silent.get() !== false,

    /**
     * The headers that carry the access token to the API for one call: with DPoP, the token
     * under the DPoP scheme and a fresh proof for this method and URL (a new one for every
     * call, a retry included); without, the bearer token.
     */
    async authorization(url, method, accessToken) {
      if (!dpop) return { Authorization: `Bearer ${accessToken}` };
      const proof = await client.generateDpopProof({ url: String(url), method, accessToken });
      return { Authorization: `DPoP ${accessToken}`, DPoP: proof };
    },
    silentBlocked: () => silent.get() === false,

    async begin() {
      const query = new URLSearchParams(window.location.search);
      if ((query.has('code') || query.has('error')) && query.has('state')) {
        const url = window.location.href;
        // The code is single-use, but it has no business in the history either.
        window.history.replaceState(null, '', '/');
        let requested = config.scope;
        try {
          const { appState } = await client.handleRedirectCallback(url);
          if (appState && typeof appState.scope === 'string') requested = appState.scope;
        } catch (err) {
          const e = oauthError(err);
          if (e.error === 'access_denied') return { error: e };
          return { ...(await this.silentStart()), callbackError: e };
        }
        let tokens;
        try {
          tokens = await fromRefresh(requested);
        } catch (err) {
          return { error: oauthError(err) };
        }
        source = 'refresh';
        mark(true);
        await probe(requested);
        return { tokens };
      }
      return this.silentStart();
    },

    async silentStart() {
      try {
        const tokens = await fromCache();
        source = 'refresh';
        if (silent.get() === null) await probe(tokens.requested);
        return { tokens };
      } catch {
        // No refresh token here (the in-memory cache after a reload): the iframe, then.
      }
      const before = wasSignedIn();
      try {
        const tokens = await withConsentFallback(config, fromIframe);
        source = 'iframe';
        silent.set(true);
        mark(true);
        return { tokens };
      } catch (err) {
        // Signed in on this browser before, and now the iframe cannot tell: say so.
        if (err.error === 'login_required' && before) {
          mark(false);
          return { error: { error: 'silent_sign_in_failed' } };
        }
        return { error: err };
      }
    },

    renew(requested) {
      return source === 'iframe' ? fromIframe(requested) : fromRefresh(requested, 'off');
    },

    /**
     * The poll for single logout. Where the iframe sees the session it asks the tenant
     * (login_required: signed out); where it cannot (third-party cookies blocked) it renews
     * with the refresh token instead, so a revoked or expired refresh token signs out, and
     * login_required from a blind iframe is never taken for a logout.
     */
    async poll(requested) {
      if (silent.get() === false) {
        return requested && source === 'refresh' ? fromRefresh(requested, 'off') : null;
      }
      try {
        const tokens = requested ? await fromIframe(requested) : await withConsentFallback(config, fromIframe);
        if (silent.get() === null) silent.set(true);
        if (!requested) source = 'iframe';
        // Signed in with a refresh token: the session is there, the tokens stay as they are.
        return source === 'iframe' ? tokens : null;
      } catch (err) {
        if (silent.get() === null && err.error === 'login_required') {
          silent.set(false);
          return null;
        }
        throw err;
      }
    },

    login({ scope, prompt } = {}) {
      const requested = scope || config.scope;
      client.loginWithRedirect({
        authorizationParams: { scope: requested, ...(prompt ? { prompt } : {}) },
        appState: { scope: requested },
      });
    },

    async logout() {
      // The refresh token outlives the tenant's session (/v2/logout keeps it): revoke it.
      if (source === 'refresh') await client.revokeRefreshToken().catch(() => {});
      source = null;
      mark(false);
      await iframe.logout({ openUrl: false }).catch(() => {});
      await client.logout({ logoutParams: { returnTo: config.logoutReturnTo } });
    },

    /** Signed out elsewhere: forget every token here, revoking the refresh token first. */
    async forget() {
      if (source === 'refresh') await client.revokeRefreshToken().catch(() => {});
      await clearLocal();
    },
  };
}

