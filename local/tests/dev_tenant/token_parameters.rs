//! `POST /oauth/token` checks its body and its client before any grant (in process, no
//! sockets): a form or JSON, each parameter once, a known grant type, one way of client
//! authentication, and the audience and scopes the client was granted. Every error is an
//! OAuth error: JSON with `error` and `error_description`, never cached.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::common::in_process::{Answer, TenantApp};
use crate::common::oauth::{BASIC_MACHINE, MACHINE, SPA};
use crate::common::{edited_tenant_file, with_basic_machine};

const TOKEN: &str = "/oauth/token";

/// An OAuth error of the token endpoint (RFC 6749 §5.2).
fn assert_oauth_error(answer: &Answer, status: StatusCode, error: &str, case: &str) {
    let body = answer.json();
    assert_eq!(
        (answer.status, body["error"].as_str()),
        (status, Some(error)),
        "{case}: {body}"
    );
    assert!(body["error_description"].is_string(), "{case}: {body}");
    assert_eq!(answer.header("cache-control"), "no-store", "{case}");
}

/// `Authorization: Basic` for a client id and secret.
fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

#[tokio::test]
async fn the_body_is_a_form_or_json() {
    let app = TenantApp::new();
    let (id, secret) = app.credentials(MACHINE);
    let body = json!({"grant_type": "client_credentials", "audience": "organize", "client_id": id, "client_secret": secret});
    let answer = app
        .post(TOKEN, "application/json", &[], body.to_string())
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let plain = app
        .post(TOKEN, "text/plain", &[], "grant_type=client_credentials")
        .await;
    assert_oauth_error(
        &plain,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "text/plain",
    );
}

#[tokio::test]
async fn a_repeated_parameter_is_refused_in_a_form_and_in_json() {
    let app = TenantApp::new();
    let (id, secret) = app.credentials(MACHINE);
    let form = app
        .post_form(
            TOKEN,
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
        )
        .await;
    assert_oauth_error(&form, StatusCode::BAD_REQUEST, "invalid_request", "form");
    // serde_json would keep the last of two members; the tenant sees both.
    let json = app
        .post(
            TOKEN,
            "application/json",
            &[],
            format!(
                r#"{{"grant_type":"client_credentials","audience":"organize","client_id":"{id}","client_secret":"{secret}","audience":"other"}}"#
            ),
        )
        .await;
    assert_oauth_error(&json, StatusCode::BAD_REQUEST, "invalid_request", "JSON");
}

#[tokio::test]
async fn the_grant_type_must_be_given_and_supported() {
    let app = TenantApp::new();
    let (id, secret) = app.credentials(MACHINE);
    let password = app
        .post_form(
            TOKEN,
            &[
                ("grant_type", "password"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
        )
        .await;
    assert_oauth_error(
        &password,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
        "password",
    );
    let missing = app
        .post_form(
            TOKEN,
            &[
                ("audience", "organize"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
        )
        .await;
    assert_oauth_error(
        &missing,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "no grant_type",
    );
}

/// A client authenticates the one way `tenant.yaml` registers (`token_endpoint_auth_method`):
/// the other way is `invalid_client`, and both at once is `invalid_request`.
#[tokio::test]
async fn a_client_authenticates_only_the_way_it_is_registered() {
    let app = TenantApp::from_file(&edited_tenant_file(with_basic_machine));
    let (post_id, post_secret) = app.credentials(MACHINE);
    let (basic_id, basic_secret) = app.credentials(BASIC_MACHINE);
    let grant = [
        ("grant_type", "client_credentials"),
        ("audience", "organize"),
    ];

    let with_basic = app
        .post_form_with(
            TOKEN,
            &[("authorization", &basic(&basic_id, &basic_secret))],
            &grant,
        )
        .await;
    assert_eq!(with_basic.status, StatusCode::OK, "{}", with_basic.text());
    let posted = app
        .post_form(
            TOKEN,
            &[
                ("grant_type", "client_credentials"),
                ("audience", "organize"),
                ("client_id", &post_id),
                ("client_secret", &post_secret),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.text());

    // The other method, with the right secret, is refused.
    let post_client_with_basic = app
        .post_form_with(
            TOKEN,
            &[("authorization", &basic(&post_id, &post_secret))],
            &grant,
        )
        .await;
    assert_oauth_error(
        &post_client_with_basic,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client_secret_post client with Basic",
    );
    assert!(
        post_client_with_basic.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("client_secret_post"),
        "{}",
        post_client_with_basic.text()
    );
    let basic_client_posting = app
        .post_form(
            TOKEN,
            &[
                ("grant_type", "client_credentials"),
                ("audience", "organize"),
                ("client_id", &basic_id),
                ("client_secret", &basic_secret),
            ],
        )
        .await;
    assert_oauth_error(
        &basic_client_posting,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client_secret_basic client in the body",
    );

    let both = app
        .post_form_with(
            TOKEN,
            &[("authorization", &basic(&basic_id, &basic_secret))],
            &[
                ("grant_type", "client_credentials"),
                ("audience", "organize"),
                ("client_secret", &basic_secret),
            ],
        )
        .await;
    assert_oauth_error(&both, StatusCode::BAD_REQUEST, "invalid_request", "both");
}

/// RFC 6749 §5.2: a client that failed HTTP Basic authentication gets a `WWW-Authenticate`
/// challenge; one that sent its secret in the body does not.
#[tokio::test]
async fn a_failed_basic_authentication_is_challenged() {
    let app = TenantApp::from_file(&edited_tenant_file(with_basic_machine));
    let (basic_id, _) = app.credentials(BASIC_MACHINE);
    let (id, _) = app.credentials(MACHINE);
    let wrong_basic = app
        .post_form_with(
            TOKEN,
            &[("authorization", &basic(&basic_id, "wrong"))],
            &[
                ("grant_type", "client_credentials"),
                ("audience", "organize"),
            ],
        )
        .await;
    assert_oauth_error(
        &wrong_basic,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Basic",
    );
    assert_eq!(
        wrong_basic.header("www-authenticate"),
        "Basic realm=\"oauth\""
    );
    let wrong_post = app
        .post_form(
            TOKEN,
            &[
                ("grant_type", "client_credentials"),
                ("audience", "organize"),
                ("client_id", &id),
                ("client_secret", "wrong"),
            ],
        )
        .await;
    assert_oauth_error(
        &wrong_post,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "post",
    );
    assert!(!wrong_post.headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn a_client_that_fails_to_authenticate_is_an_invalid_client() {
    let app = TenantApp::new();
    let (id, _) = app.credentials(MACHINE);
    let spa = app.client_id(SPA);
    for (case, client_id, secret) in [
        ("wrong secret", id.as_str(), Some("nope")),
        ("unknown client", "unknown", Some("x")),
        ("confidential client without its secret", id.as_str(), None),
        ("public client with a secret", spa.as_str(), Some("guess")),
    ] {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("audience", "organize"),
            ("client_id", client_id),
        ];
        form.extend(secret.map(|s| ("client_secret", s)));
        let answer = app.post_form(TOKEN, &form).await;
        assert_oauth_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client", case);
    }
}

#[tokio::test]
async fn a_client_may_use_only_its_own_grant_types() {
    let app = TenantApp::new();
    let spa = app.client_id(SPA);
    let answer = app
        .post_form(
            TOKEN,
            &[
                ("grant_type", "client_credentials"),
                ("audience", "organize"),
                ("client_id", &spa),
            ],
        )
        .await;
    assert_oauth_error(
        &answer,
        StatusCode::FORBIDDEN,
        "unauthorized_client",
        "SPA with client credentials",
    );
    // The machine client, authenticated, with the grants it is not registered for.
    let (id, secret) = app.credentials(MACHINE);
    for (grant_type, name, value) in [
        ("authorization_code", "code", "any"),
        ("refresh_token", "refresh_token", "any"),
    ] {
        let answer = app
            .post_form(
                TOKEN,
                &[
                    ("grant_type", grant_type),
                    (name, value),
                    ("client_id", &id),
                    ("client_secret", &secret),
                ],
            )
            .await;
        assert_oauth_error(
            &answer,
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            grant_type,
        );
    }
}

#[tokio::test]
async fn client_credentials_need_a_granted_audience_and_scopes() {
    let app = TenantApp::new();
    let (id, secret) = app.credentials(MACHINE);
    for (case, extra) in [
        ("no audience", vec![]),
        ("another API", vec![("audience", "other-api")]),
        (
            "a scope not granted",
            vec![
                ("audience", "organize"),
                ("scope", "read:contacts admin:contacts"),
            ],
        ),
    ] {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ];
        form.extend(extra);
        let answer = app.post_form(TOKEN, &form).await;
        assert_oauth_error(&answer, StatusCode::FORBIDDEN, "access_denied", case);
    }
}

#[tokio::test]
async fn an_empty_scope_parameter_counts_as_omitted() {
    let app = TenantApp::new();
    let (id, secret) = app.credentials(MACHINE);
    let answer = app
        .post_form(
            TOKEN,
            &[
                ("grant_type", "client_credentials"),
                ("audience", "organize"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", ""),
            ],
        )
        .await;
    let body = answer.json();
    assert_eq!(answer.status, StatusCode::OK, "{body}");
    // The machine client is granted every scope of the API.
    assert_eq!(
        body["scope"],
        crate::common::scopes::joined("", &crate::common::scopes::all())
    );
}
