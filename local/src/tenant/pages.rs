//! The tenant's HTML: small pages, no third-party resources, every value escaped, never cached,
//! never framed (except the web_message answer, which must run in the client's iframe).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use html_escape::encode_text as text;

use super::error::OAuthError;
use super::origin::origin_of;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#1d2733}\
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.55rem 1.1rem;margin-right:.5rem}.error{color:#a3161d;background:#fde8e8;padding:.6rem}\
li{margin:.4rem 0}";

/// Security headers for every tenant page. `frame_ancestors` is `'none'` except for the
/// web_message answer.
pub fn secure(
    mut response: Response,
    frame_ancestors: &str,
    script_nonce: Option<&str>,
    form_action: &str,
) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let script = script_nonce
        .map(|n| format!(" script-src 'nonce-{n}';"))
        .unwrap_or_default();
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline';{script} form-action {form_action}; frame-ancestors {frame_ancestors}; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if frame_ancestors == "'none'" {
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    }
    response
}

pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    secure(document(status, title, body), "'none'", None, "'self'")
}

fn document(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        text(title)
    );
    (status, Html(html)).into_response()
}

/// A login or consent page: its form posts here, and the answer may redirect the browser to
/// the client's `redirect_uri`. Browsers apply `form-action` to that redirect too, so the
/// client's origin (already checked against its registered callbacks) is allowed beside 'self'.
pub fn form_page(status: StatusCode, title: &str, body: &str, redirect_uri: &str) -> Response {
    let form_action = match origin_of(redirect_uri) {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_string(),
    };
    secure(document(status, title, body), "'none'", None, &form_action)
}

/// The page for an error that is not (or may not be) sent back to the client: an unknown
/// client, an unregistered redirect_uri, an expired sign-in. Its status, never a redirect.
pub fn error_page(error: &OAuthError) -> Response {
    page(
        error.status,
        "Something went wrong",
        &format!(
            "<h1>Something went wrong</h1><p class=\"error\"><strong>{}</strong>: {}</p>",
            text(error.code),
            text(&error.description)
        ),
    )
}

/// The login form; `error` is (code, message): the code as Auth0's login names it
/// (`invalid_user_password`, `too_many_attempts`) in `data-error`, the message for people.
pub fn login_form(
    state: &str,
    csrf: &str,
    client: &str,
    email: &str,
    error: Option<(&str, &str)>,
) -> String {
    let message = error
        .map(|(code, m)| {
            format!(
                "<p class=\"error\" role=\"alert\" data-error=\"{}\">{}</p>",
                html_escape::encode_double_quoted_attribute(code),
                text(m)
            )
        })
        .unwrap_or_default();
    format!(
        "<h1>Sign in</h1><p>to continue to <strong>{client}</strong></p>{message}\
         <form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"state\" value=\"{state}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required value=\"{email}\">\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Continue</button></form>",
        client = text(client),
        state = html_escape::encode_double_quoted_attribute(state),
        csrf = html_escape::encode_double_quoted_attribute(csrf),
        email = html_escape::encode_double_quoted_attribute(email),
    )
}

pub fn consent_form(
    state: &str,
    csrf: &str,
    client: &str,
    user: &str,
    scopes: &[(String, String)],
) -> String {
    let items: String = scopes
        .iter()
        .map(|(value, description)| {
            format!(
                "<li><strong>{}</strong>: {}</li>",
                text(description),
                text(value)
            )
        })
        .collect();
    format!(
        "<h1>Authorize {client}</h1><p>Hi {user}, <strong>{client}</strong> is asking for access to your account:</p>\
         <ul>{items}</ul><form method=\"post\" action=\"/consent\">\
         <input type=\"hidden\" name=\"state\" value=\"{state}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\" name=\"decision\" value=\"accept\">Accept</button>\
         <button type=\"submit\" name=\"decision\" value=\"decline\">Decline</button></form>",
        client = text(client),
        user = text(user),
        state = html_escape::encode_double_quoted_attribute(state),
        csrf = html_escape::encode_double_quoted_attribute(csrf),
    )
}

/// JSON made safe to inline in a `<script>`: no `<`, `>`, `&`, U+2028 or U+2029 left raw.
pub fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}
