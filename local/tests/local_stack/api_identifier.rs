//! The logical API's identifier is configuration: renamed in `tenant.yaml`, the whole stack
//! follows — the token endpoint grants the new audience, the API requires it (and names it as
//! its realm), and the site's `config.json` asks for it.

use reqwest::StatusCode;

use crate::common::api::{api_get, machine, token_request};
use organizer_local::{StackOptions, StoreChoice, start};

use crate::common::{edited_tenant_file, free_port, fresh_state, gateway_with, repo};

/// In each authorizer mode: the Lambda authorizer and the JWT authorizer take the audience from
/// the template's `Audience` parameter, which the local stack sets to the tenant's API.
#[tokio::test]
async fn a_renamed_api_keeps_the_whole_stack_working() {
    for mode in ["lambda", "jwt", "none"] {
        renamed_api_in(mode).await;
    }
}

async fn renamed_api_in(mode: &str) {
    let site_port = free_port();
    let file = edited_tenant_file(|yaml| {
        let edited = yaml
            .replace(
                "identifier: organize\n",
                "identifier: https://api.organizer.example/\n",
            )
            .replace(
                "audience: organize\n",
                "audience: https://api.organizer.example/\n",
            )
            .replace(
                "http://localhost:3000",
                &format!("http://localhost:{site_port}"),
            );
        assert_ne!(edited, yaml);
        edited
    });
    let stack = start(StackOptions {
        tenant_port: 0,
        api_port: 0,
        site_port,
        extra_site_ports: vec![],
        session_check_seconds: 30,
        tenant_file: file,
        state_dir: fresh_state(),
        site_dir: repo().join("site"),
        gateway: gateway_with(&[&format!("AuthorizerMode={mode}")]),
        store: StoreChoice::Memory,
    })
    .await
    .unwrap();
    let (id, secret) = machine(&stack);
    let token = |audience: &'static str| {
        let (id, secret) = (id.clone(), secret.clone());
        let stack = &stack;
        async move {
            token_request(
                stack,
                &[
                    ("grant_type", "client_credentials"),
                    ("audience", audience),
                    ("client_id", &id),
                    ("client_secret", &secret),
                ],
            )
            .await
        }
    };
    let (status, _, body) = token("https://api.organizer.example/").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap().to_string();
    for path in ["/contacts", "/calendar"] {
        let (status, body) = api_get(&stack, path, &access).await;
        assert_eq!(status, StatusCode::OK, "{mode} {path}: {body}");
        assert!(!body["items"].as_array().unwrap().is_empty(), "{path}");
    }
    // The old identifier is no API of this tenant any more.
    let (status, _, body) = token("organize").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("access_denied"))
    );
    let response = reqwest::get(format!("{}/contacts", stack.api_url))
        .await
        .unwrap();
    let challenge = response.headers().get("www-authenticate").cloned();
    match mode {
        // The function's challenge names the API.
        "none" => assert_eq!(
            challenge.unwrap(),
            "Bearer realm=\"https://api.organizer.example/\""
        ),
        // API Gateway's JWT authorizer answers a missing token with a bare challenge.
        "jwt" => assert_eq!(challenge.unwrap(), "Bearer"),
        // The Lambda authorizer's missing identity source: no challenge.
        _ => assert!(challenge.is_none(), "{challenge:?}"),
    }
    // The site asks for the renamed API.
    let config: serde_json::Value = reqwest::get(format!("{}/config.json", stack.site_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["audience"], "https://api.organizer.example/");
    stack.stop().await;
}
