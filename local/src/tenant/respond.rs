//! Answers of the dev tenant: the authorization response delivered to the client in its
//! response mode (a query or fragment redirect, an auto-posting form, or a `postMessage` from a
//! page made for auth0-js's `checkSession()` iframe), and [`reply`], the one place where an
//! [`OAuthError`] becomes a response.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::auth_request::{AuthRequest, ResponseMode};
use super::context::Tenant;
use super::error::{Challenge, OAuthError};
use super::issue;
use super::origin::origin_of;
use super::pages::{error_page, script_json, secure};
use super::state::random_token;
use super::users::User;

/// Where an error is answered.
#[derive(Clone, Copy)]
pub enum Channel<'a> {
    /// An endpoint called by programs (token, userinfo): JSON with the RFC status.
    Json,
    /// An endpoint a browser navigates to. With a validated request the error goes to the
    /// client's `redirect_uri` when it may ([`OAuthError::redirectable`]); otherwise it is a page.
    Browser(Option<&'a AuthRequest>),
}

/// The one place an error becomes an answer: a page, a redirect to the client, or JSON.
pub fn reply(error: OAuthError, channel: Channel<'_>) -> Response {
    match channel {
        Channel::Json => json_error(&error),
        Channel::Browser(Some(request)) if error.redirectable => {
            let mut params = Map::new();
            params.insert("error".into(), json!(error.code));
            params.insert("error_description".into(), json!(error.description));
            if let Some(state) = &request.state {
                params.insert("state".into(), json!(state));
            }
            deliver(request, params)
        }
        Channel::Browser(_) => error_page(&error),
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        reply(self, Channel::Json)
    }
}

fn json_error(error: &OAuthError) -> Response {
    let mut response = (
        error.status,
        Json(json!({"error": error.code, "error_description": error.description})),
    )
        .into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    let challenge = match &error.challenge {
        Some(Challenge::Basic) if error.status == StatusCode::UNAUTHORIZED => {
            Some(HeaderValue::from_static("Basic realm=\"oauth\""))
        }
        Some(Challenge::Bearer(value) | Challenge::Dpop(value)) => {
            HeaderValue::from_str(value).ok()
        }
        _ => None,
    };
    if let Some(value) = challenge {
        h.insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Issues what the request asked for (a code, or tokens) and delivers it to the client.
pub fn success(tenant: &Tenant, request: &AuthRequest, user: &User, session_id: &str) -> Response {
    let to_client = Channel::Browser(Some(request));
    // Nothing is issued for a session that has ended (logout while a page was open).
    if tenant.runtime.session(session_id).is_none() {
        return reply(
            OAuthError::login_required("The session has ended"),
            to_client,
        );
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
    // The front channel carries no proof: tokens from /authorize are Bearer tokens.
    match issue::for_user(
        tenant,
        request,
        user,
        issue::InSession::Live(session_id),
        None,
    ) {
        Ok(params) => deliver(request, params),
        Err(error) => reply(error, to_client),
    }
}

fn deliver(request: &AuthRequest, params: Map<String, Value>) -> Response {
    let encoded = || {
        let mut encoded = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            encoded.append_pair(k, &value_text(v));
        }
        encoded.finish()
    };
    match request.mode {
        ResponseMode::Query => {
            let sep = if request.redirect_uri.contains('?') {
                '&'
            } else {
                '?'
            };
            let location = format!("{}{sep}{}", request.redirect_uri, encoded());
            secure(
                Redirect::to(&location).into_response(),
                "'none'",
                None,
                "'self'",
            )
        }
        ResponseMode::Fragment => {
            // The redirect_uri has no fragment (it matched a registered callback exactly).
            let location = format!("{}#{}", request.redirect_uri, encoded());
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
                    &OAuthError::invalid_request("redirect_uri has no origin").page_only(),
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
