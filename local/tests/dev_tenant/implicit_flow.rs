//! The implicit flow as the SPA runs it, over real HTTP: /authorize, the login and consent
//! pages, the tokens in the redirect's fragment, and both APIs with that one access token.

use organizer_local::tenant::users::{DEFAULT_EMAIL, DEFAULT_PASSWORD};
use reqwest::StatusCode;

use crate::common::api::api_get;
use crate::common::browser::{authorize_url, browser, sign_in, spa};
use crate::common::oauth::{CALLBACK, claims, fragment, get};
use crate::common::stack;

#[tokio::test]
async fn signing_in_gives_an_access_token_for_both_apis_and_an_id_token_for_the_spa() {
    let stack = stack().await;
    let back = sign_in(
        &stack,
        &browser(),
        &authorize_url(&stack, &[]),
        DEFAULT_PASSWORD,
        "accept",
    )
    .await;
    assert!(back.starts_with(&format!("{CALLBACK}#")), "{back}");
    let params = fragment(&back);
    assert_eq!(get(&params, "state"), Some("st-123"));
    assert_eq!(get(&params, "token_type"), Some("Bearer"));
    let access = get(&params, "access_token").unwrap().to_string();
    let id_token = claims(get(&params, "id_token").unwrap());
    let access_claims = claims(&access);
    assert_eq!(
        access_claims["aud"],
        serde_json::json!(["organize", format!("{}/userinfo", stack.tenant_url)])
    );
    assert_eq!(
        access_claims["scope"],
        "openid profile email read:contacts read:calendar"
    );
    assert!(access_claims["sub"].as_str().unwrap().starts_with("auth0|"));
    assert_eq!(id_token["aud"], spa(&stack));
    assert_eq!(id_token["nonce"], "n-456");
    assert_eq!(id_token["email"], DEFAULT_EMAIL);
    assert_eq!(
        id_token["at_hash"],
        organizer_local::tenant::issue::at_hash(&access)
    );
    assert!(id_token["sid"].is_string());

    for path in ["/contacts", "/calendar"] {
        let (status, body) = api_get(&stack, path, &access).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!body["items"].as_array().unwrap().is_empty(), "{path}");
    }
    stack.stop().await;
}
