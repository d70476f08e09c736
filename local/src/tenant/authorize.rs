//! `GET /authorize`: validates the request the way Auth0 does, then answers at once (SSO
//! session and consent in place, or `prompt=none`), or sends the browser to the login or
//! consent page with a transaction.
//!
//! Until `client_id` and `redirect_uri` are known good, errors are a 400 page and never a
//! redirect (no open redirector). After that, errors go back to the client in its response
//! mode, with `state`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::Tenant;
use super::pages::error_page;
use super::respond::{self, ResponseMode};
use super::session::{BROWSER_COOKIE, SESSION_COOKIE};
use super::state::random_token;

/// The OpenID scopes every client may ask for; API scopes come from `tenant.yaml`.
pub const OIDC_SCOPES: [&str; 3] = ["openid", "profile", "email"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    None,
    Login,
    Consent,
}

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub wants_token: bool,
    pub wants_id_token: bool,
    /// `response_type=code`: a single-use code for the token endpoint.
    pub wants_code: bool,
    /// The PKCE S256 challenge the code is bound to.
    pub code_challenge: Option<String>,
    pub mode: ResponseMode,
    /// Requested scopes the tenant knows (unknown ones are dropped, as Auth0 does).
    pub scopes: Vec<String>,
    pub audience: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<Prompt>,
}

impl AuthRequest {
    /// What the user consents to: every requested scope but `openid`, API scopes keyed by
    /// their API (`organize|read:contacts`) so consent to one API never counts for another.
    pub fn consent_keys(&self) -> Vec<String> {
        self.scopes
            .iter()
            .filter(|s| s.as_str() != "openid")
            .map(
                |s| match (&self.audience, OIDC_SCOPES.contains(&s.as_str())) {
                    (Some(api), false) => format!("{api}|{s}"),
                    _ => s.clone(),
                },
            )
            .collect()
    }
}

/// The session cookie's value, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE)
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    // Two cookies of one name (one planted by another page on this host) mean neither is trusted.
    let mut values = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == name)
        .map(|c| c.value().to_string());
    match (values.next(), values.next()) {
        (Some(value), None) => Some(value),
        _ => None,
    }
}

pub async fn authorize(
    State(tenant): State<Arc<Tenant>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let raw = query.unwrap_or_default();
    let mut params = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if v.is_empty() {
            continue;
        }
        if params.insert(k.to_string(), v.to_string()).is_some() {
            return error_page(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("parameter {k} is repeated"),
            );
        }
    }
    let request = match validate(&tenant, &params) {
        Ok(request) => request,
        Err(Rejection::Page(status, error, description)) => {
            return error_page(status, error, &description);
        }
        Err(Rejection::Client(request, error, description)) => {
            return respond::error(&request, error, &description);
        }
    };
    let session = session_cookie(&headers).and_then(|id| tenant.runtime.session(&id));
    let user = session
        .as_ref()
        .and_then(|s| tenant.users.iter().find(|u| u.id == s.user_id));
    let consented = user.is_some_and(|u| {
        tenant
            .runtime
            .has_consent(&u.id, &request.client_id, &request.consent_keys())
    });
    // checkSession() runs in a hidden iframe, where no page can be shown (pages refuse to be
    // framed): answer with a message at once rather than leave it to time out.
    let interactive = user.is_none()
        || !consented
        || matches!(request.prompt, Some(Prompt::Login | Prompt::Consent));
    if request.mode == ResponseMode::WebMessage
        && request.prompt != Some(Prompt::None)
        && interactive
    {
        let error = match (user, consented) {
            (None, _) => "login_required",
            (Some(_), false) => "consent_required",
            (Some(_), true) => "interaction_required",
        };
        return respond::error(&request, error, "User interaction is required");
    }
    match (&request.prompt, user, session) {
        (Some(Prompt::None), None, _) => {
            respond::error(&request, "login_required", "Login required")
        }
        (Some(Prompt::None), Some(_), _) if !consented => {
            respond::error(&request, "consent_required", "Consent required")
        }
        (Some(Prompt::None), Some(user), Some(session)) => {
            respond::success(&tenant, &request, user, &session.id)
        }
        (None, Some(user), Some(session)) if consented => {
            respond::success(&tenant, &request, user, &session.id)
        }
        (Some(Prompt::Consent) | None, Some(user), Some(session)) => begin(
            &tenant,
            &headers,
            request,
            Some((&user.id, &session.id)),
            "/consent",
        ),
        _ => begin(&tenant, &headers, request, None, "/login"),
    }
}

/// The browser cookie's value, if it has the shape this tenant gives it.
pub fn browser_cookie(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, BROWSER_COOKIE).filter(|v| {
        v.len() == 32
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Whether this request comes from the browser that started the transaction.
pub fn same_browser(headers: &HeaderMap, expected: &str) -> bool {
    browser_cookie(headers).is_some_and(|v| {
        aws_lc_rs::constant_time::verify_slices_are_equal(v.as_bytes(), expected.as_bytes()).is_ok()
    })
}

/// Starts a sign-in transaction bound to this browser and sends it to the login or consent page.
fn begin(
    tenant: &Tenant,
    headers: &HeaderMap,
    request: AuthRequest,
    signed_in: Option<(&str, &str)>,
    page: &str,
) -> Response {
    let existing = browser_cookie(headers);
    let browser = existing.clone().unwrap_or_else(|| random_token(24));
    let (tx, _) = tenant.runtime.start_transaction(request, &browser);
    if let Some((user_id, session_id)) = signed_in {
        tenant
            .runtime
            .set_transaction_user(&tx, user_id, session_id);
    }
    let mut response = Redirect::to(&format!("{page}?state={tx}")).into_response();
    if existing.is_none() {
        let secure = if tenant.issuer.starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!("{BROWSER_COOKIE}={browser}; Path=/; HttpOnly; SameSite=Lax{secure}");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

pub enum Rejection {
    /// Shown to the user; never redirected.
    Page(StatusCode, &'static str, String),
    /// Sent to the client's redirect_uri, which is known good.
    Client(Box<AuthRequest>, &'static str, String),
}

fn validate(tenant: &Tenant, params: &BTreeMap<String, String>) -> Result<AuthRequest, Rejection> {
    let page = |d: &str| Rejection::Page(StatusCode::BAD_REQUEST, "invalid_request", d.to_string());
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
        return Err(Rejection::Page(
            StatusCode::BAD_REQUEST,
            "Callback URL mismatch",
            format!("{redirect_uri} is not in the list of allowed callback URLs"),
        ));
    }
    let response_type = params
        .get("response_type")
        .map(String::as_str)
        .unwrap_or("");
    let mut parts: Vec<&str> = response_type.split(' ').filter(|s| !s.is_empty()).collect();
    parts.sort_unstable();
    parts.dedup();
    let (wants_token, wants_id_token, wants_code, known) = match parts.as_slice() {
        ["token"] => (true, false, false, true),
        ["id_token"] => (false, true, false, true),
        ["id_token", "token"] => (true, true, false, true),
        ["code"] => (false, false, true, true),
        _ => (false, false, false, false),
    };
    let mode_param = params.get("response_mode").map(String::as_str);
    let mode = match mode_param {
        // The code flow answers in the query by default; tokens never go in a query.
        None if wants_code => ResponseMode::Query,
        Some("query") if wants_code => ResponseMode::Query,
        None | Some("fragment") => ResponseMode::Fragment,
        Some("form_post") => ResponseMode::FormPost,
        Some("web_message") => ResponseMode::WebMessage,
        Some(_) => ResponseMode::Fragment,
    };
    // web_message posts to the redirect_uri's origin: it must be an Allowed Web Origin.
    if mode == ResponseMode::WebMessage {
        let origin = respond::origin_of(redirect_uri).unwrap_or_default();
        if !client
            .spec
            .web_origins
            .iter()
            .any(|o| o.trim_end_matches('/') == origin)
        {
            return Err(page(
                "The redirect_uri's origin is not an Allowed Web Origin of this client",
            ));
        }
    }
    let mut request = AuthRequest {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.clone(),
        wants_token,
        wants_id_token,
        wants_code,
        code_challenge: None,
        mode,
        scopes: Vec::new(),
        audience: None,
        state: params.get("state").cloned(),
        nonce: params.get("nonce").cloned(),
        prompt: None,
    };
    let to_client = |r: &AuthRequest, e: &'static str, d: &str| {
        Rejection::Client(Box::new(r.clone()), e, d.to_string())
    };
    if let Some(m) = mode_param
        && !matches!(m, "fragment" | "form_post" | "web_message")
        && !(m == "query" && wants_code)
    {
        return Err(to_client(
            &request,
            "invalid_request",
            &format!("Unsupported response_mode: {m}"),
        ));
    }
    if !known {
        return Err(to_client(
            &request,
            "unsupported_response_type",
            &format!("Unsupported response type: {response_type}"),
        ));
    }
    let grant = if wants_code {
        "authorization_code"
    } else {
        "implicit"
    };
    if !client.spec.grant_types.iter().any(|g| g == grant) {
        return Err(to_client(
            &request,
            "unauthorized_client",
            &format!("Grant type '{grant}' not allowed for the client."),
        ));
    }
    if wants_code {
        // PKCE with S256 only (RFC 9700): required of public clients, whose codes anyone
        // could otherwise redeem.
        match (
            params.get("code_challenge"),
            params.get("code_challenge_method").map(String::as_str),
        ) {
            (Some(challenge), Some("S256")) => {
                let valid = challenge.len() == 43
                    && challenge
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !valid {
                    return Err(to_client(
                        &request,
                        "invalid_request",
                        "code_challenge must be a base64url SHA-256",
                    ));
                }
                request.code_challenge = Some(challenge.clone());
            }
            (Some(_), _) => {
                return Err(to_client(
                    &request,
                    "invalid_request",
                    "code_challenge_method must be S256",
                ));
            }
            (None, _) if !client.is_confidential() => {
                return Err(to_client(
                    &request,
                    "invalid_request",
                    "PKCE (code_challenge, S256) is required for this client",
                ));
            }
            (None, _) => {}
        }
    }
    if wants_id_token && request.nonce.is_none() {
        return Err(to_client(
            &request,
            "invalid_request",
            "Missing required parameter: nonce",
        ));
    }
    request.prompt = match params.get("prompt").map(String::as_str) {
        None => None,
        Some("none") => Some(Prompt::None),
        Some("login") => Some(Prompt::Login),
        Some("consent") => Some(Prompt::Consent),
        Some(other) => {
            return Err(to_client(
                &request,
                "invalid_request",
                &format!("Unsupported prompt: {other}"),
            ));
        }
    };
    let api = match params.get("audience") {
        None => None,
        Some(audience) => match tenant.file.api(audience) {
            Some(api) => Some(api),
            None => {
                return Err(to_client(
                    &request,
                    "access_denied",
                    &format!("Service not found: {audience}"),
                ));
            }
        },
    };
    request.audience = api.map(|a| a.identifier.clone());
    let requested = params.get("scope").map(String::as_str).unwrap_or("");
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        let known = OIDC_SCOPES.contains(&scope)
            || api.is_some_and(|a| a.scopes.iter().any(|d| d.value == scope));
        if known && !request.scopes.iter().any(|s| s == scope) {
            request.scopes.push(scope.to_string());
        }
    }
    if wants_id_token && !request.scopes.iter().any(|s| s == "openid") {
        request.scopes.insert(0, "openid".into());
    }
    Ok(request)
}
