//! Silent authentication: `prompt=none`, and auth0-js's `checkSession()`
//! (`response_mode=web_message` in a hidden iframe). The answer comes at once, tokens or an
//! error, never a login or consent page.

use organizer_local::tenant::users::DEFAULT_PASSWORD;
use reqwest::StatusCode;

use crate::common::browser::{authorize_url, browser, location, sign_in, web_app_authorize_url};
use crate::common::in_process::TenantApp;
use crate::common::oauth::{SPA_ORIGIN, claims, fragment, get};
use crate::common::{WEB_APP_CALLBACK, stack, stack_with_web_app};

/// In process: no session, so nothing else matters.
#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let app = TenantApp::new();
    let answer = app.authorize(&[("prompt", "none")]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let params = fragment(answer.location().unwrap());
    assert_eq!(get(&params, "error"), Some("login_required"));
    assert_eq!(get(&params, "state"), Some("st-123"));
}

/// In process: `checkSession()` without a session, even without `prompt=none`, gets a message
/// saying so, not a login page (which could not be shown in its iframe).
#[tokio::test]
async fn check_session_without_a_session_gets_login_required_not_a_login_page() {
    let app = TenantApp::new();
    let answer = app
        .authorize(&[
            ("response_mode", "web_message"),
            ("redirect_uri", SPA_ORIGIN),
        ])
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.text().contains("login_required"));
}

#[tokio::test]
async fn with_a_session_and_consent_prompt_none_answers_with_tokens_at_once() {
    let stack = stack().await;
    let browser = browser();
    sign_in(
        &stack,
        &browser,
        &authorize_url(&stack, &[]),
        DEFAULT_PASSWORD,
        "accept",
    )
    .await;
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
    stack.stop().await;
}

/// `checkSession()` with a session: a page, framable by the client's origin only, that posts
/// the answer to that exact origin (never to "*").
#[tokio::test]
async fn check_session_gets_a_page_that_posts_to_the_exact_registered_origin() {
    let stack = stack().await;
    let browser = browser();
    sign_in(
        &stack,
        &browser,
        &authorize_url(&stack, &[]),
        DEFAULT_PASSWORD,
        "accept",
    )
    .await;
    let response = browser
        .get(authorize_url(
            &stack,
            &[
                ("prompt", "none"),
                ("response_mode", "web_message"),
                ("redirect_uri", SPA_ORIGIN),
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
    stack.stop().await;
}

/// Signed in, consented to contacts only: asking silently for the calendar too needs consent.
#[tokio::test]
async fn prompt_none_needs_consent_to_every_scope_asked_for() {
    let stack = stack().await;
    let browser = browser();
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

/// `response_mode=form_post`: the answer (here an error: signed in, but no consent to this
/// client yet) is an auto-posting form towards the client's callback.
#[tokio::test]
async fn a_form_post_answer_is_a_form_that_posts_to_the_callback() {
    let stack = stack_with_web_app().await;
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
    let response = browser
        .get(web_app_authorize_url(
            &stack,
            &[
                ("response_type", "token"),
                ("response_mode", "form_post"),
                ("prompt", "none"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("action=\"{WEB_APP_CALLBACK}\""))
            && html.contains("consent_required"),
        "{html}"
    );
    stack.stop().await;
}
