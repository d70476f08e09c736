//! The tenant's HTML, laid out as Auth0's Universal Login lays out its prompts: a white card
//! centred on a light page, the application (its name from `tenant.yaml`) at the top, one
//! filled action and a quieter one, and a small "development tenant" badge under the card.
//!
//! No third-party resources, every value escaped, never cached, never framed (except the
//! web_message answer, which must run in the client's iframe). The stylesheet (`pages.css`) and
//! the login page's show-password script (`pages.js`) are inlined and allowed by their SHA-256
//! in the Content-Security-Policy: the exact text shipped here can apply and nothing else can
//! (no `'unsafe-inline'`, no `'self'` that would let any file of the tenant's origin run), and a
//! page stays one self-contained answer with no second request to route, cache or version.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use sha2::{Digest, Sha256};

use super::context::{Client, Tenant};
use super::error::OAuthError;
use super::origin::origin_of;

/// The stylesheet of every page, in a `<style>` element.
const STYLE: &str = include_str!("pages.css");
/// Show password, in a `<script>` element of the login page only.
const SCRIPT: &str = include_str!("pages.js");

/// A CSP hash source (`'sha256-…'`) for an inline element whose text is `content`.
fn hash_source(content: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(content.as_bytes()))
    )
}

static STYLE_HASH: LazyLock<String> = LazyLock::new(|| hash_source(STYLE));
static SCRIPT_HASH: LazyLock<String> = LazyLock::new(|| hash_source(SCRIPT));

/// Under every card: what this is.
const FOOT: &str = "<footer class=\"foot\"><span class=\"badge\">Development tenant</span>\
                    <span>A local stand-in for Auth0. Use test accounts only.</span></footer>";

/// Security headers for an answer of the tenant that is not one of its styled pages (a
/// redirect, the form_post and web_message answers). `frame_ancestors` is `'none'` except for
/// the web_message answer.
pub fn secure(
    response: Response,
    frame_ancestors: &str,
    script_nonce: Option<&str>,
    form_action: &str,
) -> Response {
    let script = script_nonce.map(|n| format!("'nonce-{n}'"));
    with_policy(
        response,
        frame_ancestors,
        None,
        script.as_deref(),
        form_action,
    )
}

fn with_policy(
    mut response: Response,
    frame_ancestors: &str,
    style_src: Option<&str>,
    script_src: Option<&str>,
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
    let style = style_src
        .map(|s| format!(" style-src {s};"))
        .unwrap_or_default();
    let script = script_src
        .map(|s| format!(" script-src {s};"))
        .unwrap_or_default();
    let csp = format!(
        "default-src 'none';{style}{script} form-action {form_action}; frame-ancestors {frame_ancestors}; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if frame_ancestors == "'none'" {
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    }
    response
}

/// The application a page speaks for: its name in `tenant.yaml`, and the way back to it.
#[derive(Clone, Copy)]
pub struct App<'a> {
    pub name: &'a str,
    /// A URL the client registered, where a person lands in the application: its first Allowed
    /// Logout URL, else its first Allowed Web Origin, else its first callback. Never a URL
    /// taken from the request.
    pub home: Option<&'a str>,
}

impl<'a> App<'a> {
    pub fn of(client: &'a Client) -> Self {
        let spec = &client.spec;
        let home = spec
            .allowed_logout_urls
            .first()
            .or(spec.web_origins.first())
            .or(spec.callbacks.first())
            .map(String::as_str);
        Self {
            name: &spec.name,
            home,
        }
    }

    /// The application of `client_id`, if the tenant knows it.
    pub fn by_id(tenant: &'a Tenant, client_id: &str) -> Option<Self> {
        tenant.client_by_id(client_id).map(Self::of)
    }

    /// The application of the sign-in in progress named `state`, if there is one: what a page
    /// about a failed form can lead back to.
    pub fn of_sign_in(tenant: &'a Tenant, state: &str) -> Option<Self> {
        let tx = tenant.runtime.transactions.get(state)?;
        Self::by_id(tenant, &tx.request.client_id)
    }

    /// The logo's letter: the name's first letter or digit.
    fn initial(&self) -> String {
        self.name
            .chars()
            .find(|c| c.is_alphanumeric())
            .map(|c| c.to_uppercase().collect())
            .unwrap_or_default()
    }
}

/// Every application a person can log in to (enabled for a connection, with a registered
/// address): where the tenant's own pages (`/`, an unknown path, logged out) can send them.
fn apps(tenant: &Tenant) -> Vec<App<'_>> {
    tenant
        .clients
        .iter()
        .filter(|c| tenant.file.connection_enabled_for(&c.spec.name))
        .map(App::of)
        .filter(|a| a.home.is_some())
        .collect()
}

/// One page: its `<title>`, the application at the top of the card (if known), the card's
/// content, and whether it runs the show-password script.
struct Card<'a> {
    title: &'a str,
    app: Option<App<'a>>,
    content: String,
    script: bool,
}

fn render(status: StatusCode, card: Card<'_>, form_action: &str) -> Response {
    let (title, header) = match card.app {
        Some(app) => (
            format!("{} · {}", card.title, app.name),
            format!(
                "<header class=\"app\"><span class=\"logo\" data-initial=\"{}\" aria-hidden=\"true\"></span>\
                 <p class=\"app-name\">{}</p></header>",
                attr(&app.initial()),
                text(app.name)
            ),
        ),
        None => (card.title.to_string(), String::new()),
    };
    let script = if card.script {
        format!("<script>{SCRIPT}</script>")
    } else {
        String::new()
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head>\
         <body><main class=\"card\">{header}{}</main>{FOOT}{script}</body></html>",
        text(&title),
        card.content,
    );
    with_policy(
        (status, Html(html)).into_response(),
        "'none'",
        Some(&STYLE_HASH),
        card.script.then_some(SCRIPT_HASH.as_str()),
        form_action,
    )
}

/// A login or consent page posts here, and the answer may redirect the browser to the
/// client's `redirect_uri`. Browsers apply `form-action` to that redirect too, so the client's
/// origin (already checked against its registered callbacks) is allowed beside 'self'.
fn form_action(redirect_uri: &str) -> String {
    match origin_of(redirect_uri) {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_string(),
    }
}

/// The two hidden fields of every form: the sign-in (`state`) and its CSRF token.
fn hidden_fields(state: &str, csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"state\" value=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        attr(state),
        attr(csrf)
    )
}

/// A link to the application, as a button.
fn back_link(app: &App<'_>, class: &str, words: &str) -> String {
    app.home
        .map(|home| {
            format!(
                "<a class=\"button {class}\" href=\"{}\">{words} {}</a>",
                attr(home),
                text(app.name)
            )
        })
        .unwrap_or_default()
}

/// The login form of the database connection.
pub struct LoginForm<'a> {
    pub state: &'a str,
    pub csrf: &'a str,
    pub app: App<'a>,
    /// The email posted before, kept in the field.
    pub email: &'a str,
    /// (code, message): the code as Auth0's login names it (`invalid_user_password`,
    /// `too_many_attempts`) in `data-error`, the message for people.
    pub error: Option<(&'a str, &'a str)>,
}

pub fn login_page(status: StatusCode, form: &LoginForm<'_>, redirect_uri: &str) -> Response {
    let alert = form
        .error
        .map(|(code, message)| {
            format!(
                "<p class=\"alert\" role=\"alert\" data-error=\"{}\">{}</p>",
                attr(code),
                text(message)
            )
        })
        .unwrap_or_default();
    // The first field to fill has the focus: the password once the email is known.
    let (email_focus, password_focus) = if form.email.is_empty() {
        (" autofocus", "")
    } else {
        ("", " autofocus")
    };
    let content = format!(
        "<h1>Log in</h1><p class=\"lede\">to continue to {app}</p>{alert}\
         <form method=\"post\" action=\"/login\">{hidden}\
         <div class=\"field\"><label for=\"email\">Email address</label>\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required{email_focus} value=\"{email}\"></div>\
         <div class=\"field\"><label id=\"password-label\" for=\"password\">Password</label><div class=\"secret\">\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{password_focus}>\
         <button type=\"button\" class=\"reveal\" data-reveal aria-controls=\"password\" aria-describedby=\"password-label\" \
         aria-pressed=\"false\" hidden>Show</button></div></div>\
         <div class=\"actions\"><button type=\"submit\" class=\"button primary\">Continue</button></div></form>",
        app = text(form.app.name),
        hidden = hidden_fields(form.state, form.csrf),
        email = attr(form.email),
    );
    let card = Card {
        title: "Log in",
        app: Some(form.app),
        content,
        script: true,
    };
    render(status, card, &form_action(redirect_uri))
}

/// The consent form: what the application asks for, Accept or Decline.
pub struct ConsentForm<'a> {
    pub state: &'a str,
    pub csrf: &'a str,
    pub app: App<'a>,
    /// The user's name.
    pub user: &'a str,
    /// Each permission asked for: (scope, description). People read the description; the
    /// scope is in `data-scope`, for programs.
    pub scopes: &'a [(String, String)],
}

pub fn consent_page(form: &ConsentForm<'_>, redirect_uri: &str) -> Response {
    let items: String = form
        .scopes
        .iter()
        .map(|(scope, description)| {
            format!(
                "<li data-scope=\"{}\">{}</li>",
                attr(scope),
                text(description)
            )
        })
        .collect();
    let content = format!(
        "<h1>Authorize {app}</h1>\
         <p class=\"lede\">Hi {user}, {app} is asking for access to your account. It will be able to:</p>\
         <ul class=\"permissions\">{items}</ul>\
         <form method=\"post\" action=\"/consent\">{hidden}<div class=\"actions\">\
         <button type=\"submit\" class=\"button primary\" name=\"decision\" value=\"accept\">Accept</button>\
         <button type=\"submit\" class=\"button secondary\" name=\"decision\" value=\"decline\">Decline</button>\
         </div></form>",
        app = text(form.app.name),
        user = text(form.user),
        hidden = hidden_fields(form.state, form.csrf),
    );
    let card = Card {
        title: "Authorize",
        app: Some(form.app),
        content,
        script: false,
    };
    render(StatusCode::OK, card, &form_action(redirect_uri))
}

/// The page for an error that is not (or may not be) sent back to the client, when the
/// application is not known: an unknown client, a malformed request, an expired sign-in. Its
/// status, never a redirect, and no link (there is no registered address to offer).
pub fn error_page(error: &OAuthError) -> Response {
    error_page_for(error, None)
}

/// [`error_page`] for a known application: it names the application and links back to its
/// registered address ([`App::home`]).
pub fn error_page_for(error: &OAuthError, app: Option<App<'_>>) -> Response {
    let words = explain(error);
    let back = app
        .map(|a| {
            format!(
                "<div class=\"actions\">{}</div>",
                back_link(&a, "primary", "Back to")
            )
        })
        .filter(|actions| actions.contains("href"))
        .unwrap_or_default();
    let content = format!(
        "<span class=\"mark mark-error\" aria-hidden=\"true\"></span><h1>{}</h1>\
         <p class=\"lede near\">{}</p><p class=\"lede\">{}</p>{back}\
         <details class=\"technical\"><summary>Technical details</summary>\
         <p><code>{}</code> {}</p></details>",
        text(words.headline),
        text(words.what),
        text(words.next),
        text(error.code),
        text(&error.description),
    );
    let card = Card {
        title: words.headline,
        app,
        content,
        script: false,
    };
    render(error.status, card, "'self'")
}

/// An error in words: what happened, and what to do.
struct Words {
    headline: &'static str,
    what: &'static str,
    next: &'static str,
}

/// The words for an error page. The tenant's errors carry Auth0's codes and descriptions (kept
/// under "Technical details"); these say the same to the person in front of the page.
fn explain(error: &OAuthError) -> Words {
    let says = |s: &str| error.description.contains(s);
    let (headline, what, next) = if error.code == "temporarily_unavailable" {
        (
            "Too many logins in progress",
            "The development tenant is busy with as many logins as it keeps at once.",
            "Wait a few minutes, then log in again from the application.",
        )
    } else if error.code == "Callback URL mismatch" {
        (
            "This application cannot log you in from here",
            "It asked to send you back to an address it has not registered as a callback, so the login stopped here to keep your account safe.",
            "If you develop this application, add the address (see the technical details) to its callbacks in tenant.yaml.",
        )
    } else if says("CSRF") {
        (
            "This form could not be checked",
            "The form that was sent did not come from this login page, so it was not accepted.",
            "Reload the page and try again.",
        )
    } else if says("another browser") {
        (
            "This login started in another browser",
            "For your safety, a login must finish in the browser where it started (or this browser's cookies were cleared since).",
            "Go back to the application in this browser and log in again.",
        )
    } else if says("expired or is unknown") || says("The session has ended") {
        (
            "This login has expired",
            "A login page is valid for a limited time and can be used once; this one has expired or was already used.",
            "Go back to the application and log in again.",
        )
    } else if says("already completed") {
        (
            "You have already logged in",
            "This login was completed a moment ago, in this tab or another one.",
            "Go back to the application: you are logged in there.",
        )
    } else if says("Allowed Web Origin") {
        (
            "This application cannot log you in from here",
            "It asked for the answer on a page whose origin it has not registered as an Allowed Web Origin.",
            "If you develop this application, add its origin to web_origins in tenant.yaml.",
        )
    } else if says("Allowed Logout URLs") {
        (
            "You have not been logged out",
            "The application asked to send you to an address it has not registered as a logout URL, so nothing was done.",
            "If you develop this application, add the address to allowed_logout_urls in tenant.yaml.",
        )
    } else if says("client") {
        (
            "This application is not registered",
            "The link that brought you here names an application this tenant does not know, so it cannot send you back to it.",
            "Go back to the application you came from and try again.",
        )
    } else if says("redirect_uri") {
        (
            "The link that brought you here is incomplete",
            "It does not say where to send you back to after you log in.",
            "Go back to the application you came from and try again.",
        )
    } else if says("repeated") || says("longer than") {
        (
            "The link that brought you here is not valid",
            "It carries a parameter twice, or one that is too long to keep.",
            "Go back to the application you came from and log in again.",
        )
    } else {
        (
            "Something went wrong",
            "The request could not be completed.",
            "Go back to the application you came from and try again.",
        )
    };
    Words {
        headline,
        what,
        next,
    }
}

/// Any path the tenant does not serve, its root included: 404, and the applications to open.
pub fn not_found(tenant: &Tenant, path: &str) -> Response {
    let what = if path == "/" {
        "This development tenant has no home page: applications bring you here when you log in."
    } else {
        "There is no page at this address of the development tenant."
    };
    let content = format!(
        "<span class=\"mark mark-lost\" aria-hidden=\"true\"></span><h1>Page not found</h1>\
         <p class=\"lede near\">{what}</p>{}",
        app_links(tenant, "To log in, open an application:")
    );
    let card = Card {
        title: "Page not found",
        app: None,
        content,
        script: false,
    };
    render(StatusCode::NOT_FOUND, card, "'self'")
}

/// The logout page shown when `/v2/logout` has no `returnTo`: for `app` if the request named a
/// known client, else for every application.
pub fn logged_out_page(tenant: &Tenant, app: Option<App<'_>>) -> Response {
    let links = match app {
        Some(app) if app.home.is_some() => format!(
            "<div class=\"actions\">{}</div>",
            back_link(&app, "primary", "Back to")
        ),
        _ => app_links(tenant, "To log in again, open an application:"),
    };
    let content = format!(
        "<span class=\"mark mark-done\" aria-hidden=\"true\"></span><h1>You have logged out</h1>\
         <p class=\"lede\">You are logged out of every application that logs in with this tenant.</p>{links}"
    );
    let card = Card {
        title: "Logged out",
        app,
        content,
        script: false,
    };
    render(StatusCode::OK, card, "'self'")
}

/// The applications a person can log in to, as buttons (the first filled), under `lead`.
fn app_links(tenant: &Tenant, lead: &str) -> String {
    let links: String = apps(tenant)
        .iter()
        .enumerate()
        .map(|(i, app)| {
            let class = if i == 0 { "primary" } else { "secondary" };
            back_link(app, class, "Open")
        })
        .collect();
    if links.is_empty() {
        return String::new();
    }
    format!(
        "<p class=\"lede\">{}</p><nav class=\"actions\" aria-label=\"Applications\">{links}</nav>",
        text(lead)
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
