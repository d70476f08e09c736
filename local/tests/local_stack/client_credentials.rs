//! A machine-to-machine client's token (client credentials) at the API: Auth0's claims, both
//! APIs with the full grant, and a narrower scope enforced by the API it leaves out.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::api::{api_get, machine, machine_token};
use crate::common::{stack, stack_in};

#[tokio::test]
async fn a_token_reads_both_apis_and_carries_auth0s_claims() {
    let stack = stack().await;
    let token = machine_token(&stack, None).await;
    let (status, contacts) = api_get(&stack, "/contacts?limit=5", &token).await;
    assert_eq!(status, StatusCode::OK, "{contacts}");
    assert_eq!(contacts["items"].as_array().unwrap().len(), 5);
    let (status, events) = api_get(&stack, "/calendar", &token).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    assert!(!events["items"].as_array().unwrap().is_empty());
    let id = contacts["items"][0]["id"].as_str().unwrap();
    let (status, one) = api_get(&stack, &format!("/contacts/{id}"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["id"], id);
    // The token's claims are Auth0's for client credentials.
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let (id, _) = machine(&stack);
    assert_eq!(claims["iss"], format!("{}/", stack.tenant_url));
    assert_eq!(claims["sub"], format!("{id}@clients"));
    assert_eq!(claims["aud"], "organize");
    assert_eq!(claims["azp"], id.as_str());
    assert_eq!(claims["gty"], "client-credentials");
    // The machine client is granted every scope of the API.
    assert_eq!(
        claims["scope"],
        crate::common::scopes::joined("", &crate::common::scopes::all())
    );
    stack.stop().await;
}

/// In every authorizer mode: with the Lambda or JWT authorizer, API Gateway's bare 403; with
/// none, the function's own RFC 6750 answer.
#[tokio::test]
async fn a_narrower_scope_is_enforced_by_the_other_api() {
    for mode in ["lambda", "jwt", "none"] {
        let stack = stack_in(&[&format!("AuthorizerMode={mode}")]).await;
        let token = machine_token(&stack, Some("read:contacts")).await;
        assert_eq!(
            api_get(&stack, "/contacts", &token).await.0,
            StatusCode::OK,
            "{mode}"
        );
        let (status, body) = api_get(&stack, "/calendar", &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{mode}");
        if mode == "none" {
            assert_eq!(body["error"], "insufficient_scope");
        } else {
            assert_eq!(body, serde_json::json!({"message": "Forbidden"}), "{mode}");
        }
        stack.stop().await;
    }
}
