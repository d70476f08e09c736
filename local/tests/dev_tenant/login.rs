//! The login form: the right password only, a CSRF token from the page, a browser binding
//! against login CSRF, and Auth0's throttling (brute-force protection per account and address,
//! suspicious-IP throttling per address), counted before the password is hashed.

use organizer_local::tenant::users::{DEFAULT_EMAIL, DEFAULT_PASSWORD};
use reqwest::StatusCode;

use std::net::Ipv4Addr;

use crate::common::browser::{
    authorize_url, browser, browser_at, open_login, post_login, post_login_as, sign_in,
};
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

/// The login page's error code (`data-error`), as Auth0's login names it.
async fn error_code(response: reqwest::Response) -> (StatusCode, String, bool) {
    let status = response.status();
    let retry_after = response.headers().contains_key("retry-after");
    let html = response.text().await.unwrap();
    let code = html
        .split("data-error=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
        .to_string();
    (status, code, retry_after)
}

/// Auth0's brute-force protection: ten consecutive failures for one account from one address
/// block that account from that address (the right password included, 429
/// `too_many_attempts`), while the same account from another address signs in.
#[tokio::test]
async fn ten_failures_block_the_account_from_that_address_only() {
    let stack = stack().await;
    let url = authorize_url(&stack, &[]);
    let here = browser();
    let (state, csrf, _) = open_login(&stack, &here, &url).await;
    for attempt in 1..=10 {
        let answer =
            error_code(post_login(&stack, &here, &state, &csrf, "wrong again").await).await;
        assert_eq!(
            (answer.0, answer.1.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_user_password"),
            "attempt {attempt}"
        );
    }
    let blocked =
        error_code(post_login(&stack, &here, &state, &csrf, DEFAULT_PASSWORD).await).await;
    assert_eq!(
        (blocked.0, blocked.1.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    // Another address: unaffected (before, five failures of anyone locked out everyone).
    let elsewhere = browser_at(Ipv4Addr::new(127, 0, 0, 2));
    let location = sign_in(&stack, &elsewhere, &url, DEFAULT_PASSWORD, "accept").await;
    assert!(location.contains("access_token="), "{location}");
    stack.stop().await;
}

/// Forty wrong passwords posted at once with one sign-in: each is counted before its hash
/// runs, so at most ten are checked (401) and the others refused (429), and no more than ten
/// failures are ever checked before the block.
#[tokio::test]
async fn forty_guesses_at_once_are_all_counted() {
    let stack = stack().await;
    let here = browser();
    let (state, csrf, _) = open_login(&stack, &here, &authorize_url(&stack, &[])).await;
    let guesses = (0..40).map(|i| {
        let (here, state, csrf) = (here.clone(), state.clone(), csrf.clone());
        let tenant = stack.tenant_url.clone();
        tokio::spawn(async move {
            let response = here
                .post(format!("{tenant}/login"))
                .form(&[
                    ("state", state.as_str()),
                    ("csrf", csrf.as_str()),
                    ("email", DEFAULT_EMAIL),
                    ("password", &format!("guess {i}")),
                ])
                .send()
                .await
                .unwrap();
            error_code(response).await
        })
    });
    let mut checked = 0;
    let mut refused_busy = 0;
    for guess in futures_join(guesses).await {
        match (guess.0, guess.1.as_str(), guess.2) {
            (StatusCode::UNAUTHORIZED, "invalid_user_password", _) => checked += 1,
            (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", retry_after) => {
                if retry_after {
                    refused_busy += 1;
                }
            }
            other => panic!("unexpected answer to a wrong password: {other:?}"),
        }
    }
    assert!(checked <= 10, "{checked} wrong passwords were checked");
    // Attempts refused only because too many hashes ran are not counted: keep guessing one at a
    // time until the block; ten checks in all, never more.
    let mut sequential = 0;
    loop {
        let answer = error_code(post_login(&stack, &here, &state, &csrf, "one more").await).await;
        match answer.0 {
            StatusCode::UNAUTHORIZED => sequential += 1,
            StatusCode::TOO_MANY_REQUESTS if !answer.2 => break,
            StatusCode::TOO_MANY_REQUESTS => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            other => panic!("{other}"),
        }
        assert!(
            checked + sequential <= 10,
            "more than ten failures were checked"
        );
    }
    assert_eq!(checked + sequential, 10, "busy refusals: {refused_busy}");
    stack.stop().await;
}

/// Awaits spawned tasks in order.
async fn futures_join<T>(tasks: impl IntoIterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// Auth0's suspicious-IP throttling: an address that failed 100 logins across accounts is
/// refused for any account, with `Retry-After`; other addresses are not.
#[tokio::test]
async fn an_address_failing_across_accounts_is_throttled() {
    let stack = stack().await;
    let url = authorize_url(&stack, &[]);
    let prober = browser_at(Ipv4Addr::new(127, 0, 0, 3));
    let (state, csrf, _) = open_login(&stack, &prober, &url).await;
    for i in 0..100 {
        let email = format!("someone{i}@example.com");
        let answer =
            error_code(post_login_as(&stack, &prober, &state, &csrf, &email, "guess").await).await;
        assert_eq!(answer.0, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let throttled = error_code(
        post_login_as(
            &stack,
            &prober,
            &state,
            &csrf,
            DEFAULT_EMAIL,
            DEFAULT_PASSWORD,
        )
        .await,
    )
    .await;
    assert_eq!(
        throttled,
        (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts".into(),
            true
        )
    );
    let location = sign_in(&stack, &browser(), &url, DEFAULT_PASSWORD, "accept").await;
    assert!(location.contains("access_token="), "{location}");
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
