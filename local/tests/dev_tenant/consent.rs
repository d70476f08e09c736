//! The consent page's decisions: what Decline sends, and that a consent form completes at most
//! once, and not for a session that has ended. (That the page lists each permission asked for
//! is checked by every sign-in: `common::browser::sign_in`.)

use organizer_local::tenant::users::DEFAULT_PASSWORD;
use reqwest::StatusCode;

use crate::common::browser::{
    authorize_url, browser, consent_page, location, post_consent, sign_in, sign_in_until_consent,
};
use crate::common::oauth::{fragment, get, hidden};
use crate::common::stack;

#[tokio::test]
async fn declining_is_access_denied_sent_to_the_client() {
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

/// The same form posted twice completes once.
#[tokio::test]
async fn a_consent_form_completes_once() {
    let stack = stack().await;
    let browser = browser();
    let url = authorize_url(&stack, &[("scope", "openid read:contacts")]);
    let at = sign_in_until_consent(&stack, &browser, &url).await;
    let first = post_consent(&stack, &browser, &at.state, &at.csrf, "accept").await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert!(get(&fragment(&location(&first)), "access_token").is_some());
    let again = post_consent(&stack, &browser, &at.state, &at.csrf, "accept").await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    stack.stop().await;
}

#[tokio::test]
async fn a_consent_form_left_open_across_a_logout_issues_nothing() {
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
    // Signed in: prompt=consent goes straight to the consent page; it stays open...
    let response = browser
        .get(authorize_url(&stack, &[("prompt", "consent")]))
        .send()
        .await
        .unwrap();
    let html = consent_page(&stack, &browser, &location(&response)).await;
    let (state, csrf) = (hidden(&html, "state"), hidden(&html, "csrf"));
    // ...while the user logs out, then accepts.
    browser
        .get(format!("{}/v2/logout", stack.tenant_url))
        .send()
        .await
        .unwrap();
    let response = post_consent(&stack, &browser, &state, &csrf, "accept").await;
    let params = fragment(&location(&response));
    assert_eq!(get(&params, "error"), Some("login_required"));
    assert!(get(&params, "access_token").is_none());
    stack.stop().await;
}
