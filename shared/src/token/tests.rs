//! One test per rule of the pipeline, on really signed tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::error::AuthError;
use crate::testing::{TestIssuer, other_key};

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn verify(token: &str) -> Result<crate::AccessClaims, AuthError> {
    TestIssuer::new().verifier().verify(token).await
}

async fn rejected(token: &str) -> String {
    match verify(token).await {
        Err(AuthError::InvalidToken(why)) => why,
        other => panic!("expected invalid_token, got {other:?}"),
    }
}

fn with(claims: Value, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut claims = claims;
    if let Value::Object(map) = &mut claims {
        edit(map);
    }
    claims
}

#[tokio::test]
async fn a_valid_token_gives_its_claims() {
    let issuer = TestIssuer::new();
    let claims = verify(&issuer.token("auth0|alice", "openid read:contacts read:calendar"))
        .await
        .unwrap();
    assert_eq!(claims.sub, "auth0|alice");
    assert_eq!(claims.scopes, ["openid", "read:contacts", "read:calendar"]);
    assert_eq!(claims.client_id.as_deref(), Some("spa-client-id"));
    // aud as a plain string works too.
    let token = issuer.sign(&with(issuer.claims("auth0|a", "x"), |c| {
        c.insert("aud".into(), json!("organize"));
    }));
    assert!(verify(&token).await.is_ok());
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_pem_is_refused() {
    let issuer = TestIssuer::new();
    let pem = issuer.key.public_key_pem();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(issuer.key.kid().to_string());
    let token = jsonwebtoken::encode(
        &header,
        &issuer.claims("auth0|a", "read:contacts"),
        &EncodingKey::from_secret(pem.as_bytes()),
    )
    .unwrap();
    assert!(rejected(&token).await.contains("only RS256"));
}

#[tokio::test]
async fn alg_none_in_any_casing_is_refused() {
    let issuer = TestIssuer::new();
    let payload = b64(&issuer.claims("auth0|a", "read:contacts"));
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(&json!({"alg": alg, "typ": "JWT", "kid": issuer.key.kid()}));
        for signature in ["", "c2lnbmF0dXJl"] {
            let token = format!("{header}.{payload}.{signature}");
            let why = rejected(&token).await;
            assert!(
                why.contains("empty part") || why.contains("only RS256"),
                "{alg} {signature:?}: {why}"
            );
        }
    }
}

#[tokio::test]
async fn keys_in_token_headers_are_ignored() {
    let issuer = TestIssuer::new();
    let attacker = other_key();
    let claims = issuer.claims("auth0|victim", "read:contacts read:calendar");
    // The attacker signs with their own key and offers it in `jwk`, or points `jku`/`x5u` at it,
    // under their own kid or under ours.
    for kid in [attacker.kid(), issuer.key.kid()] {
        for (name, value) in [
            ("jwk", attacker.public_jwk()),
            ("jku", json!("https://attacker.example/jwks.json")),
            ("x5u", json!("https://attacker.example/cert.pem")),
        ] {
            let header = b64(&json!({"alg": "RS256", "typ": "JWT", "kid": kid, name: value}));
            let body = b64(&claims);
            let signing_input = format!("{header}.{body}");
            // Sign the exact input with the attacker's key through jsonwebtoken's raw signer.
            let signature = jsonwebtoken::crypto::sign(
                signing_input.as_bytes(),
                &EncodingKey::from_rsa_pem(attacker.to_pkcs8_pem().as_bytes()).unwrap(),
                Algorithm::RS256,
            )
            .unwrap();
            let why = rejected(&format!("{signing_input}.{signature}")).await;
            assert!(
                why.contains("unknown key") || why.contains("invalid signature"),
                "{name}: {why}"
            );
        }
    }
}

#[tokio::test]
async fn unknown_kid_and_crit_and_missing_kid_are_refused() {
    let issuer = TestIssuer::new();
    let claims = issuer.claims("auth0|a", "read:contacts");
    let body = b64(&claims);
    let sign = |header: Value| {
        let input = format!("{}.{body}", b64(&header));
        let key = EncodingKey::from_rsa_pem(issuer.key.to_pkcs8_pem().as_bytes()).unwrap();
        format!(
            "{input}.{}",
            jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::RS256).unwrap()
        )
    };
    // The verifier's cache has no fetch URL that answers, so an unknown kid stays unknown.
    assert!(
        rejected(&sign(json!({"alg": "RS256", "kid": "not-a-known-kid"})))
            .await
            .contains("unknown key")
    );
    assert!(
        rejected(&sign(json!({"alg": "RS256"})))
            .await
            .contains("kid")
    );
    assert!(
        rejected(&sign(json!({"alg": "RS256", "kid": ""})))
            .await
            .contains("kid")
    );
    let crit = json!({"alg": "RS256", "kid": issuer.key.kid(), "crit": ["exp"], "exp": 1});
    assert!(rejected(&sign(crit)).await.contains("critical"));
    // The same, signed properly with our kid, passes: the refusals above are for the header.
    assert!(
        verify(&sign(json!({"alg": "RS256", "kid": issuer.key.kid()})))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn time_claims() {
    let issuer = TestIssuer::new();
    let now = jsonwebtoken::get_current_timestamp();
    let expired = issuer.sign(&with(issuer.claims("auth0|a", ""), |c| {
        c.insert("exp".into(), json!(now - 120));
    }));
    assert!(rejected(&expired).await.contains("expired"));
    // Inside the 30 s leeway: still accepted.
    let just_expired = issuer.sign(&with(issuer.claims("auth0|a", ""), |c| {
        c.insert("exp".into(), json!(now - 5));
    }));
    assert!(verify(&just_expired).await.is_ok());
    let not_yet = issuer.sign(&with(issuer.claims("auth0|a", ""), |c| {
        c.insert("nbf".into(), json!(now + 600));
    }));
    assert!(rejected(&not_yet).await.contains("nbf"));
    let future_iat = issuer.sign(&with(issuer.claims("auth0|a", ""), |c| {
        c.insert("iat".into(), json!(now + 600));
    }));
    assert!(rejected(&future_iat).await.contains("future"));
    let exp_string = issuer.sign(&with(issuer.claims("auth0|a", ""), |c| {
        c.insert("exp".into(), json!((now + 600).to_string()));
    }));
    assert!(rejected(&exp_string).await.contains("malformed"));
    let no_exp = issuer.sign(&with(issuer.claims("auth0|a", ""), |c| {
        c.remove("exp");
    }));
    assert!(verify(&no_exp).await.is_err());
    let iat_string = issuer.sign(&with(issuer.claims("auth0|a", ""), |c| {
        c.insert("iat".into(), json!("yesterday"));
    }));
    assert!(verify(&iat_string).await.is_err());
}

#[tokio::test]
async fn issuer_must_match_exactly() {
    let issuer = TestIssuer::new();
    for iss in [
        json!("https://tenant.example.test"),
        json!("https://tenant.example.test//"),
        json!("https://evil.example.test/"),
        json!("HTTPS://TENANT.EXAMPLE.TEST/"),
        json!(["https://tenant.example.test/"]),
        json!(null),
    ] {
        let token = issuer.sign(&with(issuer.claims("auth0|a", ""), |c| {
            c.insert("iss".into(), iss.clone());
        }));
        assert!(verify(&token).await.is_err(), "iss {iss}");
    }
    let no_iss = issuer.sign(&with(issuer.claims("auth0|a", ""), |c| {
        c.remove("iss");
    }));
    assert!(verify(&no_iss).await.is_err());
}

#[tokio::test]
async fn audience_must_include_the_api() {
    let issuer = TestIssuer::new();
    for aud in [
        json!(42),
        json!("another-api"),
        json!(["another-api"]),
        json!([]),
        json!({"aud": "organize"}),
        json!("Organize"),
    ] {
        let token = issuer.sign(&with(issuer.claims("auth0|a", ""), |c| {
            c.insert("aud".into(), aud.clone());
        }));
        assert!(verify(&token).await.is_err(), "aud {aud}");
    }
    let no_aud = issuer.sign(&with(issuer.claims("auth0|a", ""), |c| {
        c.remove("aud");
    }));
    assert!(verify(&no_aud).await.is_err());
}

#[tokio::test]
async fn an_id_token_is_not_an_access_token() {
    let issuer = TestIssuer::new();
    let now = jsonwebtoken::get_current_timestamp();
    let id_token = issuer.sign(&json!({
        "iss": issuer.config.issuer, "sub": "auth0|a", "aud": "spa-client-id", "iat": now, "exp": now + 3600,
        "nonce": "n", "email": "a@example.com", "name": "A", "sid": "s",
    }));
    assert!(rejected(&id_token).await.contains("aud"));
}

#[tokio::test]
async fn malformed_tokens_are_401_never_a_crash() {
    let issuer = TestIssuer::new();
    let good = issuer.token("auth0|a", "read:contacts");
    let (head, rest) = good.split_once('.').unwrap();
    let (body, sig) = rest.split_once('.').unwrap();
    let mut flipped_sig = sig.to_string().into_bytes();
    flipped_sig[10] = if flipped_sig[10] == b'A' { b'B' } else { b'A' };
    let other_body = b64(&issuer.claims("auth0|mallory", "read:contacts read:calendar"));
    let cases = vec![
        "a".repeat(9000),
        format!("{good}=="),
        format!("{good}.x.y"),
        format!("{head}.{body}"),
        format!("{head}..{sig}"),
        format!("{head}.{body}.{}", String::from_utf8(flipped_sig).unwrap()),
        format!("{head}.{other_body}.{sig}"),
        format!("{head}.{body}.{sig}+"),
        format!("{head}.!!!.{sig}"),
        format!("{}.{body}.{sig}", b64(&json!("just a string"))),
        format!(
            "{}.{body}.{sig}",
            b64(&json!({"alg": "RS256", "kid": issuer.key.kid(), "alg2": 1, "jwk": 5}))
        ),
        format!("{head}.{}.{sig}", URL_SAFE_NO_PAD.encode("not json")),
        "e30.e30.e30".to_string(),
        ".".to_string(),
        "..".to_string(),
        "a.b.c.d.e".to_string(),
        "Ã©.x.y".to_string(),
    ];
    for token in cases {
        match verify(&token).await {
            Err(AuthError::InvalidToken(_)) => {}
            other => panic!("{token:.60}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn claims_of_the_wrong_type_are_refused() {
    let issuer = TestIssuer::new();
    for (name, value) in [
        ("sub", json!(42)),
        ("sub", json!("")),
        ("scope", json!(["read:contacts"])),
        ("permissions", json!("read:contacts")),
    ] {
        let token = issuer.sign(&with(issuer.claims("auth0|a", "read:contacts"), |c| {
            c.insert(name.into(), value.clone());
        }));
        assert!(verify(&token).await.is_err(), "{name}: {value}");
    }
}

// The verified-token cache, through the pipeline.

fn verifier_with_capacity(issuer: &TestIssuer, capacity: usize) -> crate::TokenVerifier {
    let cache = crate::JwksCache::new(&issuer.config).unwrap();
    cache
        .load(
            crate::signing::jwks_document([issuer.key])
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    crate::TokenVerifier::with_cache_capacity(&issuer.config, cache, capacity)
}

#[tokio::test]
async fn a_cache_hit_returns_the_same_claims_and_scopes_are_still_checked() {
    let issuer = TestIssuer::new();
    let verifier = issuer.verifier();
    let token = issuer.token("auth0|alice", "openid read:contacts");
    let first = verifier.verify_shared(&token).await.unwrap();
    assert_eq!(verifier.cached_tokens(), 1);
    let second = verifier.verify_shared(&token).await.unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &second),
        "served from the cache"
    );
    assert_eq!(verifier.verify(&token).await.unwrap(), *first);
    assert_eq!(verifier.cached_tokens(), 1);
    // The scope check runs on the claims, per route, hit or not.
    assert!(crate::ScopeCheck(&["read:contacts"]).check(&second).is_ok());
    assert!(
        crate::ScopeCheck(&["read:calendar"])
            .check(&second)
            .is_err()
    );
}

#[tokio::test]
async fn a_cached_token_is_refused_once_expired() {
    let mut issuer = TestIssuer::new();
    issuer.config.leeway = std::time::Duration::ZERO;
    let verifier = verifier_with_capacity(&issuer, 10);
    let now = jsonwebtoken::get_current_timestamp();
    let token = issuer.sign(&with(issuer.claims("auth0|a", "read:contacts"), |c| {
        c.insert("exp".into(), json!(now + 1));
    }));
    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(verifier.cached_tokens(), 1);
    while jsonwebtoken::get_current_timestamp() <= now + 1 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Past exp (and the leeway of 0): cached or not, the token is refused.
    match verifier.verify(&token).await {
        Err(AuthError::InvalidToken(why)) => assert!(why.contains("expired"), "{why}"),
        other => panic!("expected expired, got {other:?}"),
    }
    assert_eq!(verifier.cached_tokens(), 0);
}

#[tokio::test]
async fn a_token_that_failed_is_not_cached() {
    let issuer = TestIssuer::new();
    let verifier = issuer.verifier();
    let good = issuer.token("auth0|a", "read:contacts");
    let (input, sig) = good.rsplit_once('.').unwrap();
    let mut bytes = sig.to_string().into_bytes();
    bytes[5] = if bytes[5] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{input}.{}", String::from_utf8(bytes).unwrap());
    let wrong_audience = issuer.sign(&with(issuer.claims("auth0|a", "read:contacts"), |c| {
        c.insert("aud".into(), json!("another-api"));
    }));
    for _ in 0..3 {
        for token in [&tampered, &wrong_audience] {
            assert!(matches!(
                verifier.verify(token).await,
                Err(AuthError::InvalidToken(_))
            ));
        }
    }
    assert_eq!(verifier.cached_tokens(), 0);
    // The genuine token is still verified and cached afterwards.
    assert!(verifier.verify(&good).await.is_ok());
    assert_eq!(verifier.cached_tokens(), 1);
}

#[tokio::test]
async fn a_cached_token_stops_when_its_key_is_retired() {
    let issuer = TestIssuer::new();
    let verifier = issuer.verifier();
    let token = issuer.token("auth0|a", "read:contacts");
    assert!(verifier.verify(&token).await.is_ok());
    // The JWKS now publishes another key only: the cached token is verified again, and fails.
    verifier
        .keys()
        .load(
            crate::signing::jwks_document([other_key()])
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    match verifier.verify(&token).await {
        Err(AuthError::InvalidToken(why)) => assert!(why.contains("unknown key"), "{why}"),
        other => panic!("expected an unknown key, got {other:?}"),
    }
}

#[tokio::test]
async fn the_cache_is_bounded() {
    let issuer = TestIssuer::new();
    let verifier = verifier_with_capacity(&issuer, 3);
    let tokens: Vec<String> = (0..5)
        .map(|i| issuer.token(&format!("auth0|u{i}"), "read:contacts"))
        .collect();
    for token in &tokens {
        assert!(verifier.verify(token).await.is_ok());
    }
    assert_eq!(verifier.cached_tokens(), 3);
    // Evicted or not, every token still verifies.
    for token in &tokens {
        assert_eq!(
            verifier.verify(token).await.unwrap().scopes,
            ["read:contacts"]
        );
    }
    assert_eq!(verifier.cached_tokens(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cache_is_shared_safely_by_concurrent_requests() {
    let issuer = TestIssuer::new();
    let verifier = std::sync::Arc::new(verifier_with_capacity(&issuer, 8));
    let valid: Vec<String> = (0..12)
        .map(|i| issuer.token(&format!("auth0|u{i}"), "read:contacts"))
        .collect();
    let invalid = issuer.sign(&with(issuer.claims("auth0|x", "read:contacts"), |c| {
        c.insert("iss".into(), json!("https://evil.example.test/"));
    }));
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let verifier = verifier.clone();
            let valid = valid.clone();
            let invalid = invalid.clone();
            tokio::spawn(async move {
                for round in 0..100 {
                    let i = (t * 7 + round) % valid.len();
                    let claims = verifier.verify(&valid[i]).await.unwrap();
                    assert_eq!(claims.sub, format!("auth0|u{i}"));
                    if round % 10 == 0 {
                        assert!(verifier.verify(&invalid).await.is_err());
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert!(verifier.cached_tokens() <= 8);
}
