//! `GET /userinfo` answers with the user's profile for an access token that asked for
//! `openid`, and refuses anything else with an RFC 6750 challenge.

use axum::http::StatusCode;
use organizer_local::tenant::users::{DEFAULT_EMAIL, DEFAULT_PASSWORD};
use serde_json::Value;

use crate::common::browser::{authorize_url, browser, sign_in};
use crate::common::in_process::TenantApp;
use crate::common::oauth::{MACHINE, claims, fragment, get};
use crate::common::stack;

#[tokio::test]
async fn a_users_openid_access_token_gets_the_profile() {
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
    let profile: Value = reqwest::Client::new()
        .get(format!("{}/userinfo", stack.tenant_url))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile["email"], DEFAULT_EMAIL);
    assert_eq!(profile["sub"], claims(&access)["sub"]);
    stack.stop().await;
}

/// In process.
#[tokio::test]
async fn a_request_without_a_token_is_challenged() {
    let app = TenantApp::new();
    let answer = app.get("/userinfo").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.headers.contains_key("www-authenticate"));
}

/// In process: a client-credentials token is for the API only, not for /userinfo.
#[tokio::test]
async fn a_client_credentials_token_is_refused() {
    let app = TenantApp::new();
    let (id, secret) = app.credentials(MACHINE);
    let token = app
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("audience", "organize"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
        )
        .await
        .json();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let answer = app
        .get_with("/userinfo", &[("authorization", &bearer)])
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}
