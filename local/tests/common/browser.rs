//! A browser over real HTTP against the local stack: it keeps cookies and does not follow
//! redirects (the tests look at each one); and the sign-in it runs, page by page.

use organizer_local::RunningStack;
use organizer_local::tenant::users::{DEFAULT_EMAIL, DEFAULT_PASSWORD};
use reqwest::StatusCode;
use serde_json::Value;

use super::WEB_APP_CALLBACK;
use super::oauth::{CALLBACK, SPA, SPA_ORIGIN, WEB_APP, authorize_query, hidden};

pub fn browser() -> reqwest::Client {
    browser_at(std::net::Ipv4Addr::LOCALHOST)
}

/// A [`browser`] connecting from another loopback address (127.0.0.2, …): to the tenant, a
/// user on another machine.
pub fn browser_at(address: std::net::Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::V4(address))
        .build()
        .unwrap()
}

/// The SPA's client id.
pub fn spa(stack: &RunningStack) -> String {
    stack.tenant.client_by_name(SPA).unwrap().id.clone()
}

/// The SPA's sign-in URL ([`authorize_query`]) changed by `extra`.
pub fn authorize_url(stack: &RunningStack, extra: &[(&str, &str)]) -> String {
    format!(
        "{}/authorize?{}",
        stack.tenant_url,
        authorize_query(&spa(stack), extra)
    )
}

/// A sign-in of the web app of [`with_web_app`](super::with_web_app) (scope
/// `openid read:contacts`, `state=w`), with the `extra` parameters.
pub fn web_app_authorize_url(stack: &RunningStack, extra: &[(&str, &str)]) -> String {
    let web_id = &stack.tenant.client_by_name(WEB_APP).unwrap().id;
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", web_id)
        .append_pair("redirect_uri", WEB_APP_CALLBACK);
    q.append_pair("scope", "openid read:contacts")
        .append_pair("audience", "organize")
        .append_pair("state", "w");
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    format!("{}/authorize?{}", stack.tenant_url, q.finish())
}

/// The `Location` header, or "".
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The value of the `organizer_session` cookie a response sets.
pub fn session_cookie(response: &reqwest::Response) -> String {
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("organizer_session="))
        .unwrap();
    cookie
        .trim_start_matches("organizer_session=")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// Opens `url` (an /authorize request that needs a login) and the login page it leads to;
/// returns the sign-in's state, the page's CSRF token and the login page's URL.
pub async fn open_login(
    stack: &RunningStack,
    browser: &reqwest::Client,
    url: &str,
) -> (String, String, String) {
    let response = browser.get(url).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "authorize should send to login"
    );
    let login = format!("{}{}", stack.tenant_url, location(&response));
    assert!(login.contains("/login?state="), "{login}");
    let page = browser.get(&login).send().await.unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let html = page.text().await.unwrap();
    (hidden(&html, "state"), hidden(&html, "csrf"), login)
}

/// Posts the login form of sign-in `state` with the default user's email.
pub async fn post_login(
    stack: &RunningStack,
    browser: &reqwest::Client,
    state: &str,
    csrf: &str,
    password: &str,
) -> reqwest::Response {
    post_login_as(stack, browser, state, csrf, DEFAULT_EMAIL, password).await
}

/// Posts the login form of sign-in `state` for `email`.
pub async fn post_login_as(
    stack: &RunningStack,
    browser: &reqwest::Client,
    state: &str,
    csrf: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    browser
        .post(format!("{}/login", stack.tenant_url))
        .form(&[
            ("state", state),
            ("csrf", csrf),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// Runs /authorize → login; returns the sign-in's state and the login form's answer.
pub async fn log_in(
    stack: &RunningStack,
    browser: &reqwest::Client,
    url: &str,
    password: &str,
) -> (String, reqwest::Response) {
    let (state, csrf, _) = open_login(stack, browser, url).await;
    let response = post_login(stack, browser, &state, &csrf, password).await;
    (state, response)
}

/// Opens the consent page at `path` (a tenant path, `/consent?state=...`); returns its HTML.
pub async fn consent_page(stack: &RunningStack, browser: &reqwest::Client, path: &str) -> String {
    browser
        .get(format!("{}{path}", stack.tenant_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Posts the consent form of sign-in `state`: `decision` is "accept" or "decline".
pub async fn post_consent(
    stack: &RunningStack,
    browser: &reqwest::Client,
    state: &str,
    csrf: &str,
    decision: &str,
) -> reqwest::Response {
    browser
        .post(format!("{}/consent", stack.tenant_url))
        .form(&[("state", state), ("csrf", csrf), ("decision", decision)])
        .send()
        .await
        .unwrap()
}

/// A sign-in stopped at its consent page.
pub struct AtConsent {
    /// The sign-in's state (the `state` of its forms).
    pub state: String,
    /// The consent page's CSRF token.
    pub csrf: String,
    /// The value of the session cookie the login set.
    pub session: String,
}

/// Runs /authorize → login with the default user's password, up to the consent page (so `url`
/// must ask for something not consented to yet).
pub async fn sign_in_until_consent(
    stack: &RunningStack,
    browser: &reqwest::Client,
    url: &str,
) -> AtConsent {
    let (state, response) = log_in(stack, browser, url, DEFAULT_PASSWORD).await;
    let session = session_cookie(&response);
    let next = location(&response);
    assert!(next.starts_with("/consent"), "{next}");
    let csrf = hidden(&consent_page(stack, browser, &next).await, "csrf");
    AtConsent {
        state,
        csrf,
        session,
    }
}

/// Runs /authorize → login → (consent) and returns the final redirect's location, or
/// `status:NNN` when the login form is answered with a page.
pub async fn sign_in(
    stack: &RunningStack,
    browser: &reqwest::Client,
    url: &str,
    password: &str,
    decision: &str,
) -> String {
    let (state, response) = log_in(stack, browser, url, password).await;
    if response.status() != StatusCode::SEE_OTHER {
        return format!("status:{}", response.status().as_u16());
    }
    let next = location(&response);
    if !next.starts_with("/consent") {
        return next;
    }
    let html = consent_page(stack, browser, &next).await;
    // Each requested permission is listed with its description.
    assert!(html.contains("Read your contacts"), "{html}");
    assert_eq!(
        html.contains("Read your calendar"),
        url.contains("read%3Acalendar"),
        "{html}"
    );
    let csrf = hidden(&html, "csrf");
    let response = post_consent(stack, browser, &state, &csrf, decision).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(&response)
}

/// Exchanges an authorization code of the SPA at the token endpoint, from the SPA's origin
/// (whose answer must allow that origin); `verifier` is the PKCE verifier, if any.
pub async fn exchange(
    stack: &RunningStack,
    code: &str,
    verifier: Option<&str>,
) -> (StatusCode, Value) {
    let client_id = spa(stack);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", client_id.as_str()),
        ("code", code),
        ("redirect_uri", CALLBACK),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", stack.tenant_url))
        .header("origin", SPA_ORIGIN)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        SPA_ORIGIN
    );
    let status = response.status();
    (status, response.json().await.unwrap())
}
