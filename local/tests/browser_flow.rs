//! The implicit flow over plain HTTP, as a browser would run it: /authorize, the login and
//! consent forms, the token in the fragment, both APIs with that one token; then SSO with
//! prompt=none, and every refusal the dev tenant owes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use common::{repo, stack};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use organizer_local::RunningStack;
use organizer_local::tenant::users::{DEFAULT_EMAIL, DEFAULT_PASSWORD};
use reqwest::StatusCode;
use serde_json::Value;

const CALLBACK: &str = "http://localhost:3000/callback.html";

/// A browser: keeps cookies, does not follow redirects (the test looks at each one).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn spa(stack: &RunningStack) -> String {
    stack
        .tenant
        .client_by_name("Organizer SPA")
        .unwrap()
        .id
        .clone()
}

fn authorize_url(stack: &RunningStack, extra: &[(&str, &str)]) -> String {
    let client_id = spa(stack);
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("client_id", client_id.as_str()),
        ("response_type", "token id_token"),
        ("redirect_uri", CALLBACK),
        ("scope", "openid profile email read:contacts read:calendar"),
        ("audience", "organize"),
        ("state", "st-123"),
        ("nonce", "n-456"),
    ] {
        if !extra.iter().any(|(ek, _)| *ek == k) {
            q.append_pair(k, v);
        }
    }
    for (k, v) in extra {
        if !v.is_empty() {
            q.append_pair(k, v);
        }
    }
    format!("{}/authorize?{}", stack.tenant_url, q.finish())
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

fn fragment(url: &str) -> Vec<(String, String)> {
    let (_, fragment) = url
        .split_once('#')
        .unwrap_or_else(|| panic!("no fragment in {url}"));
    form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect()
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn claims(jwt: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

/// Runs /authorize → login → (consent) and returns the final redirect's location.
async fn sign_in(
    stack: &RunningStack,
    browser: &reqwest::Client,
    url: &str,
    password: &str,
    decision: &str,
) -> String {
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
    let (state, csrf) = (hidden(&html, "state"), hidden(&html, "csrf"));
    let response = browser
        .post(format!("{}/login", stack.tenant_url))
        .form(&[
            ("state", state.as_str()),
            ("csrf", csrf.as_str()),
            ("email", DEFAULT_EMAIL),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    if response.status() != StatusCode::SEE_OTHER {
        return format!("status:{}", response.status().as_u16());
    }
    let next = location(&response);
    if !next.starts_with("/consent") {
        return next;
    }
    let html = browser
        .get(format!("{}{next}", stack.tenant_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Each requested permission is listed with its description.
    assert!(html.contains("Read your contacts"), "{html}");
    assert_eq!(
        html.contains("Read your calendar"),
        url.contains("read%3Acalendar"),
        "{html}"
    );
    let csrf = hidden(&html, "csrf");
    let response = browser
        .post(format!("{}/consent", stack.tenant_url))
        .form(&[
            ("state", state.as_str()),
            ("csrf", csrf.as_str()),
            ("decision", decision),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(&response)
}

#[tokio::test]
async fn login_consent_token_both_apis_then_silent_sso() {
    let stack = stack().await;
    let browser = browser();
    let back = sign_in(
        &stack,
        &browser,
        &authorize_url(&stack, &[]),
        DEFAULT_PASSWORD,
        "accept",
    )
    .await;
    assert!(back.starts_with(&format!("{CALLBACK}#")), "{back}");
    let params = fragment(&back);
    assert_eq!(get(&params, "state"), Some("st-123"));
    assert_eq!(get(&params, "token_type"), Some("Bearer"));
    let access = get(&params, "access_token").unwrap().to_string();
    let id_token = claims(get(&params, "id_token").unwrap());
    let access_claims = claims(&access);
    assert_eq!(
        access_claims["aud"],
        serde_json::json!(["organize", format!("{}/userinfo", stack.tenant_url)])
    );
    assert_eq!(
        access_claims["scope"],
        "openid profile email read:contacts read:calendar"
    );
    assert!(access_claims["sub"].as_str().unwrap().starts_with("auth0|"));
    assert_eq!(id_token["aud"], spa(&stack));
    assert_eq!(id_token["nonce"], "n-456");
    assert_eq!(id_token["email"], DEFAULT_EMAIL);
    assert_eq!(
        id_token["at_hash"],
        organizer_local::tenant::issue::at_hash(&access)
    );
    assert!(id_token["sid"].is_string());

    for path in ["/contacts", "/calendar"] {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", stack.api_url))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(!body["items"].as_array().unwrap().is_empty(), "{path}");
    }

    // Same browser, prompt=none: tokens straight away, no page.
    let response = browser
        .get(authorize_url(
            &stack,
            &[("prompt", "none"), ("state", "again")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = fragment(&location(&response));
    assert_eq!(get(&params, "state"), Some("again"));
    assert!(get(&params, "access_token").is_some());

    // web_message, as checkSession() asks: a page posting to the exact registered origin.
    let response = browser
        .get(authorize_url(
            &stack,
            &[
                ("prompt", "none"),
                ("response_mode", "web_message"),
                ("redirect_uri", "http://localhost:3000"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("frame-ancestors http://localhost:3000"),
        "{csp}"
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains("\"type\":\"authorization_response\""),
        "{html}"
    );
    assert!(html.contains(", \"http://localhost:3000\")"), "{html}");
    assert!(!html.contains("\"*\""));

    // Logging out ends the session: prompt=none now says login_required.
    let response = browser
        .get(format!(
            "{}/v2/logout?client_id={}&returnTo=http://localhost:3000",
            stack.tenant_url,
            spa(&stack)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "http://localhost:3000");
    let response = browser
        .get(authorize_url(&stack, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    let params = fragment(&location(&response));
    assert_eq!(get(&params, "error"), Some("login_required"));
    assert_eq!(get(&params, "state"), Some("st-123"));
    stack.stop().await;
}

#[tokio::test]
async fn prompt_none_without_session_or_consent() {
    let stack = stack().await;
    let browser = browser();
    let response = browser
        .get(authorize_url(&stack, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        get(&fragment(&location(&response)), "error"),
        Some("login_required")
    );
    // Signed in, consented to contacts only: asking silently for the calendar too needs consent.
    let narrow = authorize_url(&stack, &[("scope", "openid read:contacts")]);
    let back = sign_in(&stack, &browser, &narrow, DEFAULT_PASSWORD, "accept").await;
    assert_eq!(
        claims(get(&fragment(&back), "access_token").unwrap())["scope"],
        "openid read:contacts"
    );
    let response = browser
        .get(authorize_url(&stack, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        get(&fragment(&location(&response)), "error"),
        Some("consent_required")
    );
    stack.stop().await;
}

#[tokio::test]
async fn declining_consent_is_access_denied() {
    let stack = stack().await;
    let back = sign_in(
        &stack,
        &browser(),
        &authorize_url(&stack, &[]),
        DEFAULT_PASSWORD,
        "decline",
    )
    .await;
    let params = fragment(&back);
    assert_eq!(get(&params, "error"), Some("access_denied"));
    assert_eq!(get(&params, "state"), Some("st-123"));
    assert!(get(&params, "access_token").is_none());
    stack.stop().await;
}

#[tokio::test]
async fn wrong_password_missing_csrf_and_throttling() {
    let stack = stack().await;
    let browser = browser();
    assert_eq!(
        sign_in(
            &stack,
            &browser,
            &authorize_url(&stack, &[]),
            "wrong password",
            "accept"
        )
        .await,
        "status:401"
    );
    // A form without the page's CSRF token is refused.
    let response = browser
        .get(authorize_url(&stack, &[]))
        .send()
        .await
        .unwrap();
    let login = format!("{}{}", stack.tenant_url, location(&response));
    let state = hidden(
        &browser
            .get(&login)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "state",
    );
    let response = browser
        .post(format!("{}/login", stack.tenant_url))
        .form(&[
            ("state", state.as_str()),
            ("email", DEFAULT_EMAIL),
            ("password", DEFAULT_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Four more failures make five: then even the right password is refused for a while.
    for _ in 0..4 {
        assert_eq!(
            sign_in(
                &stack,
                &browser,
                &authorize_url(&stack, &[]),
                "wrong again",
                "accept"
            )
            .await,
            "status:401"
        );
    }
    assert_eq!(
        sign_in(
            &stack,
            &browser,
            &authorize_url(&stack, &[]),
            DEFAULT_PASSWORD,
            "accept"
        )
        .await,
        "status:429"
    );
    // Logout to a URL that is not an allowed logout URL: 400, no redirect.
    let response = browser
        .get(format!(
            "{}/v2/logout?client_id={}&returnTo=https://evil.example/",
            stack.tenant_url,
            spa(&stack)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    stack.stop().await;
}

fn pkce() -> (String, String) {
    use sha2::Digest;
    let verifier = format!(
        "verifier-{}-{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn query_params(url: &str) -> Vec<(String, String)> {
    let (_, query) = url
        .split_once('?')
        .unwrap_or_else(|| panic!("no query in {url}"));
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

async fn exchange(stack: &RunningStack, code: &str, verifier: Option<&str>) -> (StatusCode, Value) {
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
        .header("origin", "http://localhost:3000")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn authorization_code_with_pkce_single_use_and_checked() {
    let stack = stack().await;
    let browser = browser();
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &stack,
        &[
            ("response_type", "code"),
            ("nonce", ""),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let back = sign_in(&stack, &browser, &url, DEFAULT_PASSWORD, "accept").await;
    let params = query_params(&back);
    assert_eq!(get(&params, "state"), Some("st-123"));
    let code = get(&params, "code").unwrap().to_string();
    // A wrong verifier fails, and the code is spent: the right one then fails too.
    let (status, body) = exchange(&stack, &code, Some(&pkce().0)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, _) = exchange(&stack, &code, Some(&verifier)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A fresh code (the session is there: no page) exchanges once.
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &stack,
        &[
            ("response_type", "code"),
            ("nonce", ""),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let response = browser.get(&url).send().await.unwrap();
    let code = get(&query_params(&location(&response)), "code")
        .unwrap()
        .to_string();
    let (status, _) = exchange(&stack, &code, None).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a code with a challenge needs its verifier"
    );
    let response = browser.get(&url).send().await.unwrap();
    let code = get(&query_params(&location(&response)), "code")
        .unwrap()
        .to_string();
    let (status, tokens) = exchange(&stack, &code, Some(&verifier)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert!(tokens["id_token"].is_string());
    let api = reqwest::Client::new()
        .get(format!("{}/calendar", stack.api_url))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    let (status, body) = exchange(&stack, &code, Some(&verifier)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "reused code"
    );

    stack.stop().await;
}

#[tokio::test]
async fn userinfo_answers_for_an_openid_access_token_only() {
    let stack = stack().await;
    let back = sign_in(
        &stack,
        &browser(),
        &authorize_url(&stack, &[]),
        DEFAULT_PASSWORD,
        "accept",
    )
    .await;
    let access = get(&fragment(&back), "access_token").unwrap().to_string();
    let client = reqwest::Client::new();
    let url = format!("{}/userinfo", stack.tenant_url);
    let profile: Value = client
        .get(&url)
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile["email"], DEFAULT_EMAIL);
    assert_eq!(profile["sub"], claims(&access)["sub"]);
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    // A client-credentials token is for the API only, not for /userinfo.
    let machine = stack.tenant.client_by_name("Organizer Machine").unwrap();
    let token: Value = client
        .post(format!("{}/oauth/token", stack.tenant_url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", "organize"),
            ("client_id", &machine.id),
            ("client_secret", &machine.secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = client
        .get(&url)
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    stack.stop().await;
}

/// The repository's tenant plus a confidential web app on another origin, which is not an
/// Allowed Web Origin of anything.
async fn stack_with_web_app() -> RunningStack {
    let yaml = std::fs::read_to_string(repo().join("tenant.yaml")).unwrap().replace(
        "\nclientGrants:",
        "  - name: Organizer Web\n    app_type: regular_web\n    callbacks:\n      - http://127.0.0.1:8080/cb\n    \
         grant_types:\n      - authorization_code\n      - implicit\n    token_endpoint_auth_method: client_secret_post\n\nclientGrants:",
    );
    let dir = common::temp_dir("organizer-web");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tenant.yaml"), yaml).unwrap();
    common::start_stack(&dir.join("tenant.yaml"), dir.join("state"), 0).await
}

#[tokio::test]
async fn form_post_and_code_without_pkce_for_a_confidential_client() {
    let stack = stack_with_web_app().await;
    let web = stack.tenant.client_by_name("Organizer Web").unwrap();
    let (web_id, web_secret) = (web.id.clone(), web.secret.clone());
    let browser = browser();
    // Sign in once through the SPA so a session exists.
    sign_in(
        &stack,
        &browser,
        &authorize_url(&stack, &[]),
        DEFAULT_PASSWORD,
        "accept",
    )
    .await;

    let url = |extra: &[(&str, &str)]| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("client_id", &web_id)
            .append_pair("redirect_uri", "http://127.0.0.1:8080/cb");
        q.append_pair("scope", "openid read:contacts")
            .append_pair("audience", "organize")
            .append_pair("state", "w");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        format!("{}/authorize?{}", stack.tenant_url, q.finish())
    };
    // form_post: an auto-posting form towards the callback, with the error (no consent yet).
    let response = browser
        .get(url(&[
            ("response_type", "token"),
            ("response_mode", "form_post"),
            ("prompt", "none"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("action=\"http://127.0.0.1:8080/cb\"") && html.contains("consent_required"),
        "{html}"
    );

    // A confidential client may skip PKCE; then a verifier at the token endpoint is refused.
    let code_url = url(&[("response_type", "code"), ("prompt", "consent")]);
    let consent = browser.get(&code_url).send().await.unwrap();
    let next = location(&consent);
    let html = browser
        .get(format!("{}{next}", stack.tenant_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (state, csrf) = (hidden(&html, "state"), hidden(&html, "csrf"));
    let done = browser
        .post(format!("{}/consent", stack.tenant_url))
        .form(&[
            ("state", state.as_str()),
            ("csrf", csrf.as_str()),
            ("decision", "accept"),
        ])
        .send()
        .await
        .unwrap();
    let code = get(&query_params(&location(&done)), "code")
        .unwrap()
        .to_string();
    let token = |code: String, verifier: Option<&'static str>, secret: Option<String>| {
        let tenant_url = stack.tenant_url.clone();
        let web_id = web_id.clone();
        async move {
            let mut form = vec![
                ("grant_type".to_string(), "authorization_code".to_string()),
                ("client_id".to_string(), web_id),
                ("code".to_string(), code),
                (
                    "redirect_uri".to_string(),
                    "http://127.0.0.1:8080/cb".to_string(),
                ),
            ];
            if let Some(v) = verifier {
                form.push(("code_verifier".into(), v.into()));
            }
            if let Some(s) = secret {
                form.push(("client_secret".into(), s));
            }
            let response = reqwest::Client::new()
                .post(format!("{tenant_url}/oauth/token"))
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = token(
        code,
        Some("a-verifier-for-a-code-that-had-no-challenge-at-all-000"),
        Some(web_secret.clone()),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_sign_in_is_bound_to_the_browser_that_started_it() {
    let stack = stack().await;
    // The attacker starts a sign-in and copies its state and CSRF token…
    let attacker = browser();
    let response = attacker
        .get(authorize_url(&stack, &[]))
        .send()
        .await
        .unwrap();
    let login = format!("{}{}", stack.tenant_url, location(&response));
    let html = attacker
        .get(&login)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (state, csrf) = (hidden(&html, "state"), hidden(&html, "csrf"));
    // …and has the victim's browser post it (login CSRF): refused, no session is made.
    let victim = browser();
    let response = victim
        .post(format!("{}/login", stack.tenant_url))
        .form(&[
            ("state", state.as_str()),
            ("csrf", csrf.as_str()),
            ("email", DEFAULT_EMAIL),
            ("password", DEFAULT_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(
        victim.get(&login).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    stack.stop().await;
}

#[tokio::test]
async fn review_fixes_hold() {
    let stack = stack().await;
    let browser = browser();
    // checkSession() without a session, even without prompt=none: a message, not a login page.
    let response = browser
        .get(authorize_url(
            &stack,
            &[
                ("response_mode", "web_message"),
                ("redirect_uri", "http://localhost:3000"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("login_required"));
    // JWKS and discovery are readable from the SPA's page.
    let jwks = reqwest::get(format!("{}/.well-known/jwks.json", stack.tenant_url))
        .await
        .unwrap();
    assert_eq!(jwks.headers()["access-control-allow-origin"], "*");

    // Start a sign-in, log in, and keep the consent form open.
    let response = browser
        .get(authorize_url(&stack, &[("scope", "openid read:contacts")]))
        .send()
        .await
        .unwrap();
    let login = format!("{}{}", stack.tenant_url, location(&response));
    let html = browser
        .get(&login)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (state, csrf) = (hidden(&html, "state"), hidden(&html, "csrf"));
    let response = browser
        .post(format!("{}/login", stack.tenant_url))
        .form(&[
            ("state", state.as_str()),
            ("csrf", csrf.as_str()),
            ("email", DEFAULT_EMAIL),
            ("password", DEFAULT_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("organizer_session="))
        .unwrap();
    let session_value = cookie
        .trim_start_matches("organizer_session=")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let consent = format!("{}{}", stack.tenant_url, location(&response));
    let csrf = hidden(
        &browser
            .get(&consent)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "csrf",
    );
    let accept = [
        ("state", state.as_str()),
        ("csrf", csrf.as_str()),
        ("decision", "accept"),
    ];
    let response = browser
        .post(format!("{}/consent", stack.tenant_url))
        .form(&accept)
        .send()
        .await
        .unwrap();
    let params = fragment(&location(&response));
    let id_token = claims(get(&params, "id_token").unwrap());
    // The ID token's sid is public and is not the session cookie.
    assert!(id_token["sid"].is_string());
    assert_ne!(id_token["sid"].as_str().unwrap(), session_value);
    // scope=openid alone: no profile claims.
    assert!(
        id_token.get("email").is_none() && id_token.get("name").is_none(),
        "{id_token}"
    );
    // The same form posted twice completes once.
    let again = browser
        .post(format!("{}/consent", stack.tenant_url))
        .form(&accept)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);

    // A consent form left open across a logout issues nothing.
    let response = browser
        .get(authorize_url(&stack, &[("prompt", "consent")]))
        .send()
        .await
        .unwrap();
    let consent = format!("{}{}", stack.tenant_url, location(&response));
    let html = browser
        .get(&consent)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (state, csrf) = (hidden(&html, "state"), hidden(&html, "csrf"));
    browser
        .get(format!("{}/v2/logout", stack.tenant_url))
        .send()
        .await
        .unwrap();
    let response = browser
        .post(format!("{}/consent", stack.tenant_url))
        .form(&[
            ("state", state.as_str()),
            ("csrf", csrf.as_str()),
            ("decision", "accept"),
        ])
        .send()
        .await
        .unwrap();
    let params = fragment(&location(&response));
    assert_eq!(get(&params, "error"), Some("login_required"));
    assert!(get(&params, "access_token").is_none());
    stack.stop().await;
}
