//! The tenant's public metadata (in process): the JWKS and the discovery document are
//! readable from any page, since auth0-js fetches them from the SPA's origin.

use crate::common::in_process::TenantApp;

#[tokio::test]
async fn the_keys_and_the_discovery_document_are_readable_from_any_origin() {
    let app = TenantApp::new();
    for path in [
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    ] {
        let answer = app.get(path).await;
        assert_eq!(answer.header("access-control-allow-origin"), "*", "{path}");
    }
}
