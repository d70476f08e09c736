//! The tenant's signing keys: kept in the state folder across restarts, rotated without
//! breaking tokens until their key is retired, and the only keys the API trusts.

use organizer_local::tenant::state::StateDir;
use organizer_shared::testing::{TestIssuer, other_key};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::api::{api_get, machine, machine_token};
use crate::common::{free_port, stack_in, stack_with_state, temp_dir};

#[tokio::test]
async fn keys_and_client_ids_survive_a_restart() {
    let state = temp_dir("organizer-test");
    let port = free_port();
    let first = stack_with_state(state.clone(), port).await;
    let kid = first.tenant.keys.active().kid().to_string();
    let old_token = machine_token(&first, None).await;
    let (id, _) = machine(&first);
    first.stop().await;

    let second = stack_with_state(state, port).await;
    assert_eq!(
        second.tenant.keys.active().kid(),
        kid,
        "the key is kept in the state folder"
    );
    assert_eq!(machine(&second).0, id, "client ids are kept too");
    assert_eq!(
        api_get(&second, "/contacts", &old_token).await.0,
        StatusCode::OK
    );
    second.stop().await;
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_until_their_key_is_retired() {
    let state = temp_dir("organizer-test");
    let port = free_port();
    let first = stack_with_state(state.clone(), port).await;
    let kid = first.tenant.keys.active().kid().to_string();
    let old_token = machine_token(&first, None).await;
    first.stop().await;

    let (new_kid, retired) = StateDir::open(&state).unwrap().rotate_keys(2).unwrap();
    assert!(retired.is_empty());
    let second = stack_with_state(state.clone(), port).await;
    assert_eq!(second.tenant.keys.active().kid(), new_kid);
    let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", second.tenant_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [new_kid.as_str(), kid.as_str()]);
    assert_eq!(
        api_get(&second, "/contacts", &old_token).await.0,
        StatusCode::OK,
        "old key still published"
    );
    second.stop().await;

    // A second rotation retires the first key: its tokens stop working.
    let (_, retired) = StateDir::open(&state).unwrap().rotate_keys(2).unwrap();
    assert_eq!(retired, [kid.as_str()]);
    let third = stack_with_state(state, port).await;
    // The Lambda authorizer (the template's default mode) denies it: API Gateway's 403.
    assert_eq!(
        api_get(&third, "/contacts", &old_token).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api_get(&third, "/contacts", &machine_token(&third, None).await)
            .await
            .0,
        StatusCode::OK
    );
    third.stop().await;
}

#[tokio::test]
async fn the_api_refuses_tokens_signed_by_another_key() {
    // Without a gateway authorizer, the function's own answer; the authorizer's is checked below.
    let stack = stack_in(&["AuthorizerMode=none"]).await;
    // Same issuer, audience and claims, but signed by a key the tenant never published.
    let mut forger = TestIssuer {
        key: other_key(),
        config: organizer_shared::AuthConfig::for_issuer(
            format!("{}/", stack.tenant_url),
            "organize",
        ),
    };
    forger.config.jwks_uri = String::new();
    let forged = forger.token("auth0|victim", "read:contacts read:calendar");
    let (status, body) = api_get(&stack, "/contacts", &forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_token");
    // And one signed with the tenant's kid but another key.
    let (status, _) = api_get(&stack, "/calendar", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    stack.stop().await;
    // The Lambda authorizer denies both before any function runs.
    let stack = stack_in(&["AuthorizerMode=lambda"]).await;
    for token in [forged.as_str(), "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"] {
        let (status, body) = api_get(&stack, "/contacts", token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["message"], "Forbidden");
    }
    stack.stop().await;
}
