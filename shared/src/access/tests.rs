//! The table of the module doc, case by case, with tokens of a test issuer and real ES256
//! proofs; the URL rules; the challenges.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use serde_json::json;

use super::*;
use crate::dpop::MemoryReplayStore;
use crate::testing::{DpopKey, TestIssuer};

const URL: &str = "https://api.example.test/contacts";

fn check(mode: DpopMode, recording: Recording) -> (AccessCheck, TestIssuer) {
    let issuer = TestIssuer::new();
    let access = AccessCheck::new(
        issuer.verifier(),
        AccessConfig {
            mode,
            public_url: None,
        },
        Arc::new(MemoryReplayStore::default()),
        recording,
    );
    (access, issuer)
}

fn bound_token(issuer: &TestIssuer, key: &DpopKey) -> String {
    let mut claims = issuer.claims("auth0|alice", "read:contacts");
    claims["cnf"] = json!({"jkt": key.thumbprint()});
    issuer.sign(&claims)
}

fn ath(token: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token))
}

fn proof(key: &DpopKey, method: &str, url: &str, token: &str) -> String {
    let ath = ath(token);
    key.proof_with(method, url, |c| c["ath"] = json!(ath))
}

fn headers(authorization: &str, proof: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(authorization).unwrap(),
    );
    if let Some(p) = proof {
        h.insert(DPOP_HEADER, HeaderValue::from_str(p).unwrap());
    }
    h
}

async fn run(access: &AccessCheck, h: &HeaderMap, method: &str) -> Result<(), AuthError> {
    let url = || URL.to_string();
    access
        .check(&RequestFacts {
            headers: h,
            method,
            url: &url,
        })
        .await
        .map(|_| ())
}

#[tokio::test]
async fn bearer_tokens_by_mode() {
    for (mode, accepted) in [
        (DpopMode::Off, true),
        (DpopMode::Allowed, true),
        (DpopMode::Required, false),
    ] {
        let (access, issuer) = check(mode, Recording::Record);
        let token = issuer.token("auth0|alice", "read:contacts");
        let result = run(&access, &headers(&format!("Bearer {token}"), None), "GET").await;
        assert_eq!(result.is_ok(), accepted, "{mode:?}: {result:?}");
        if !accepted {
            assert!(matches!(result, Err(AuthError::DpopRequired(_))));
        }
    }
}

#[tokio::test]
async fn a_bound_token_as_bearer_is_refused_in_every_mode() {
    for mode in [DpopMode::Off, DpopMode::Allowed, DpopMode::Required] {
        let (access, issuer) = check(mode, Recording::Record);
        let key = DpopKey::es256();
        let token = bound_token(&issuer, &key);
        let p = proof(&key, "GET", URL, &token);
        let result = run(
            &access,
            &headers(&format!("Bearer {token}"), Some(&p)),
            "GET",
        )
        .await;
        assert!(
            matches!(result, Err(AuthError::DpopRequired(_))),
            "{mode:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_bound_token_with_its_proof_once() {
    for mode in [DpopMode::Allowed, DpopMode::Required] {
        let (access, issuer) = check(mode, Recording::Record);
        let key = DpopKey::es256();
        let token = bound_token(&issuer, &key);
        let p = proof(&key, "GET", URL, &token);
        let h = headers(&format!("DPoP {token}"), Some(&p));
        assert_eq!(run(&access, &h, "GET").await, Ok(()), "{mode:?}");
        let again = run(&access, &h, "GET").await;
        assert!(
            matches!(&again, Err(AuthError::InvalidDpopProof(d)) if d.contains("used before")),
            "{again:?}"
        );
    }
}

#[tokio::test]
async fn check_only_does_not_record_the_jti() {
    let (authorizer, issuer) = check(DpopMode::Required, Recording::CheckOnly);
    let key = DpopKey::es256();
    let token = bound_token(&issuer, &key);
    let h = headers(
        &format!("DPoP {token}"),
        Some(&proof(&key, "GET", URL, &token)),
    );
    assert_eq!(run(&authorizer, &h, "GET").await, Ok(()));
    assert_eq!(run(&authorizer, &h, "GET").await, Ok(()), "not recorded");
}

#[tokio::test]
async fn proofs_that_do_not_fit_the_request_are_refused() {
    let (access, issuer) = check(DpopMode::Allowed, Recording::Record);
    let key = DpopKey::es256();
    let token = bound_token(&issuer, &key);
    let other = DpopKey::es256();
    for (case, h, method, expected_code) in [
        (
            "no proof",
            headers(&format!("DPoP {token}"), None),
            "GET",
            "invalid_dpop_proof",
        ),
        (
            "another method",
            headers(
                &format!("DPoP {token}"),
                Some(&proof(&key, "DELETE", URL, &token)),
            ),
            "GET",
            "invalid_dpop_proof",
        ),
        (
            "another URL",
            headers(
                &format!("DPoP {token}"),
                Some(&proof(
                    &key,
                    "GET",
                    "https://api.example.test/calendar",
                    &token,
                )),
            ),
            "GET",
            "invalid_dpop_proof",
        ),
        (
            "another token's hash",
            headers(
                &format!("DPoP {token}"),
                Some(&proof(&key, "GET", URL, "x.y.z")),
            ),
            "GET",
            "invalid_dpop_proof",
        ),
        (
            "another key",
            headers(
                &format!("DPoP {token}"),
                Some(&proof(&other, "GET", URL, &token)),
            ),
            "GET",
            "invalid_token",
        ),
    ] {
        let error = run(&access, &h, method).await.unwrap_err();
        assert_eq!(error.code(), Some(expected_code), "{case}: {error:?}");
        assert_eq!(error.status(), http::StatusCode::UNAUTHORIZED, "{case}");
    }
    // A token that is not bound, sent as DPoP.
    let plain = issuer.token("auth0|alice", "read:contacts");
    let h = headers(
        &format!("DPoP {plain}"),
        Some(&proof(&key, "GET", URL, &plain)),
    );
    assert!(matches!(
        run(&access, &h, "GET").await,
        Err(AuthError::DpopRequired(_))
    ));
}

#[tokio::test]
async fn with_dpop_off_the_dpop_scheme_is_not_understood() {
    let (access, issuer) = check(DpopMode::Off, Recording::Record);
    let key = DpopKey::es256();
    let token = bound_token(&issuer, &key);
    let h = headers(
        &format!("DPoP {token}"),
        Some(&proof(&key, "GET", URL, &token)),
    );
    assert!(matches!(
        run(&access, &h, "GET").await,
        Err(AuthError::InvalidRequest(_))
    ));
}

#[test]
fn challenges_name_the_schemes_the_api_takes() {
    let (required, _) = check(DpopMode::Required, Recording::Record);
    let (allowed, _) = check(DpopMode::Allowed, Recording::Record);
    let (off, _) = check(DpopMode::Off, Recording::Record);
    let proof_error = AuthError::InvalidDpopProof("the DPoP proof is too old (iat)".into());
    assert_eq!(
        proof_error.challenge_with(&required.challenges("organize")),
        "DPoP realm=\"organize\", algs=\"ES256\", error=\"invalid_dpop_proof\", error_description=\"the DPoP proof is too old (iat)\""
    );
    assert_eq!(
        proof_error.challenge_with(&allowed.challenges("organize")),
        "Bearer realm=\"organize\", DPoP realm=\"organize\", algs=\"ES256\", error=\"invalid_dpop_proof\", error_description=\"the DPoP proof is too old (iat)\""
    );
    let token_error = AuthError::invalid_token("the token has expired");
    assert_eq!(
        token_error.challenge_with(&allowed.challenges("organize")),
        "Bearer realm=\"organize\", error=\"invalid_token\", error_description=\"the token has expired\", DPoP realm=\"organize\", algs=\"ES256\""
    );
    assert_eq!(
        AuthError::MissingCredentials.challenge_with(&off.challenges("organize")),
        "Bearer realm=\"organize\""
    );
    assert_eq!(
        AuthError::MissingCredentials.challenge_with(&required.challenges("organize")),
        "DPoP realm=\"organize\", algs=\"ES256\""
    );
}

#[test]
fn the_url_a_client_called() {
    // $default stage: the raw path as it is.
    assert_eq!(
        request_url(
            None,
            Some("https"),
            Some("abc.execute-api.eu-west-1.amazonaws.com"),
            "/contacts/1",
            Some("$default")
        ),
        "https://abc.execute-api.eu-west-1.amazonaws.com/contacts/1"
    );
    // A named stage: the client called it with the stage in the path.
    assert_eq!(
        request_url(
            None,
            None,
            Some("h.example"),
            "/prod/contacts",
            Some("prod")
        ),
        "https://h.example/prod/contacts"
    );
    // PUBLIC_API_URL: its base, then the path without the stage.
    assert_eq!(
        request_url(
            Some("https://d1.cloudfront.net/api"),
            Some("https"),
            Some("h"),
            "/prod/contacts",
            Some("prod")
        ),
        "https://d1.cloudfront.net/api/contacts"
    );
    assert_eq!(
        request_url(
            Some("https://api.example.com"),
            None,
            None,
            "/production/x",
            Some("prod")
        ),
        "https://api.example.com/production/x"
    );
}

#[test]
fn dpop_mode_and_public_url_from_the_environment() {
    assert_eq!(
        AccessConfig::from_env(&[("X", "")]).unwrap().mode,
        DpopMode::Off
    );
    for (value, mode) in [
        ("off", DpopMode::Off),
        ("allowed", DpopMode::Allowed),
        ("Required", DpopMode::Required),
        ("", DpopMode::Off),
    ] {
        assert_eq!(
            AccessConfig::from_env(&[("DPOP_MODE", value)])
                .unwrap()
                .mode,
            mode
        );
    }
    let error = AccessConfig::from_env(&[("DPOP_MODE", "on")]).unwrap_err();
    assert_eq!(error.variable, "DPOP_MODE");
    assert!(error.to_string().contains("DPOP_MODE=allowed"), "{error}");
    assert_eq!(
        AccessConfig::from_env(&[("PUBLIC_API_URL", "https://api.example.com/")])
            .unwrap()
            .public_url
            .as_deref(),
        Some("https://api.example.com")
    );
    for bad in [
        "http://api.example.com",
        "api.example.com",
        "https://a.example/?x=1",
    ] {
        assert_eq!(
            AccessConfig::from_env(&[("PUBLIC_API_URL", bad)])
                .unwrap_err()
                .variable,
            "PUBLIC_API_URL",
            "{bad}"
        );
    }
}

#[test]
fn with_dpop_on_a_function_needs_its_replay_table() {
    use crate::service::replay_table;
    assert_eq!(replay_table(DpopMode::Off, &[("X", "")]), Ok(None));
    let error = replay_table(DpopMode::Required, &[("X", "")]).unwrap_err();
    assert_eq!(error.variable, "DPOP_REPLAY_TABLE");
    assert!(
        error
            .to_string()
            .contains("DPOP_REPLAY_TABLE=organizer-dpop-replay"),
        "{error}"
    );
    assert_eq!(
        replay_table(DpopMode::Allowed, &[("DPOP_REPLAY_TABLE", "t")]),
        Ok(Some("t".into()))
    );
}
