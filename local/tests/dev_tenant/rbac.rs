//! RBAC as Auth0 issues it for an API with `enforce_policies: true` and
//! `token_dialect: access_token_authz`: a user's access token carries in `scope` only the
//! requested scopes their roles allow, and in `permissions` everything their roles allow; the
//! consent page asks only for what the token would carry and was not consented to before.

use organizer_local::RunningStack;
use organizer_local::tenant::users::{
    DEFAULT_EMAIL, DEFAULT_PASSWORD, READER_EMAIL, READER_PASSWORD,
};
use reqwest::StatusCode;

use crate::common::browser::{
    authorize_url, browser, consent_page, location, open_login, post_consent, post_login_as,
};
use crate::common::oauth::{claims, fragment, get, hidden};
use crate::common::{scopes, stack};

/// Everything the app asks for, and its read part.
fn all() -> String {
    scopes::joined("openid profile email", &scopes::all())
}
fn read() -> String {
    scopes::joined("openid profile email", &scopes::reads())
}

/// Signs `email` in for `scope`, accepting the consent page if one comes; returns the
/// permissions the consent page listed (empty when none was shown) and the access token.
async fn sign_in_as(
    stack: &RunningStack,
    browser: &reqwest::Client,
    email: &str,
    password: &str,
    scope: &str,
) -> (Vec<String>, serde_json::Value) {
    let url = authorize_url(stack, &[("scope", scope)]);
    let response = browser.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mut next = location(&response);
    if next.starts_with("/login") {
        let (state, csrf, _) = open_login(stack, browser, &url).await;
        let response = post_login_as(stack, browser, &state, &csrf, email, password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        next = location(&response);
    }
    let mut listed = Vec::new();
    if next.starts_with("/consent") {
        let html = consent_page(stack, browser, &next).await;
        // Each item is "<li data-scope=\"scope\">description</li>": people read the
        // description, the scope is an attribute.
        listed = html
            .split("<li data-scope=\"")
            .skip(1)
            .filter_map(|li| li.split('"').next())
            .map(str::to_string)
            .collect();
        let state = next.split("state=").nth(1).unwrap().to_string();
        let response = post_consent(stack, browser, &state, &hidden(&html, "csrf"), "accept").await;
        next = location(&response);
    }
    let params = fragment(&next);
    let token = get(&params, "access_token").unwrap_or_else(|| panic!("no token: {next}"));
    (listed, claims(token))
}

fn words(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_string).collect()
}

#[tokio::test]
async fn a_reader_gets_only_what_readers_may_do_and_is_asked_only_for_that() {
    let stack = stack().await;
    let (listed, token) =
        sign_in_as(&stack, &browser(), READER_EMAIL, READER_PASSWORD, &all()).await;
    assert_eq!(token["scope"], read());
    assert_eq!(token["permissions"], serde_json::json!(scopes::reads()));
    assert_eq!(
        listed,
        words(&scopes::joined("profile email", &scopes::reads()))
    );
    stack.stop().await;
}

#[tokio::test]
async fn an_editor_gets_every_scope_asked_for_and_all_permissions() {
    let stack = stack().await;
    let (_, token) = sign_in_as(&stack, &browser(), DEFAULT_EMAIL, DEFAULT_PASSWORD, &all()).await;
    assert_eq!(token["scope"], all());
    assert_eq!(token["permissions"], serde_json::json!(scopes::all()));
}

/// An Editor who let the app read only gets a token that reads only — `permissions` still
/// lists everything an Editor may do, which is why the API grants by `scope` alone — and when
/// the app asks for writing later, the consent page lists only the new scopes.
#[tokio::test]
async fn consent_to_read_only_gives_a_read_only_token_and_a_later_ask_lists_only_writes() {
    let stack = stack().await;
    let browser = browser();
    let (listed, token) =
        sign_in_as(&stack, &browser, DEFAULT_EMAIL, DEFAULT_PASSWORD, &read()).await;
    assert_eq!(
        listed,
        words(&scopes::joined("profile email", &scopes::reads()))
    );
    assert_eq!(token["scope"], read());
    assert_eq!(token["permissions"], serde_json::json!(scopes::all()));
    let (listed, token) =
        sign_in_as(&stack, &browser, DEFAULT_EMAIL, DEFAULT_PASSWORD, &all()).await;
    assert_eq!(listed, scopes::writes());
    assert_eq!(token["scope"], all());
    stack.stop().await;
}
