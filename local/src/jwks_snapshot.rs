//! `organizer jwks-snapshot`: the tenant's signing keys as the functions' `JWKS_SNAPSHOT`.
//!
//! Fetches the issuer's JWKS once, with the same rules as the functions (https, or http for a
//! tenant on this machine; no redirects; at most 64 KiB), and prints it minimized: the keys
//! the functions would use, each with `kty`, `kid`, `use`, `alg`, `n` and `e` only, on one
//! line. Auth0's own JWKS adds `x5c` certificates and would not fit in Lambda's 4 KB of
//! environment variables; two RSA-2048 keys minimized take about 900 bytes.

use organizer_shared::config::DEFAULT_AUDIENCE;
use organizer_shared::{AuthConfig, JwksCache};

/// The minimized JWKS of `issuer` (or of `jwks_uri`, when the keys are published elsewhere).
pub async fn snapshot(issuer: &str, jwks_uri: Option<&str>) -> Result<String, String> {
    let config = AuthConfig::from_env(&[
        ("ISSUER", issuer),
        ("JWKS_URI", jwks_uri.unwrap_or("")),
        ("AUDIENCE", DEFAULT_AUDIENCE),
    ])
    .map_err(|e| e.to_string())?;
    let cache = JwksCache::new(&config).map_err(|e| e.to_string())?;
    cache
        .fetch_snapshot()
        .await
        .map_err(|e| format!("{}: {e}", config.jwks_uri))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly

    use super::*;
    use axum::Router;
    use axum::routing::get;
    use organizer_shared::signing::jwks_document;
    use organizer_shared::testing::{other_key, shared_key};

    #[tokio::test]
    async fn prints_the_usable_keys_minimized_and_the_functions_accept_them() {
        let mut jwks = jwks_document([shared_key(), other_key()]);
        jwks["keys"][0]["x5c"] = serde_json::json!(["MIIDDTCCAfWgAwIBAgIJ..."]);
        let body = jwks.to_string();
        let app = Router::new().route("/.well-known/jwks.json", get(move || async move { body }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        // 127.0.0.1, not localhost: the listener is IPv4 only, and localhost may first resolve
        // to ::1, where another process can hold the same port number.
        let issuer = format!(
            "http://127.0.0.1:{}/",
            listener.local_addr().unwrap().port()
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let printed = snapshot(&issuer, None).await.unwrap();
        assert!(
            !printed.contains("x5c") && !printed.contains(' '),
            "{printed}"
        );
        let config =
            AuthConfig::from_env(&[("ISSUER", issuer.as_str()), ("JWKS_SNAPSHOT", &printed)])
                .unwrap();
        let cache = JwksCache::new(&config).unwrap();
        assert!(cache.serving_snapshot());
        let mut kids = vec![
            shared_key().kid().to_string(),
            other_key().kid().to_string(),
        ];
        kids.sort();
        assert_eq!(cache.kids(), kids);
        // Anything but an https URL (or http on this machine) is refused before fetching.
        assert!(
            snapshot("http://tenant.example/", None)
                .await
                .unwrap_err()
                .contains("ISSUER")
        );
    }
}
