//! The local stack end to end over real HTTP: dev tenant, API Gateway stand-in, handlers, site.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use common::{repo, stack};

use std::path::PathBuf;

use organizer_local::tenant::state::StateDir;
use organizer_local::{RunningStack, StackOptions, StoreChoice, start};
use organizer_shared::testing::{TestIssuer, other_key};
use reqwest::StatusCode;
use serde_json::Value;

fn temp_state() -> PathBuf {
    common::temp_dir("organizer-test")
}

async fn stack_with(state_dir: PathBuf, tenant_port: u16) -> RunningStack {
    common::start_stack(&repo().join("tenant.yaml"), state_dir, tenant_port).await
}

fn machine(stack: &RunningStack) -> (String, String) {
    let c = stack.tenant.client_by_name("Organizer Machine").unwrap();
    (c.id.clone(), c.secret.clone())
}

async fn token_request(
    stack: &RunningStack,
    form: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
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

async fn machine_token(stack: &RunningStack, scope: Option<&str>) -> String {
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

async fn api_get(stack: &RunningStack, path: &str, token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", stack.api_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_client_credentials_token_reads_both_apis() {
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
    use base64::Engine;
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
    assert_eq!(claims["scope"], "read:contacts read:calendar");
    stack.stop().await;
}

#[tokio::test]
async fn a_narrower_scope_is_enforced_by_the_other_api() {
    let stack = stack().await;
    let token = machine_token(&stack, Some("read:contacts")).await;
    assert_eq!(api_get(&stack, "/contacts", &token).await.0, StatusCode::OK);
    let (status, body) = api_get(&stack, "/calendar", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "insufficient_scope");
    stack.stop().await;
}

#[tokio::test]
async fn the_api_refuses_tokens_signed_by_another_key() {
    let stack = stack().await;
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
}

#[tokio::test]
async fn keys_survive_restarts_and_rotation_keeps_old_tokens_valid() {
    let state = temp_state();
    let port = common::free_port();
    let first = stack_with(state.clone(), port).await;
    let kid = first.tenant.keys.active().kid().to_string();
    let old_token = machine_token(&first, None).await;
    let (id, _) = machine(&first);
    first.stop().await;

    let second = stack_with(state.clone(), port).await;
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

    let (new_kid, retired) = StateDir::open(&state).unwrap().rotate_keys(2).unwrap();
    assert!(retired.is_empty());
    let third = stack_with(state.clone(), port).await;
    assert_eq!(third.tenant.keys.active().kid(), new_kid);
    let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", third.tenant_url))
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
        api_get(&third, "/contacts", &old_token).await.0,
        StatusCode::OK,
        "old key still published"
    );
    third.stop().await;

    // A second rotation retires the first key: its tokens stop working.
    let (_, retired) = StateDir::open(&state).unwrap().rotate_keys(2).unwrap();
    assert_eq!(retired, [kid.as_str()]);
    let fourth = stack_with(state, port).await;
    assert_eq!(
        api_get(&fourth, "/contacts", &old_token).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api_get(&fourth, "/contacts", &machine_token(&fourth, None).await)
            .await
            .0,
        StatusCode::OK
    );
    fourth.stop().await;
}

#[tokio::test]
async fn discovery_site_and_unknown_routes() {
    let stack = stack().await;
    let discovery: Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        stack.tenant_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(discovery["issuer"], format!("{}/", stack.tenant_url));
    assert_eq!(
        discovery["jwks_uri"],
        format!("{}/.well-known/jwks.json", stack.tenant_url)
    );
    for page in ["/", "/callback.html"] {
        let response = reqwest::get(format!("{}{page}", stack.site_url))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    }
    assert_eq!(
        reqwest::get(format!("{}/nothing.html", stack.site_url))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let response = reqwest::get(format!("{}/elsewhere", stack.api_url))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Preflight from the site's origin is answered by the API as API Gateway would.
    let preflight = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/contacts", stack.api_url),
        )
        .header("origin", &stack.site_url)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        stack.site_url.as_str()
    );
    stack.stop().await;
}

#[tokio::test]
async fn dynamodb_mode_creates_seeds_and_serves() {
    let endpoint = std::env::var("ORGANIZER_TEST_DYNAMODB").ok().filter(|v| !v.is_empty()).unwrap_or_else(|| {
        panic!(
            "DynamoDB Local is not running for this test: run `make test` (README), which installs and starts it \
             and sets ORGANIZER_TEST_DYNAMODB"
        )
    });
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let stack = start(StackOptions {
        tenant_port: 0,
        api_port: 0,
        site_port: 0,
        extra_site_ports: vec![],
        session_check_seconds: organizer_local::site::DEFAULT_SESSION_CHECK_SECONDS,
        tenant_file: repo().join("tenant.yaml"),
        state_dir: temp_state(),
        site_dir: repo().join("site"),
        store: StoreChoice::Dynamo {
            endpoint: Some(endpoint),
            contacts_table: format!("contacts-{suffix}"),
            calendar_table: format!("calendar-{suffix}"),
        },
    })
    .await
    .expect("the stack starts on DynamoDB Local");
    let token = machine_token(&stack, None).await;
    let (status, body) = api_get(&stack, "/contacts?limit=100", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 20);
    let (status, body) = api_get(&stack, "/calendar?limit=3", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 3);
    assert!(body["next"].is_string());
    stack.stop().await;
}

#[tokio::test]
async fn hostile_requests_to_the_api_get_400_not_a_reset() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stack = stack().await;
    let token = machine_token(&stack, None).await;
    let port = stack.api_url.rsplit(':').next().unwrap().to_string();
    let raw = |request: String| {
        let port = port.clone();
        async move {
            let mut socket = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
                .await
                .unwrap();
            socket.write_all(request.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            socket.read_to_end(&mut answer).await.unwrap();
            String::from_utf8_lossy(&answer).to_string()
        }
    };
    for (name, value) in [
        ("Host", "a b"),
        ("X-Forwarded-Proto", "a b"),
        ("Host", "[::1"),
    ] {
        let answer = raw(format!(
            "GET /contacts HTTP/1.1\r\nHost: localhost\r\n{name}: {value}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        ))
        .await;
        // Host is replaced by API Gateway's own, so the request simply succeeds.
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.1 400"),
            "{name}: {answer:.80}"
        );
    }
    let answer =
        raw("GET /contacts?x=\"<> HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".into())
            .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:.80}");
    // Still serving.
    assert_eq!(api_get(&stack, "/contacts", &token).await.0, StatusCode::OK);
    // A literal '+' offset in the calendar window is read as the offset it means.
    let (status, body) = api_get(&stack, "/calendar?from=2026-01-01T00:00:00+01:00", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    stack.stop().await;
}

#[test]
fn a_public_client_cannot_be_given_client_credentials() {
    let yaml = std::fs::read_to_string(repo().join("tenant.yaml"))
        .unwrap()
        .replace(
            "      - implicit\n      - authorization_code\n",
            "      - implicit\n      - authorization_code\n      - client_credentials\n",
        );
    let path = std::env::temp_dir().join(format!("tenant-{}.yaml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, yaml).unwrap();
    let error = organizer_local::tenant::config::TenantFile::load(&path)
        .unwrap_err()
        .to_string();
    assert!(error.contains("public"), "{error}");
    std::fs::remove_file(path).unwrap();
}

/// Each site serves the config of the SPA client that lists its origin: two ports, two
/// applications of one tenant; a port no client lists gets a 404 that says so.
#[tokio::test]
async fn each_site_serves_the_config_of_its_own_client() {
    let (first, second) = (common::free_port(), common::free_port());
    let dir = temp_state();
    std::fs::create_dir_all(&dir).unwrap();
    let tenant_file = dir.join("tenant.yaml");
    let yaml = std::fs::read_to_string(repo().join("tenant.yaml"))
        .unwrap()
        .replace(
            "http://localhost:3000",
            &format!("http://localhost:{first}"),
        )
        .replace(
            "http://localhost:3002",
            &format!("http://localhost:{second}"),
        );
    std::fs::write(&tenant_file, yaml).unwrap();
    let stack = start(StackOptions {
        tenant_port: 0,
        api_port: 0,
        site_port: first,
        extra_site_ports: vec![second, 0],
        session_check_seconds: 30,
        tenant_file,
        state_dir: dir.join("state"),
        site_dir: repo().join("site"),
        store: StoreChoice::Memory,
    })
    .await
    .unwrap();
    assert_eq!(stack.site_urls.len(), 3);
    let mut ids = Vec::new();
    for (url, name) in stack.site_urls[..2]
        .iter()
        .zip(["Organizer SPA", "Organizer SPA (second app)"])
    {
        let response = reqwest::get(format!("{url}/config.json")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(
            csp.contains(&format!("frame-src {}", stack.tenant_url)),
            "{csp}"
        );
        let config: Value = response.json().await.unwrap();
        let client = stack.tenant.client_by_name(name).unwrap();
        assert_eq!(config["clientID"], client.id.as_str());
        assert_eq!(config["clientName"], name);
        assert_eq!(config["domain"], stack.tenant_url.as_str());
        assert_eq!(config["audience"], "organize");
        assert_eq!(
            config["scope"],
            "openid profile email read:contacts read:calendar"
        );
        assert_eq!(config["redirectUri"], format!("{url}/callback.html"));
        assert_eq!(config["apiBaseUrl"], stack.api_url.as_str());
        assert_eq!(config["sessionCheckSeconds"], 30);
        assert_eq!(
            config["overrides"]["__token_issuer"],
            format!("{}/", stack.tenant_url)
        );
        assert!(
            !config.to_string().contains(&client.secret) || client.secret.is_empty(),
            "no secret in config.json"
        );
        ids.push(client.id.clone());
    }
    assert_ne!(ids[0], ids[1]);
    let unlisted = reqwest::get(format!("{}/config.json", stack.site_urls[2]))
        .await
        .unwrap();
    assert_eq!(unlisted.status(), StatusCode::NOT_FOUND);
    let body: Value = unlisted.json().await.unwrap();
    assert_eq!(body["error"], "not_configured");
    // The app and auth0-js (from npm, installed by scripts/site-deps.sh) are served.
    let app = reqwest::get(format!("{}/app.js", stack.site_url))
        .await
        .unwrap();
    assert_eq!(app.status(), StatusCode::OK);
    let vendor = reqwest::get(format!("{}/vendor/auth0.min.js", stack.site_url))
        .await
        .unwrap();
    assert_eq!(
        vendor.status(),
        StatusCode::OK,
        "auth0-js is served; if missing run scripts/site-deps.sh"
    );
    // Nothing of the npm folder is reachable; hostile paths are 404s, never 500s.
    let long_name = format!("/{}", "a".repeat(300));
    let long_path = "/a".repeat(2000);
    for path in [
        "/node_modules/auth0-js/package.json",
        "/package.json",
        "/tests/harness.mjs",
        "/..%2f..%2fCargo.toml",
        "/vendor/../package.json",
        long_name.as_str(),
        long_path.as_str(),
    ] {
        let r = reqwest::get(format!("{}{path}", stack.site_url))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    stack.stop().await;
}
