//! The authorization code flow over real HTTP: codes bound to their PKCE challenge, single use,
//! exchanged from the SPA's origin for tokens that read the API; and a confidential client,
//! which may skip PKCE.

use organizer_local::tenant::users::DEFAULT_PASSWORD;
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::api::api_get;
use crate::common::browser::{
    authorize_url, browser, consent_page, exchange, location, post_consent, sign_in,
    web_app_authorize_url,
};
use crate::common::oauth::{WEB_APP, code_flow, get, hidden, pkce, query_params};
use crate::common::{WEB_APP_CALLBACK, stack, stack_with_web_app};

#[tokio::test]
async fn a_wrong_verifier_spends_the_code() {
    let stack = stack().await;
    let (verifier, challenge) = pkce();
    let url = authorize_url(&stack, &code_flow(&challenge));
    let back = sign_in(&stack, &browser(), &url, DEFAULT_PASSWORD, "accept").await;
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
    stack.stop().await;
}

#[tokio::test]
async fn a_code_with_a_challenge_needs_its_verifier() {
    let stack = stack().await;
    let (_, challenge) = pkce();
    let url = authorize_url(&stack, &code_flow(&challenge));
    let back = sign_in(&stack, &browser(), &url, DEFAULT_PASSWORD, "accept").await;
    let code = get(&query_params(&back), "code").unwrap().to_string();
    let (status, _) = exchange(&stack, &code, None).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a code with a challenge needs its verifier"
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_code_exchanges_once_for_tokens_that_read_the_api() {
    let stack = stack().await;
    let browser = browser();
    let (verifier, challenge) = pkce();
    let url = authorize_url(&stack, &code_flow(&challenge));
    sign_in(&stack, &browser, &url, DEFAULT_PASSWORD, "accept").await;
    // A fresh code (the session is there: no page).
    let response = browser.get(&url).send().await.unwrap();
    let code = get(&query_params(&location(&response)), "code")
        .unwrap()
        .to_string();
    let (status, tokens) = exchange(&stack, &code, Some(&verifier)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert!(tokens["id_token"].is_string());
    assert_eq!(api_get(&stack, "/calendar", access).await.0, StatusCode::OK);
    let (status, body) = exchange(&stack, &code, Some(&verifier)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "reused code"
    );
    stack.stop().await;
}

/// A confidential client may skip PKCE; then a verifier at the token endpoint is refused.
#[tokio::test]
async fn a_confidential_client_may_skip_pkce_but_then_a_verifier_is_refused() {
    let stack = stack_with_web_app().await;
    let web = stack.tenant.client_by_name(WEB_APP).unwrap();
    let (web_id, web_secret) = (web.id.clone(), web.secret.clone());
    let browser = browser();
    // Sign in once through the SPA so a session exists: the web app goes straight to consent.
    sign_in(
        &stack,
        &browser,
        &authorize_url(&stack, &[]),
        DEFAULT_PASSWORD,
        "accept",
    )
    .await;
    let code_url =
        web_app_authorize_url(&stack, &[("response_type", "code"), ("prompt", "consent")]);
    let consent = browser.get(&code_url).send().await.unwrap();
    let html = consent_page(&stack, &browser, &location(&consent)).await;
    let (state, csrf) = (hidden(&html, "state"), hidden(&html, "csrf"));
    let done = post_consent(&stack, &browser, &state, &csrf, "accept").await;
    let code = get(&query_params(&location(&done)), "code")
        .unwrap()
        .to_string();
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", stack.tenant_url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &web_id),
            ("code", &code),
            ("redirect_uri", WEB_APP_CALLBACK),
            (
                "code_verifier",
                "a-verifier-for-a-code-that-had-no-challenge-at-all-000",
            ),
            ("client_secret", &web_secret),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    stack.stop().await;
}
