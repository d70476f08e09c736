//! The API through the local stack's API Gateway stand-in, and the machine-to-machine
//! client's tokens (client credentials) for it.

use organizer_local::RunningStack;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::oauth::MACHINE;

/// The machine-to-machine client's id and secret.
pub fn machine(stack: &RunningStack) -> (String, String) {
    let c = stack.tenant.client_by_name(MACHINE).unwrap();
    (c.id.clone(), c.secret.clone())
}

/// A form posted to the tenant's token endpoint: status, headers and JSON body.
pub async fn token_request(
    stack: &RunningStack,
    form: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", stack.tenant_url))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

/// A client-credentials token of the machine client for the API (all its granted scopes, or
/// `scope`), checking the answer is a Bearer token that is not cached.
pub async fn machine_token(stack: &RunningStack, scope: Option<&str>) -> String {
    let (id, secret) = machine(stack);
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("audience", "organize"),
        ("client_id", &id),
        ("client_secret", &secret),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let (status, headers, body) = token_request(stack, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().unwrap().to_string()
}

/// A GET of the API with a bearer token; the body as JSON (or null).
pub async fn api_get(stack: &RunningStack, path: &str, token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", stack.api_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}
