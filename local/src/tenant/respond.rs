//! The authorization response: tokens (or an error) delivered to the client in its response
//! mode — a fragment redirect, an auto-posting form, or a `postMessage` from a page made for
//! auth0-js's `checkSession()` iframe.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::Tenant;
use super::authorize::AuthRequest;
use super::error::OAuthError;
use super::pages::{error_page, script_json, secure};
use super::state::{random_hex, random_token};
use super::users::User;

/// ID tokens live ten hours, as Auth0's default.
const ID_TOKEN_LIFETIME: u64 = 36_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
    WebMessage,
}

/// `scheme://host[:port]` of an absolute http(s) URL, lower-cased, or `None`. The result goes
/// into CSP headers and postMessage targets, so anything but a plain host and port is refused.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let valid = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    valid.then(|| format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// OIDC `at_hash`: the left half of SHA-256 of the access token, base64url.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Issues the tokens the request asked for and delivers them.
pub fn success(tenant: &Tenant, request: &AuthRequest, user: &User, session_id: &str) -> Response {
    // Nothing is issued for a session that has ended (logout while a page was open).
    if tenant.runtime.session(session_id).is_none() {
        return error(request, "login_required", "The session has ended");
    }
    if request.wants_code {
        let code = tenant.runtime.issue_code(request, &user.id, session_id);
        let mut params = Map::new();
        params.insert("code".into(), json!(code));
        if let Some(state) = &request.state {
            params.insert("state".into(), json!(state));
        }
        return deliver(request, params);
    }
    match tokens(tenant, request, user, session_id) {
        Ok(params) => deliver(request, params),
        Err(e) => error(request, e.code, &e.description),
    }
}

pub fn tokens(
    tenant: &Tenant,
    request: &AuthRequest,
    user: &User,
    session_id: &str,
) -> Result<Map<String, Value>, OAuthError> {
    let session = tenant
        .runtime
        .session(session_id)
        .ok_or_else(|| OAuthError::invalid_grant("The session has ended"))?;
    let now = now();
    let userinfo = format!("{}userinfo", tenant.issuer);
    let mut params = Map::new();
    let mut access_token = None;
    if request.wants_token {
        let api = request.audience.as_deref().and_then(|a| tenant.file.api(a));
        let lifetime = api.map_or(7200, |a| a.token_lifetime_for_web);
        let openid = request.scopes.iter().any(|s| s == "openid");
        let aud = match (api, openid) {
            (Some(api), true) => json!([api.identifier, userinfo]),
            (Some(api), false) => json!(api.identifier),
            (None, _) => json!(userinfo),
        };
        let claims = json!({
            "iss": tenant.issuer,
            "sub": user.sub(),
            "aud": aud,
            "iat": now,
            "exp": now + lifetime,
            "scope": request.scopes.join(" "),
            "azp": request.client_id,
            "jti": random_hex(16),
        });
        let token = tenant.sign(&claims)?;
        params.insert("access_token".into(), json!(token));
        params.insert("token_type".into(), json!("Bearer"));
        params.insert("expires_in".into(), json!(lifetime));
        params.insert("scope".into(), json!(request.scopes.join(" ")));
        access_token = Some(token);
    }
    if request.wants_id_token {
        let mut claims = json!({
            "iss": tenant.issuer,
            "sub": user.sub(),
            "aud": request.client_id,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME,
            // The public session id, never the cookie.
            "sid": session.sid,
        });
        if let Some(nonce) = &request.nonce {
            claims["nonce"] = json!(nonce);
        }
        // Profile claims only for the scopes that ask for them.
        if request.scopes.iter().any(|s| s == "email") {
            claims["email"] = json!(user.email);
            claims["email_verified"] = json!(true);
        }
        if request.scopes.iter().any(|s| s == "profile") {
            claims["name"] = json!(user.name);
        }
        if let Some(token) = &access_token {
            claims["at_hash"] = json!(at_hash(token));
        }
        params.insert("id_token".into(), json!(tenant.sign(&claims)?));
    }
    if let Some(state) = &request.state {
        params.insert("state".into(), json!(state));
    }
    Ok(params)
}

/// Sends an OAuth error to the client (its redirect_uri is known good).
pub fn error(request: &AuthRequest, code: &str, description: &str) -> Response {
    let mut params = Map::new();
    params.insert("error".into(), json!(code));
    params.insert("error_description".into(), json!(description));
    if let Some(state) = &request.state {
        params.insert("state".into(), json!(state));
    }
    deliver(request, params)
}

fn deliver(request: &AuthRequest, params: Map<String, Value>) -> Response {
    match request.mode {
        ResponseMode::Query => {
            let mut encoded = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &params {
                encoded.append_pair(k, &value_text(v));
            }
            let sep = if request.redirect_uri.contains('?') {
                '&'
            } else {
                '?'
            };
            let location = format!("{}{sep}{}", request.redirect_uri, encoded.finish());
            secure(
                Redirect::to(&location).into_response(),
                "'none'",
                None,
                "'self'",
            )
        }
        ResponseMode::Fragment => {
            let mut encoded = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &params {
                encoded.append_pair(k, &value_text(v));
            }
            // The redirect_uri has no fragment (it matched a registered callback exactly).
            let location = format!("{}#{}", request.redirect_uri, encoded.finish());
            secure(
                Redirect::to(&location).into_response(),
                "'none'",
                None,
                "'self'",
            )
        }
        ResponseMode::FormPost => {
            let nonce = random_token(16);
            let inputs: String = params
                .iter()
                .map(|(k, v)| {
                    format!(
                        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                        html_escape::encode_double_quoted_attribute(k),
                        html_escape::encode_double_quoted_attribute(&value_text(v))
                    )
                })
                .collect();
            let html = format!(
                "<!doctype html><html><head><title>Submit</title></head><body>\
                 <form method=\"post\" action=\"{}\">{inputs}<noscript><button type=\"submit\">Continue</button></noscript></form>\
                 <script nonce=\"{nonce}\">document.forms[0].submit()</script></body></html>",
                html_escape::encode_double_quoted_attribute(&request.redirect_uri)
            );
            let origin = origin_of(&request.redirect_uri).unwrap_or_else(|| "'none'".into());
            secure(
                (StatusCode::OK, Html(html)).into_response(),
                "'none'",
                Some(&nonce),
                &origin,
            )
        }
        ResponseMode::WebMessage => {
            let Some(origin) = origin_of(&request.redirect_uri) else {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "redirect_uri has no origin",
                );
            };
            let nonce = random_token(16);
            let message =
                json!({"type": "authorization_response", "response": Value::Object(params)});
            let html = format!(
                "<!doctype html><html><head><title>Authorization Response</title></head><body>\
                 <script nonce=\"{nonce}\">(function(){{var target=window.opener||window.parent;\
                 target.postMessage({}, {});}})();</script></body></html>",
                script_json(&message),
                script_json(&json!(origin)),
            );
            // This page alone may be framed, and only by the client's own origin.
            secure(
                (StatusCode::OK, Html(html)).into_response(),
                &origin,
                Some(&nonce),
                "'none'",
            )
        }
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins_of_redirect_uris() {
        assert_eq!(
            origin_of("http://localhost:3000/callback.html?x#y").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(
            origin_of("https://app.example.com").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("https://a.example; script-src *"), None);
        assert_eq!(origin_of("https://user@evil.example/"), None);
        assert_eq!(origin_of("com.example.app://callback"), None);
    }
}
