//! The login form: the right password only, a CSRF token from the page, a browser binding
//! against login CSRF, and throttling after repeated failures.

use organizer_local::tenant::users::{DEFAULT_EMAIL, DEFAULT_PASSWORD};
use reqwest::StatusCode;

use crate::common::browser::{authorize_url, browser, open_login, post_login, sign_in};
use crate::common::stack;

#[tokio::test]
async fn a_wrong_password_is_refused() {
    let stack = stack().await;
    let url = authorize_url(&stack, &[]);
    assert_eq!(
        sign_in(&stack, &browser(), &url, "wrong password", "accept").await,
        "status:401"
    );
    stack.stop().await;
}

/// A form without the page's CSRF token is refused.
#[tokio::test]
async fn a_login_form_without_its_csrf_token_is_refused() {
    let stack = stack().await;
    let browser = browser();
    let (state, _, _) = open_login(&stack, &browser, &authorize_url(&stack, &[])).await;
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
    stack.stop().await;
}

/// Five failures: then even the right password is refused for a while.
#[tokio::test]
async fn after_five_failures_even_the_right_password_is_refused_for_a_while() {
    let stack = stack().await;
    let browser = browser();
    let url = authorize_url(&stack, &[]);
    for _ in 0..5 {
        assert_eq!(
            sign_in(&stack, &browser, &url, "wrong again", "accept").await,
            "status:401"
        );
    }
    assert_eq!(
        sign_in(&stack, &browser, &url, DEFAULT_PASSWORD, "accept").await,
        "status:429"
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_sign_in_is_bound_to_the_browser_that_started_it() {
    let stack = stack().await;
    // The attacker starts a sign-in and copies its state and CSRF token…
    let attacker = browser();
    let (state, csrf, login) = open_login(&stack, &attacker, &authorize_url(&stack, &[])).await;
    // …and has the victim's browser post it (login CSRF): refused, no session is made.
    let victim = browser();
    let response = post_login(&stack, &victim, &state, &csrf, DEFAULT_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(
        victim.get(&login).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    stack.stop().await;
}
