//! `GET /authorize` checks its parameters in two phases, as Auth0 does (in process, no
//! sockets). Until the client and its exact `redirect_uri` are known good, an error is a page
//! and nothing is sent anywhere (no open redirector); after that, errors go to the client's
//! `redirect_uri`, with its `state`.

use axum::http::StatusCode;
use organizer_local::tenant::authorize::validate::MAX_STATE_OR_NONCE;

use crate::common::in_process::{Answer, TenantApp};
use crate::common::oauth::{
    CALLBACK, SPA, WEB_APP, authorize_query, fragment, get, pkce, query_params,
};
use crate::common::{WEB_APP_CALLBACK, edited_tenant_file, with_web_app};

/// An error shown as a page: its status, and no redirect.
fn assert_error_page(answer: &Answer, case: &str) {
    assert_eq!(
        answer.status,
        StatusCode::BAD_REQUEST,
        "{case}: {}",
        answer.text()
    );
    assert!(answer.location().is_none(), "{case}");
}

#[tokio::test]
async fn a_missing_or_unknown_client_is_an_error_page() {
    let app = TenantApp::new();
    let unknown = app
        .get(&format!(
            "/authorize?client_id=nope&redirect_uri={CALLBACK}&response_type=token"
        ))
        .await;
    assert_error_page(&unknown, "unknown client");
    assert_error_page(&app.authorize(&[("client_id", "")]).await, "no client_id");
}

#[tokio::test]
async fn the_redirect_uri_must_match_a_callback_exactly_and_is_never_redirected_to() {
    let app = TenantApp::new();
    for uri in [
        "http://localhost:3001/callback.html",
        "http://localhost:3000/callback.html/",
        "http://LOCALHOST:3000/callback.html",
        "http://localhost:3000/Callback.html",
        "http://localhost:3000/callback.html/extra",
        "http://localhost:3000/callback.html?x=1",
        "http://user@localhost:3000/callback.html",
        "https://localhost:3000/callback.html",
        "http://evil.example/callback.html",
    ] {
        assert_error_page(&app.authorize(&[("redirect_uri", uri)]).await, uri);
    }
    assert_error_page(
        &app.authorize(&[("redirect_uri", "")]).await,
        "no redirect_uri",
    );
}

#[tokio::test]
async fn a_repeated_parameter_is_an_error_page() {
    let app = TenantApp::new();
    let query = authorize_query(&app.client_id(SPA), &[]);
    for repeated in ["state=again", "redirect_uri=http%3A%2F%2Flocalhost%3A3000"] {
        let answer = app.get(&format!("/authorize?{query}&{repeated}")).await;
        assert_error_page(&answer, repeated);
    }
}

#[tokio::test]
async fn errors_about_what_is_asked_go_to_the_client_with_its_state() {
    let app = TenantApp::new();
    for (extra, error) in [
        (vec![("nonce", "")], "invalid_request"),
        (vec![("audience", "other-api")], "access_denied"),
        (
            vec![("response_type", "code token")],
            "unsupported_response_type",
        ),
        (vec![("response_mode", "query")], "invalid_request"),
        (vec![("prompt", "select_account")], "invalid_request"),
    ] {
        let answer = app.authorize(&extra).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{extra:?}");
        let params = fragment(answer.location().unwrap());
        assert_eq!(get(&params, "error"), Some(error), "{extra:?}");
        assert_eq!(get(&params, "state"), Some("st-123"), "{extra:?}");
    }
}

/// Downgrades: a public client without PKCE, or with the plain method, is refused.
#[tokio::test]
async fn a_public_client_must_use_pkce_with_s256() {
    let app = TenantApp::new();
    let (_, challenge) = pkce();
    for extra in [
        vec![],
        vec![
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "plain"),
        ],
    ] {
        let mut all = vec![("response_type", "code"), ("nonce", "")];
        all.extend(extra);
        let answer = app.authorize(&all).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{all:?}");
        let params = query_params(answer.location().unwrap());
        assert_eq!(get(&params, "error"), Some("invalid_request"), "{all:?}");
        assert_eq!(get(&params, "state"), Some("st-123"), "{all:?}");
    }
}

/// `response_mode=web_message` posts the answer to the `redirect_uri`'s origin: only to an
/// Allowed Web Origin of the client.
#[tokio::test]
async fn web_message_answers_only_an_allowed_web_origin() {
    let app = TenantApp::new();
    let answer = app
        .authorize(&[
            ("prompt", "none"),
            ("response_mode", "web_message"),
            ("redirect_uri", CALLBACK),
        ])
        .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "callback.html's origin is the registered web origin"
    );

    // A web app on an origin that is not an Allowed Web Origin: a 400 page, no message.
    let app = TenantApp::from_file(&edited_tenant_file(with_web_app));
    let query = authorize_query(
        &app.client_id(WEB_APP),
        &[
            ("redirect_uri", WEB_APP_CALLBACK),
            ("scope", "openid read:contacts"),
            ("state", "w"),
            ("nonce", ""),
            ("response_type", "token"),
            ("response_mode", "web_message"),
            ("prompt", "none"),
        ],
    );
    let answer = app.get(&format!("/authorize?{query}")).await;
    assert_error_page(&answer, "web_message to a web app");
    assert!(!answer.text().contains("postMessage"));
}

/// A client that no database connection lists in `enabled_clients` cannot sign users in: as
/// Auth0 answers it, `invalid_request` "no connections enabled for the client", sent to the
/// client (its redirect_uri is registered).
#[tokio::test]
async fn a_client_without_an_enabled_connection_cannot_sign_users_in() {
    let file = edited_tenant_file(|yaml| {
        let edited = yaml.replace(
            "      - Organizer SPA\n      - Organizer SPA (second app)\n",
            "      - Organizer SPA (second app)\n",
        );
        assert_ne!(edited, yaml, "tenant.yaml's enabled_clients were edited");
        edited
    });
    let app = TenantApp::from_file(&file);
    let answer = app.authorize(&[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let params = fragment(answer.location().unwrap());
    assert_eq!(get(&params, "error"), Some("invalid_request"));
    assert_eq!(
        get(&params, "error_description"),
        Some("no connections enabled for the client")
    );
    assert_eq!(get(&params, "state"), Some("st-123"));
}

/// `state` and `nonce` are kept with a sign-in in progress until it ends, so each is limited
/// ([`MAX_STATE_OR_NONCE`] characters, not bytes). A longer `state` cannot be sent back to the
/// client: an error page. A longer `nonce` goes back to the client, with its `state`, like any
/// other bad parameter. Neither starts a sign-in.
#[tokio::test]
async fn state_and_nonce_are_limited_in_length() {
    let app = TenantApp::new();
    let at_limit = "é".repeat(MAX_STATE_OR_NONCE);
    let over = "s".repeat(MAX_STATE_OR_NONCE + 1);
    let answer = app
        .authorize(&[("state", &at_limit), ("nonce", &at_limit)])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    assert!(answer.location().unwrap().starts_with("/login?"));
    assert_eq!(app.tenant.runtime.transactions.len(), 1);

    let long_state = app.authorize(&[("state", &over)]).await;
    assert_error_page(&long_state, "a long state");
    assert!(
        long_state.text().contains("invalid_request"),
        "{}",
        long_state.text()
    );
    assert!(long_state.text().contains("state"), "{}", long_state.text());

    let long_nonce = app.authorize(&[("nonce", &over)]).await;
    assert_eq!(long_nonce.status, StatusCode::SEE_OTHER, "a long nonce");
    let params = fragment(long_nonce.location().unwrap());
    assert_eq!(get(&params, "error"), Some("invalid_request"));
    assert_eq!(get(&params, "state"), Some("st-123"));
    assert_eq!(
        app.tenant.runtime.transactions.len(),
        1,
        "no sign-in started"
    );
}
