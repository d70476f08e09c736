// Calls to the API with the one access token: where a service's routes are, and the renewal
// and single retry a refused token gets. The panels and the editor call the services only
// through here, so the token never leaves the session's hands for anything but the API.
import { RENEW_EARLY_MS, renewOrSignOut, session, site } from './session.js';
import { text } from './dom.js';

/** The API's URL for `path`, with `query`. The base may carry a path (a stage, a custom
 * domain's mapping): it is kept. */
function apiUrl(path, query = {}) {
  const url = new URL(site.config.apiBaseUrl.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return url;
}

/** A service's list, or one of its items. */
export const listUrl = (service, query) => apiUrl(`/${service.name}`, query);
export const itemUrl = (service, id) => apiUrl(`/${service.name}/${encodeURIComponent(id)}`);

/** ": quota_exceeded" for an answer with a well-formed error code; else nothing. */
export const errorCode = (body) => (/^[a-z_]{1,64}$/.test(text(body && body.error)) ? `: ${body.error}` : '');

/**
 * A call with the access token (as a bearer token, or DPoP-bound with a proof). A token that is about to expire is renewed first; a 401 (the
 * functions, the JWT authorizer) or a plain 403 (the Lambda authorizer denies expired tokens
 * that way) is answered by one silent renewal and one retry. Throws when the API cannot be
 * reached, or with `signedOut` when the session turned out to be over.
 */
export async function callApi(url, { method = 'GET', body, headers = {} } = {}) {
  // Where silent renewal cannot work, the token is used to its end instead of renewed early.
  const margin = site.flow.renewsSilently() ? RENEW_EARLY_MS : 0;
  if (Date.now() > session.expiresAt - margin) await renewOrSignOut();
  // The token's headers are made for each try: a DPoP proof is good for one call only.
  const send = async () => fetch(url, {
    method,
    headers: {
      ...(await site.flow.authorization(url, method, session.accessToken)),
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

/** An answer's JSON body, or null when it has none. */
export const answerOf = (response) => response.json().catch(() => null);
