//! The JWKS cache against a real HTTP server on port 0 that counts its hits.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use organizer_shared::config::AuthConfig;
use organizer_shared::jwks::{JwksCache, KeyError};
use organizer_shared::signing::{SigningKey, jwks_document};
use organizer_shared::testing::{TestIssuer, other_key, shared_key};
use organizer_shared::{AuthError, TokenVerifier};
use serde_json::json;
use tokio::sync::{Mutex, Notify};

/// What the fake issuer answers, and how often it was asked.
struct Issuer {
    hits: AtomicUsize,
    answer: Mutex<(StatusCode, String)>,
    /// When set, each request waits for `release` before answering.
    hold: Mutex<bool>,
    arrived: Notify,
    release: Notify,
}

async fn jwks(State(issuer): State<Arc<Issuer>>) -> (StatusCode, String) {
    issuer.hits.fetch_add(1, Ordering::SeqCst);
    if *issuer.hold.lock().await {
        issuer.arrived.notify_one();
        issuer.release.notified().await;
    }
    issuer.answer.lock().await.clone()
}

async fn serve(keys: &[&SigningKey]) -> (Arc<Issuer>, AuthConfig) {
    let issuer = Arc::new(Issuer {
        hits: AtomicUsize::new(0),
        answer: Mutex::new((
            StatusCode::OK,
            jwks_document(keys.iter().copied()).to_string(),
        )),
        hold: Mutex::new(false),
        arrived: Notify::new(),
        release: Notify::new(),
    });
    let app = Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .with_state(issuer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut config = AuthConfig::for_issuer(url, "organize");
    config.jwks_cooldown = Duration::ZERO;
    (issuer, config)
}

fn hits(issuer: &Issuer) -> usize {
    issuer.hits.load(Ordering::SeqCst)
}

async fn set_answer(issuer: &Issuer, status: StatusCode, body: String) {
    *issuer.answer.lock().await = (status, body);
}

#[tokio::test]
async fn first_lookup_fetches_once_and_known_keys_never_refetch() {
    let (issuer, config) = serve(&[shared_key()]).await;
    let cache = JwksCache::new(&config).unwrap();
    for _ in 0..20 {
        cache.key(shared_key().kid()).await.unwrap();
    }
    assert_eq!(hits(&issuer), 1);
}

#[tokio::test]
async fn concurrent_misses_cause_one_fetch() {
    let (issuer, config) = serve(&[shared_key()]).await;
    let cache = JwksCache::new(&config).unwrap();
    *issuer.hold.lock().await = true;
    let lookups: Vec<_> = (0..50)
        .map(|i| {
            let cache = cache.clone();
            let kid = if i % 2 == 0 {
                shared_key().kid().to_string()
            } else {
                format!("unknown-{i}")
            };
            tokio::spawn(async move { cache.key(&kid).await.map(|_| ()) })
        })
        .collect();
    issuer.arrived.notified().await;
    *issuer.hold.lock().await = false;
    issuer.release.notify_one();
    let mut found = 0;
    for lookup in lookups {
        if lookup.await.unwrap().is_ok() {
            found += 1;
        }
    }
    assert_eq!(found, 25);
    assert_eq!(hits(&issuer), 1, "fifty concurrent lookups, one fetch");
}

#[tokio::test]
async fn known_keys_do_not_wait_on_a_fetch_in_flight() {
    let (issuer, config) = serve(&[shared_key()]).await;
    let cache = JwksCache::new(&config).unwrap();
    cache.key(shared_key().kid()).await.unwrap();
    *issuer.hold.lock().await = true;
    let miss = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.key("rotated-key").await })
    };
    issuer.arrived.notified().await;
    // The fetch for the unknown kid is held open by the server; a known kid is still served.
    let known = tokio::time::timeout(Duration::from_secs(10), cache.key(shared_key().kid())).await;
    assert!(known.expect("a known kid waited on the fetch").is_ok());
    assert!(!miss.is_finished());
    issuer.release.notify_one();
    assert_eq!(miss.await.unwrap().unwrap_err(), KeyError::UnknownKid);
}

#[tokio::test]
async fn rotation_is_picked_up_on_an_unknown_kid() {
    let (issuer, config) = serve(&[shared_key()]).await;
    let verifier = TokenVerifier::new(&config, JwksCache::new(&config).unwrap());
    let old = TestIssuer {
        key: shared_key(),
        config: config.clone(),
    };
    let new = TestIssuer {
        key: other_key(),
        config: config.clone(),
    };
    assert!(
        verifier
            .verify(&old.token("auth0|a", "read:contacts"))
            .await
            .is_ok()
    );
    assert!(matches!(
        verifier
            .verify(&new.token("auth0|a", "read:contacts"))
            .await,
        Err(AuthError::InvalidToken(_))
    ));
    set_answer(
        &issuer,
        StatusCode::OK,
        jwks_document([shared_key(), other_key()]).to_string(),
    )
    .await;
    assert!(
        verifier
            .verify(&new.token("auth0|a", "read:contacts"))
            .await
            .is_ok()
    );
    assert!(
        verifier
            .verify(&old.token("auth0|a", "read:contacts"))
            .await
            .is_ok()
    );
    assert_eq!(hits(&issuer), 3);
}

#[tokio::test]
async fn unknown_kids_within_the_cooldown_do_not_fetch() {
    let (issuer, mut config) = serve(&[shared_key()]).await;
    config.jwks_cooldown = Duration::from_secs(3600);
    let cache = JwksCache::new(&config).unwrap();
    cache.key(shared_key().kid()).await.unwrap();
    for i in 0..100 {
        assert_eq!(
            cache.key(&format!("made-up-{i}")).await.unwrap_err(),
            KeyError::UnknownKid
        );
    }
    assert_eq!(
        hits(&issuer),
        1,
        "a flood of made-up kids is not a flood of fetches"
    );
}

#[tokio::test]
async fn bad_answers_never_replace_good_keys() {
    let (issuer, config) = serve(&[shared_key()]).await;
    let cache = JwksCache::new(&config).unwrap();
    cache.key(shared_key().kid()).await.unwrap();
    let small = json!({"keys": [{"kty": "RSA", "kid": "small", "n": "AQAB", "e": "AQAB"}]});
    let enc = {
        let mut jwk = other_key().public_jwk();
        jwk["use"] = json!("enc");
        json!({"keys": [jwk]})
    };
    let rs512 = {
        let mut jwk = other_key().public_jwk();
        jwk["alg"] = json!("RS512");
        json!({"keys": [jwk]})
    };
    let ec = json!({"keys": [{"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"}]});
    let answers = [
        (StatusCode::INTERNAL_SERVER_ERROR, "oops".to_string()),
        (StatusCode::OK, "not json".to_string()),
        (StatusCode::OK, json!({"keys": []}).to_string()),
        (StatusCode::OK, json!({"nokeys": 1}).to_string()),
        (StatusCode::OK, small.to_string()),
        (StatusCode::OK, enc.to_string()),
        (StatusCode::OK, rs512.to_string()),
        (StatusCode::OK, ec.to_string()),
        (
            StatusCode::OK,
            format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(100_000)),
        ),
        (StatusCode::FOUND, String::new()),
    ];
    for (status, body) in answers {
        set_answer(&issuer, status, body.clone()).await;
        let before = hits(&issuer);
        assert!(cache.refresh().await.is_err(), "{status} {body:.40}");
        assert_eq!(hits(&issuer), before + 1);
        assert_eq!(cache.kids(), [shared_key().kid()], "{status} {body:.40}");
        assert!(cache.key(shared_key().kid()).await.is_ok());
    }
}

#[tokio::test]
async fn only_rs256_signing_keys_are_kept() {
    let (_issuer, config) = serve(&[]).await;
    let cache = JwksCache::new(&config).unwrap();
    let mut enc = other_key().public_jwk();
    enc["use"] = json!("enc");
    let mut no_use_no_alg = shared_key().public_jwk();
    no_use_no_alg.as_object_mut().unwrap().remove("use");
    no_use_no_alg.as_object_mut().unwrap().remove("alg");
    let doc = json!({"keys": [enc, no_use_no_alg, {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]});
    assert_eq!(cache.load(doc.to_string().as_bytes()).unwrap(), 1);
    assert_eq!(cache.kids(), [shared_key().kid()]);
}

#[tokio::test]
async fn an_unreachable_jwks_is_unavailable_not_a_crash() {
    let mut config = AuthConfig::for_issuer("http://127.0.0.1:9/", "organize");
    config.jwks_cooldown = Duration::ZERO;
    let verifier = TokenVerifier::new(&config, JwksCache::new(&config).unwrap());
    let token = TestIssuer {
        key: shared_key(),
        config: config.clone(),
    }
    .token("auth0|a", "read:contacts");
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        AuthError::KeysUnavailable
    );
}

#[tokio::test]
async fn stale_keys_are_refreshed_in_the_background() {
    let (issuer, mut config) = serve(&[shared_key()]).await;
    config.jwks_max_age = Duration::ZERO;
    let cache = JwksCache::new(&config).unwrap();
    cache.key(shared_key().kid()).await.unwrap();
    // The answer now drops the key: the stale lookup still answers at once, and the background
    // refresh then applies the new set.
    set_answer(
        &issuer,
        StatusCode::OK,
        jwks_document([other_key()]).to_string(),
    )
    .await;
    assert!(cache.key(shared_key().kid()).await.is_ok());
    for _ in 0..200 {
        if cache.kids() == [other_key().kid()] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(cache.kids(), [other_key().kid()]);
    assert!(hits(&issuer) >= 2);
}

// The JWKS snapshot (`JWKS_SNAPSHOT`).

fn snapshot_of(keys: &[&SigningKey]) -> String {
    organizer_shared::jwks::minimize_jwks(
        jwks_document(keys.iter().copied()).to_string().as_bytes(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_snapshot_serves_at_once_then_refreshes_in_the_background() {
    let (issuer, mut config) = serve(&[shared_key()]).await;
    config.jwks_snapshot = Some(snapshot_of(&[shared_key()]));
    let verifier = TokenVerifier::from_config(&config).unwrap();
    assert!(verifier.keys().serving_snapshot());
    // Start-up fetches nothing when a snapshot is there.
    organizer_shared::startup::warm_up(&verifier).await;
    assert_eq!(hits(&issuer), 0);
    // The issuer answers nothing for now: the first request is served from the snapshot anyway.
    *issuer.hold.lock().await = true;
    let token = TestIssuer {
        key: shared_key(),
        config: config.clone(),
    }
    .token("auth0|a", "read:contacts");
    let first = tokio::time::timeout(Duration::from_secs(10), verifier.verify(&token)).await;
    assert!(
        first
            .expect("the first request waited on the network")
            .is_ok()
    );
    // ... and its use started one refresh from the issuer, which replaces the snapshot.
    issuer.arrived.notified().await;
    *issuer.hold.lock().await = false;
    issuer.release.notify_one();
    for _ in 0..200 {
        if !verifier.keys().serving_snapshot() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(!verifier.keys().serving_snapshot());
    assert_eq!(hits(&issuer), 1);
    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(hits(&issuer), 1, "fresh keys are not fetched again");
}

#[tokio::test]
async fn a_snapshot_does_not_outlive_a_rotation_by_more_than_one_refresh() {
    // The snapshot has the old key; the issuer has rotated to the new one only.
    let (issuer, mut config) = serve(&[other_key()]).await;
    config.jwks_snapshot = Some(snapshot_of(&[shared_key()]));
    let cache = JwksCache::new(&config).unwrap();
    assert_eq!(cache.kids(), [shared_key().kid()]);
    // The old key serves its first use, which refreshes the keys from the issuer.
    assert!(cache.key(shared_key().kid()).await.is_ok());
    for _ in 0..200 {
        if cache.kids() == [other_key().kid()] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(cache.kids(), [other_key().kid()]);
    assert!(cache.key(other_key().kid()).await.is_ok());
    assert_eq!(hits(&issuer), 1);
}

#[tokio::test]
async fn an_unknown_kid_fetches_at_once_despite_a_snapshot() {
    let (issuer, mut config) = serve(&[shared_key(), other_key()]).await;
    config.jwks_snapshot = Some(snapshot_of(&[shared_key()]));
    let cache = JwksCache::new(&config).unwrap();
    assert!(cache.key(other_key().kid()).await.is_ok());
    assert_eq!(hits(&issuer), 1);
    assert!(!cache.serving_snapshot());
}

#[test]
fn a_minimized_jwks_keeps_the_usable_keys_and_six_fields() {
    let mut full = jwks_document([shared_key(), other_key()]);
    // What Auth0 adds, and a key we would not use.
    full["keys"][0]["x5c"] = json!(["MIIC...certificate..."]);
    full["keys"][0]["x5t"] = json!("thumbprint");
    let mut enc = other_key().public_jwk();
    enc["use"] = json!("enc");
    enc["kid"] = json!("encryption");
    full["keys"].as_array_mut().unwrap().push(enc);
    let minimized = organizer_shared::jwks::minimize_jwks(full.to_string().as_bytes()).unwrap();
    let value: serde_json::Value = serde_json::from_str(&minimized).unwrap();
    let keys = value["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys {
        let mut fields: Vec<&str> = key
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort();
        assert_eq!(fields, ["alg", "e", "kid", "kty", "n", "use"]);
    }
    assert_eq!(keys[0]["n"], shared_key().public_jwk()["n"]);
    // Two RSA-2048 keys fit Lambda's 4 KB of environment with room to spare.
    assert!(minimized.len() < 1100, "{}", minimized.len());
}
