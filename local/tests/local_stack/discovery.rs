//! The discovery document names the URL the tenant is actually served at: the issuer (and so
//! every token's `iss`) follows the tenant's port.

use serde_json::Value;

use crate::common::stack;

#[tokio::test]
async fn the_issuer_is_the_url_the_tenant_is_served_at() {
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
    stack.stop().await;
}
