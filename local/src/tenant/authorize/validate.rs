//! Validation of `GET /authorize`, in two phases, as Auth0 does it.
//!
//! 1. [`addressee`]: who is asking and where the answer goes — the client, the exact
//!    `redirect_uri`, the response mode. Until these are known good, nothing may be sent to
//!    the `redirect_uri` (no open redirector): every error of this phase is a page.
//! 2. [`complete`]: what is asked — response type, grant, PKCE, `dpop_jkt`, nonce, prompt,
//!    audience and scopes. Errors of this phase go back to the client, with `state`.

use std::collections::BTreeMap;

use axum::http::StatusCode;

use crate::tenant::auth_request::{AuthRequest, OIDC_SCOPES, Prompt, ResponseMode};
use crate::tenant::context::Tenant;
use crate::tenant::error::OAuthError;
use crate::tenant::origin::{is_listed, origin_of};

/// The longest `state` or `nonce` accepted, in characters. Both are kept with a sign-in in
/// progress (and a `nonce` goes into the ID token), so without a limit a few requests of a few
/// hundred kilobytes each would hold that much per sign-in. Auth0 documents no figure; what the
/// SDKs send is far shorter (auth0-js and auth0-spa-js: 43 characters), and 2,048 leaves room
/// for a `state` that carries the app's own data.
pub const MAX_STATE_OR_NONCE: usize = 2048;

/// `name`'s value when it is not longer than [`MAX_STATE_OR_NONCE`].
fn bounded<'a>(
    params: &'a BTreeMap<String, String>,
    name: &str,
) -> Result<Option<&'a String>, OAuthError> {
    match params.get(name) {
        Some(value) if value.chars().count() > MAX_STATE_OR_NONCE => {
            Err(OAuthError::invalid_request(format!(
                "parameter {name} is longer than {MAX_STATE_OR_NONCE} characters"
            )))
        }
        value => Ok(value),
    }
}

/// The query's parameters; a repeated one is an error page. Empty values count as omitted.
pub fn query_params(raw: &str) -> Result<BTreeMap<String, String>, OAuthError> {
    let mut params = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if v.is_empty() {
            continue;
        }
        if params.insert(k.to_string(), v.to_string()).is_some() {
            return Err(
                OAuthError::invalid_request(format!("parameter {k} is repeated")).page_only(),
            );
        }
    }
    Ok(params)
}

/// The parts of `response_type`, sorted and without repeats.
fn response_type_parts(params: &BTreeMap<String, String>) -> Vec<&str> {
    let mut parts: Vec<&str> = params
        .get("response_type")
        .map(String::as_str)
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    parts.sort_unstable();
    parts.dedup();
    parts
}

/// Phase 1: the client, its registered `redirect_uri` and the response mode. The request
/// returned carries only these (and `state`); [`complete`] fills in the rest.
pub fn addressee(
    tenant: &Tenant,
    params: &BTreeMap<String, String>,
) -> Result<AuthRequest, OAuthError> {
    let page = |d: &str| OAuthError::invalid_request(d).page_only();
    // A `state` that cannot be sent back cannot go to the client: a page, like a repeated one.
    let state = bounded(params, "state").map_err(OAuthError::page_only)?;
    let client_id = params
        .get("client_id")
        .ok_or_else(|| page("Missing required parameter: client_id"))?;
    let client = tenant
        .client_by_id(client_id)
        .ok_or_else(|| page("Unknown client"))?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| page("Missing required parameter: redirect_uri"))?;
    // Exact match: scheme, host, port, path, query, case, trailing slash.
    if !client.spec.callbacks.iter().any(|c| c == redirect_uri) {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "Callback URL mismatch",
            format!("{redirect_uri} is not in the list of allowed callback URLs"),
        )
        .page_only());
    }
    let wants_code = response_type_parts(params) == ["code"];
    let mode = match params.get("response_mode").map(String::as_str) {
        // The code flow answers in the query by default; tokens never go in a query.
        None | Some("query") if wants_code => ResponseMode::Query,
        Some("form_post") => ResponseMode::FormPost,
        Some("web_message") => ResponseMode::WebMessage,
        // An unsupported mode is refused in phase 2, answered in the safest mode.
        _ => ResponseMode::Fragment,
    };
    // web_message posts to the redirect_uri's origin: it must be an Allowed Web Origin.
    if mode == ResponseMode::WebMessage {
        let origin = origin_of(redirect_uri).unwrap_or_default();
        if !is_listed(&origin, &client.spec.web_origins) {
            return Err(page(
                "The redirect_uri's origin is not an Allowed Web Origin of this client",
            ));
        }
    }
    Ok(AuthRequest {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.clone(),
        wants_token: false,
        wants_id_token: false,
        wants_code: false,
        code_challenge: None,
        dpop_jkt: None,
        mode,
        scopes: Vec::new(),
        audience: None,
        state: state.cloned(),
        nonce: None,
        prompt: None,
    })
}

/// Phase 2: everything else the request asks for. Errors go to the client's redirect_uri.
pub fn complete(
    tenant: &Tenant,
    request: &mut AuthRequest,
    params: &BTreeMap<String, String>,
) -> Result<(), OAuthError> {
    let client = tenant
        .client_by_id(&request.client_id)
        .ok_or_else(|| OAuthError::invalid_request("Unknown client").page_only())?;
    let parts = response_type_parts(params);
    let known = match parts.as_slice() {
        ["token"] => Some((true, false, false)),
        ["id_token"] => Some((false, true, false)),
        ["id_token", "token"] => Some((true, true, false)),
        ["code"] => Some((false, false, true)),
        _ => None,
    };
    let code_flow = known.is_some_and(|(_, _, code)| code);
    if let Some(m) = params.get("response_mode")
        && !matches!(m.as_str(), "fragment" | "form_post" | "web_message")
        && !(m == "query" && code_flow)
    {
        return Err(OAuthError::invalid_request(format!(
            "Unsupported response_mode: {m}"
        )));
    }
    let Some((wants_token, wants_id_token, wants_code)) = known else {
        let response_type = params.get("response_type").map_or("", String::as_str);
        return Err(OAuthError::unsupported_response_type(format!(
            "Unsupported response type: {response_type}"
        )));
    };
    request.wants_token = wants_token;
    request.wants_id_token = wants_id_token;
    request.wants_code = wants_code;
    let grant = if wants_code {
        "authorization_code"
    } else {
        "implicit"
    };
    if !client.allows_grant(grant) {
        return Err(OAuthError::unauthorized_client(format!(
            "Grant type '{grant}' not allowed for the client."
        )));
    }
    // As Auth0 answers an application no connection is enabled for.
    if !tenant.file.connection_enabled_for(&client.spec.name) {
        return Err(OAuthError::invalid_request(
            "no connections enabled for the client",
        ));
    }
    if wants_code {
        request.code_challenge = pkce_challenge(params, client.is_confidential())?;
        request.dpop_jkt = dpop_jkt(params)?;
    }
    request.nonce = bounded(params, "nonce")?.cloned();
    if wants_id_token && request.nonce.is_none() {
        return Err(OAuthError::invalid_request(
            "Missing required parameter: nonce",
        ));
    }
    request.prompt = match params.get("prompt").map(String::as_str) {
        None => None,
        Some("none") => Some(Prompt::None),
        Some("login") => Some(Prompt::Login),
        Some("consent") => Some(Prompt::Consent),
        Some(other) => {
            return Err(OAuthError::invalid_request(format!(
                "Unsupported prompt: {other}"
            )));
        }
    };
    let api =
        match params.get("audience") {
            None => None,
            Some(audience) => Some(tenant.api(audience).ok_or_else(|| {
                OAuthError::access_denied(format!("Service not found: {audience}"))
            })?),
        };
    request.audience = api.map(|a| a.identifier.clone());
    let requested = params.get("scope").map(String::as_str).unwrap_or("");
    // offline_access (a refresh token) only as Auth0 grants it: the API allows offline
    // access, the client may use the refresh_token grant, the flow is the code flow (the
    // implicit grant never issues refresh tokens), and a browser's tokens rotate.
    let offline = wants_code
        && api.is_some_and(|a| a.allow_offline_access)
        && client.allows_grant("refresh_token")
        && (client.is_confidential() || client.spec.refresh_token.rotates());
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        let known = OIDC_SCOPES.contains(&scope)
            || (scope == "offline_access" && offline)
            || api.is_some_and(|a| a.scopes.iter().any(|d| d.value == scope));
        if known && !request.has_scope(scope) {
            request.scopes.push(scope.to_string());
        }
    }
    if wants_id_token && !request.has_scope("openid") {
        request.scopes.insert(0, "openid".into());
    }
    Ok(())
}

/// `dpop_jkt` (RFC 9449 §10): the thumbprint of the DPoP key the code is bound to, a base64url
/// SHA-256 (43 characters). Only the code flow has a token request to check it at.
fn dpop_jkt(params: &BTreeMap<String, String>) -> Result<Option<String>, OAuthError> {
    match params.get("dpop_jkt") {
        None => Ok(None),
        Some(jkt)
            if jkt.len() == 43
                && jkt
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(Some(jkt.clone()))
        }
        Some(_) => Err(OAuthError::invalid_request(
            "dpop_jkt must be the base64url SHA-256 thumbprint of a JWK",
        )),
    }
}

/// PKCE with S256 only (RFC 9700): required of public clients, whose codes anyone could
/// otherwise redeem.
fn pkce_challenge(
    params: &BTreeMap<String, String>,
    confidential: bool,
) -> Result<Option<String>, OAuthError> {
    match (
        params.get("code_challenge"),
        params.get("code_challenge_method").map(String::as_str),
    ) {
        (Some(challenge), Some("S256")) => {
            let valid = challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if valid {
                Ok(Some(challenge.clone()))
            } else {
                Err(OAuthError::invalid_request(
                    "code_challenge must be a base64url SHA-256",
                ))
            }
        }
        (Some(_), _) => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256",
        )),
        (None, _) if !confidential => Err(OAuthError::invalid_request(
            "PKCE (code_challenge, S256) is required for this client",
        )),
        (None, _) => Ok(None),
    }
}
