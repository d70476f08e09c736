//! What the ID token carries: a public session id (`sid`) that is not the session cookie, and
//! profile claims only when the profile scopes are asked for.

use serde_json::Value;

use crate::common::browser::{
    authorize_url, browser, location, post_consent, sign_in_until_consent,
};
use crate::common::oauth::{claims, fragment, get};
use crate::common::stack;

/// Signs in with `scope=openid read:contacts`; returns the ID token's claims and the value of
/// the session cookie.
async fn id_token_for_openid_alone() -> (Value, String) {
    let stack = stack().await;
    let browser = browser();
    let url = authorize_url(&stack, &[("scope", "openid read:contacts")]);
    let at = sign_in_until_consent(&stack, &browser, &url).await;
    let response = post_consent(&stack, &browser, &at.state, &at.csrf, "accept").await;
    let id_token = claims(get(&fragment(&location(&response)), "id_token").unwrap());
    stack.stop().await;
    (id_token, at.session)
}

#[tokio::test]
async fn its_sid_is_not_the_session_cookie() {
    let (id_token, session) = id_token_for_openid_alone().await;
    assert!(id_token["sid"].is_string());
    assert_ne!(id_token["sid"].as_str().unwrap(), session);
}

#[tokio::test]
async fn scope_openid_alone_carries_no_profile_claims() {
    let (id_token, _) = id_token_for_openid_alone().await;
    assert!(
        id_token.get("email").is_none() && id_token.get("name").is_none(),
        "{id_token}"
    );
}
