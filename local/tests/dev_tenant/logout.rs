//! `GET /v2/logout`: ends the session, and returns only to an allowed logout URL.

use axum::http::StatusCode;
use organizer_local::tenant::users::DEFAULT_PASSWORD;

use crate::common::browser::{authorize_url, browser, location, sign_in, spa};
use crate::common::in_process::TenantApp;
use crate::common::oauth::{SPA, SPA_ORIGIN, fragment, get};
use crate::common::stack;

/// Logging out ends the session: prompt=none then says login_required.
#[tokio::test]
async fn logging_out_ends_the_session_and_returns_to_the_application() {
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
        .get(format!(
            "{}/v2/logout?client_id={}&returnTo={SPA_ORIGIN}",
            stack.tenant_url,
            spa(&stack)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), SPA_ORIGIN);
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

/// In process: a `returnTo` that is not an allowed logout URL is a 400 page, no redirect.
#[tokio::test]
async fn return_to_must_be_an_allowed_logout_url() {
    let app = TenantApp::new();
    let answer = app
        .get(&format!(
            "/v2/logout?client_id={}&returnTo=https://evil.example/",
            app.client_id(SPA)
        ))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.location().is_none());
}
