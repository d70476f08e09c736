//! The tenant's pages as a person reads them: each permission by its description only, errors
//! in words that lead back only to a registered address of a known application, a 404 page at
//! `/` and at unknown paths, the "development tenant" badge on every page, every value
//! escaped, and a Content-Security-Policy that lets only the page's own stylesheet and script
//! (by hash) apply. (How each looks: site/tests/tenant-pages.test.mjs, in Chromium.)

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::common::browser::{
    authorize_url, browser, open_login, post_login, sign_in_until_consent,
};
use crate::common::in_process::{Answer, TenantApp};
use crate::common::oauth::{CALLBACK, SPA, SPA_ORIGIN, hidden};
use crate::common::stack;

/// The second SPA's registered home (its allowed logout URL in tenant.yaml).
const SECOND_SPA_ORIGIN: &str = "http://localhost:3002";

/// What every page says under its card.
const BADGE: &str = "<span class=\"badge\">Development tenant</span>";

/// The texts of the elements `<tag …>…</tag>` of `html`, in order.
fn elements<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    html.split(&open)
        .skip(1)
        .filter_map(|rest| {
            let body = &rest[rest.find('>')? + 1..];
            body.split(&close).next()
        })
        .collect()
}

/// The `href`s of the page's links.
fn links(html: &str) -> Vec<&str> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

/// A directive's sources, e.g. `style-src` → `["'sha256-…'"]`; None when absent.
fn directive<'a>(csp: &'a str, name: &str) -> Option<Vec<&'a str>> {
    csp.split(';').map(str::trim).find_map(|d| {
        let mut words = d.split_whitespace();
        (words.next() == Some(name)).then(|| words.collect())
    })
}

fn sha256_source(text: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// The Content-Security-Policy is as strict as before the pages were styled, and stricter for
/// styles: nothing loads from anywhere (`default-src 'none'`), no `'unsafe-inline'` or
/// `'unsafe-eval'`, no host or scheme source, styles and scripts only by the SHA-256 of the
/// page's own `<style>` and `<script>` elements (no inline `style=` or event-handler
/// attributes, no `<link>`, no `src`), never framed, no `<base>`, forms posting only to the
/// tenant (and, for a login or consent form, the client's origin its redirect may go to).
fn assert_strict(page: &str, csp: &str, x_frame_options: &str, html: &str, form_to: &[&str]) {
    assert_eq!(
        directive(csp, "default-src"),
        Some(vec!["'none'"]),
        "{page}: {csp}"
    );
    assert_eq!(
        directive(csp, "frame-ancestors"),
        Some(vec!["'none'"]),
        "{page}"
    );
    assert_eq!(directive(csp, "base-uri"), Some(vec!["'none'"]), "{page}");
    assert_eq!(x_frame_options, "DENY", "{page}");
    let mut form_action = vec!["'self'"];
    form_action.extend_from_slice(form_to);
    assert_eq!(directive(csp, "form-action"), Some(form_action), "{page}");
    for forbidden in [
        "unsafe-inline",
        "unsafe-eval",
        "unsafe-hashes",
        "*",
        "http:",
        "https:",
        "data:",
        "'self'",
    ] {
        for name in ["style-src", "script-src", "default-src"] {
            let sources = directive(csp, name).unwrap_or_default();
            assert!(
                !sources.contains(&forbidden),
                "{page}: {name} has {forbidden}: {csp}"
            );
        }
    }
    for name in ["style-src", "script-src", "default-src"] {
        let times = csp
            .split(';')
            .filter(|d| d.split_whitespace().next() == Some(name))
            .count();
        assert!(times <= 1, "{page}: {name} twice: {csp}");
    }
    for (tag, name) in [("style", "style-src"), ("script", "script-src")] {
        let inline = elements(html, tag);
        let allowed = directive(csp, name).unwrap_or_default();
        assert_eq!(
            allowed.len(),
            inline.len(),
            "{page}: {name} allows exactly its {tag}s: {csp}"
        );
        for text in inline {
            assert!(
                allowed.contains(&sha256_source(text).as_str()),
                "{page}: a {tag} not in {name}"
            );
        }
    }
    for pattern in [
        " style=",
        " onclick=",
        " onload=",
        " onsubmit=",
        "<link",
        " src=",
        "javascript:",
    ] {
        assert!(!html.contains(pattern), "{page}: {pattern} in {html}");
    }
}

fn header<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
}

/// Checks an in-process answer that is one of the tenant's pages: HTML, never cached, strict
/// CSP, the badge.
fn assert_page(page: &str, answer: &Answer, status: StatusCode) -> String {
    let html = answer.text();
    assert_eq!(answer.status, status, "{page}: {html}");
    assert!(
        answer.header("content-type").starts_with("text/html"),
        "{page}"
    );
    assert_eq!(answer.header("cache-control"), "no-store", "{page}");
    assert_strict(
        page,
        answer.header("content-security-policy"),
        answer.header("x-frame-options"),
        &html,
        &[],
    );
    assert!(html.contains(BADGE), "{page}: no badge");
    html
}

#[tokio::test]
async fn the_consent_page_shows_each_permission_by_its_description_only() {
    let stack = stack().await;
    let browser = browser();
    let url = authorize_url(
        &stack,
        &[("scope", "openid profile email read:contacts read:calendar")],
    );
    let at = sign_in_until_consent(&stack, &browser, &url).await;
    let page = browser
        .get(format!("{}/consent?state={}", stack.tenant_url, at.state))
        .send()
        .await
        .unwrap();
    let csp = header(page.headers(), "content-security-policy").to_string();
    let frame = header(page.headers(), "x-frame-options").to_string();
    let html = page.text().await.unwrap();
    assert_strict("consent", &csp, &frame, &html, &[SPA_ORIGIN]);
    assert!(html.contains(BADGE));
    let items = elements(&html, "li");
    assert_eq!(
        items,
        [
            "See your name",
            "See your email address",
            "Read your contacts",
            "Read your calendar"
        ]
    );
    let scopes: Vec<&str> = html
        .split("<li data-scope=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(
        scopes,
        ["profile", "email", "read:contacts", "read:calendar"]
    );
    // The scope is an attribute for programs, never words on the page.
    let words: String = html
        .split('<')
        .filter_map(|t| t.split_once('>'))
        .map(|(_, w)| w)
        .collect();
    for scope in ["read:contacts", "read:calendar", ": profile", ": email"] {
        assert!(!words.contains(scope), "{scope} shown in {words}");
    }
    // The form and its buttons as before: Accept filled, Decline quiet, same names and values.
    assert!(html.contains("name=\"csrf\" value=\""));
    assert!(html.contains(
        "<button type=\"submit\" class=\"button primary\" name=\"decision\" value=\"accept\">Accept</button>"
    ));
    assert!(html.contains(
        "<button type=\"submit\" class=\"button secondary\" name=\"decision\" value=\"decline\">Decline</button>"
    ));
    assert!(html.contains("<p class=\"app-name\">Organizer SPA</p>"));
    stack.stop().await;
}

#[tokio::test]
async fn the_login_page_names_the_application_and_uses_one_verb() {
    let app = TenantApp::new();
    let answer = app.authorize(&[]).await;
    let login = answer.location().unwrap().to_string();
    let cookie = answer
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = app.get_with(&login, &[("cookie", &cookie)]).await;
    let html = page.text();
    assert_eq!(page.status, StatusCode::OK, "{html}");
    assert_strict(
        "login",
        page.header("content-security-policy"),
        page.header("x-frame-options"),
        &html,
        &[SPA_ORIGIN],
    );
    assert!(html.contains(BADGE));
    assert!(
        html.contains("<title>Log in · Organizer SPA</title>"),
        "{html}"
    );
    assert!(html.contains("<h1>Log in</h1><p class=\"lede\">to continue to Organizer SPA</p>"));
    assert!(!html.to_lowercase().contains("sign in"), "one verb: {html}");
    // The fields the SDKs' users and the tests fill, the CSRF token, and the toggle that only
    // the script shows.
    for field in [
        "name=\"email\" type=\"email\" autocomplete=\"username\"",
        "name=\"password\" type=\"password\" autocomplete=\"current-password\"",
        "<input type=\"hidden\" name=\"state\" value=\"",
        "<input type=\"hidden\" name=\"csrf\" value=\"",
        "<label for=\"email\">Email address</label>",
        "aria-pressed=\"false\" hidden>Show</button>",
        ">Continue</button>",
    ] {
        assert!(html.contains(field), "{field} in {html}");
    }
}

#[tokio::test]
async fn a_value_posted_back_to_the_login_page_is_escaped() {
    let app = TenantApp::new();
    let answer = app.authorize(&[]).await;
    let login = answer.location().unwrap().to_string();
    let cookie = answer
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = app.get_with(&login, &[("cookie", &cookie)]).await.text();
    let state = hidden(&html, "state");
    let csrf = hidden(&html, "csrf");
    let hostile = "\"><script>alert(1)</script>@example.com";
    let again = app
        .post_form_with(
            "/login",
            &[("cookie", &cookie)],
            &[
                ("state", &state),
                ("csrf", &csrf),
                ("email", hostile),
                ("password", "x"),
            ],
        )
        .await;
    let html = again.text();
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{html}");
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        html.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;@example.com\""),
        "{html}"
    );
    assert!(html.contains("data-error=\"invalid_user_password\">Wrong email or password.</p>"));
}

#[tokio::test]
async fn an_error_for_an_unknown_client_says_so_in_words_and_links_nowhere() {
    let app = TenantApp::new();
    let answer = app
        .get(&format!(
            "/authorize?client_id=nope&redirect_uri={CALLBACK}&response_type=token"
        ))
        .await;
    let html = assert_page("unknown client", &answer, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("<h1>This application is not registered</h1>"),
        "{html}"
    );
    assert!(
        links(&html).is_empty(),
        "no way back to an unregistered address: {html}"
    );
    assert!(!html.contains("class=\"app\""), "no application named");
    // The codes are kept for developers, under "Technical details" only.
    let (words, details) = html.split_once("<details").unwrap();
    assert!(!words.contains("invalid_request"), "{words}");
    assert!(
        details.contains("<code>invalid_request</code> Unknown client"),
        "{details}"
    );
}

/// A registered client with a redirect_uri it did not register: the URL from the request is
/// shown escaped in the details, never as a link; the one link is the way back to the
/// application's own registered address, under its name.
#[tokio::test]
async fn an_unregistered_callback_is_never_linked_and_is_escaped() {
    let app = TenantApp::new();
    let evil = "http://evil.example/cb?<script>alert(1)</script>";
    let answer = app.authorize(&[("redirect_uri", evil)]).await;
    let html = assert_page("callback mismatch", &answer, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("<h1>This application cannot log you in from here</h1>"),
        "{html}"
    );
    assert!(!links(&html).iter().any(|l| l.contains("evil")), "{html}");
    assert_eq!(links(&html), [SPA_ORIGIN], "{html}");
    assert!(
        html.contains("<p class=\"app-name\">Organizer SPA</p>"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
}

#[tokio::test]
async fn an_error_for_a_known_application_leads_back_to_its_registered_address() {
    let app = TenantApp::new();
    let answer = app
        .get(&format!(
            "/v2/logout?client_id={}&returnTo=https://evil.example/",
            app.client_id(SPA)
        ))
        .await;
    let html = assert_page("logout to an unknown URL", &answer, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("<h1>You have not been logged out</h1>"),
        "{html}"
    );
    assert!(html.contains("<p class=\"app-name\">Organizer SPA</p>"));
    assert_eq!(links(&html), [SPA_ORIGIN]);
    assert!(html.contains(&format!(
        "<a class=\"button primary\" href=\"{SPA_ORIGIN}\">Back to Organizer SPA</a>"
    )));
}

/// A login page opened in another browser (its state copied): refused as before (403), with
/// words and the way back to the application the sign-in was for.
#[tokio::test]
async fn a_login_from_another_browser_leads_back_to_the_application() {
    let stack = stack().await;
    let (_, _, login) = open_login(&stack, &browser(), &authorize_url(&stack, &[])).await;
    let other = browser();
    let page = other.get(&login).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<h1>This login started in another browser</h1>"),
        "{html}"
    );
    assert_eq!(links(&html), [SPA_ORIGIN]);
    // Posting it there is refused the same way, and makes no session.
    let (state, csrf, _) = open_login(&stack, &browser(), &authorize_url(&stack, &[])).await;
    let posted = post_login(&stack, &other, &state, &csrf, "whatever").await;
    assert_eq!(posted.status(), StatusCode::FORBIDDEN);
    assert!(
        posted
            .text()
            .await
            .unwrap()
            .contains("Back to Organizer SPA")
    );
    stack.stop().await;
}

/// A login page whose sign-in is unknown (expired, or made up): words, no link, since no
/// application is known.
#[tokio::test]
async fn an_expired_login_says_so_without_a_link() {
    let app = TenantApp::new();
    let answer = app.get("/login?state=made-up").await;
    let html = assert_page("expired login", &answer, StatusCode::BAD_REQUEST);
    assert!(html.contains("<h1>This login has expired</h1>"), "{html}");
    assert!(links(&html).is_empty(), "{html}");
}

#[tokio::test]
async fn the_root_and_unknown_paths_are_a_404_page_with_the_way_to_the_applications() {
    let app = TenantApp::new();
    for path in ["/", "/no/such/page", "/authorize/extra", "/favicon.ico"] {
        let answer = app.get(path).await;
        let html = assert_page(path, &answer, StatusCode::NOT_FOUND);
        assert!(html.contains("<h1>Page not found</h1>"), "{path}: {html}");
        // Only the applications a person can log in to, at their registered addresses: not
        // the machine client.
        assert_eq!(links(&html), [SPA_ORIGIN, SECOND_SPA_ORIGIN], "{path}");
        assert!(html.contains(">Open Organizer SPA</a>"));
        assert!(html.contains(">Open Organizer SPA (second app)</a>"));
        assert!(!html.contains("Machine"), "{path}");
    }
    // The root says what the tenant is; other paths that nothing is there.
    assert!(app.get("/").await.text().contains("has no home page"));
    // A path is never echoed.
    let html = app.get("/%3Cscript%3Ealert(1)%3C/script%3E").await.text();
    assert!(!html.contains("script"), "{html}");
}

#[tokio::test]
async fn the_logged_out_page_leads_to_the_application_it_names_or_to_all() {
    let app = TenantApp::new();
    let named = app
        .get(&format!("/v2/logout?client_id={}", app.client_id(SPA)))
        .await;
    let html = assert_page("logged out (named)", &named, StatusCode::OK);
    assert!(html.contains("<h1>You have logged out</h1>"), "{html}");
    assert_eq!(links(&html), [SPA_ORIGIN]);
    let html = assert_page("logged out", &app.get("/v2/logout").await, StatusCode::OK);
    assert_eq!(links(&html), [SPA_ORIGIN, SECOND_SPA_ORIGIN]);
    // An unknown client_id names nothing and links only to registered applications.
    let html = assert_page(
        "logged out (unknown)",
        &app.get("/v2/logout?client_id=nope").await,
        StatusCode::OK,
    );
    assert_eq!(links(&html), [SPA_ORIGIN, SECOND_SPA_ORIGIN]);
}

/// The answers that are not pages keep their own policy: a redirect allows no style or script.
#[tokio::test]
async fn redirects_allow_no_style_or_script() {
    let app = TenantApp::new();
    let answer = app
        .get(&format!(
            "/v2/logout?client_id={}&returnTo={SPA_ORIGIN}",
            app.client_id(SPA)
        ))
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let csp = answer.header("content-security-policy");
    assert_eq!(directive(csp, "default-src"), Some(vec!["'none'"]), "{csp}");
    assert_eq!(directive(csp, "style-src"), None, "{csp}");
    assert_eq!(directive(csp, "script-src"), None, "{csp}");
}
