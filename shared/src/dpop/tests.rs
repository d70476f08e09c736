//! One test per rule of the pipeline, on proofs really signed by keys made here.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::*;
use crate::testing::DpopKey;

const TOKEN_URL: &str = "https://tenant.example.test/oauth/token";

fn verifier() -> DpopVerifier {
    DpopVerifier::new(Arc::new(MemoryReplayStore::default()))
}

fn post() -> ProofRequest<'static> {
    ProofRequest::new("POST", TOKEN_URL)
}

async fn refused(proof: &str, request: &ProofRequest<'_>) -> DpopError {
    match verifier().verify(proof, request).await {
        Err(e) => e,
        Ok(v) => panic!("accepted: {v:?}"),
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[tokio::test]
async fn a_valid_es256_proof_gives_the_key_thumbprint() {
    let key = DpopKey::es256();
    let proof = key.proof("POST", TOKEN_URL);
    let verified = verifier().verify(&proof, &post()).await.unwrap();
    assert_eq!(verified.jkt, key.thumbprint());
    assert_eq!(verified.jkt.len(), 43);
    assert!(now() - verified.iat <= 1);
    assert_eq!(verified.jti.len(), 36, "the uuid DpopKey sends");
    // Another key, another thumbprint.
    assert_ne!(DpopKey::es256().thumbprint(), verified.jkt);
}

/// RFC 9449's own example proof (Figures 4 and 5), checked at its issue time: our verifier and
/// the RFC's authors agree on the signature, the htu and the thumbprint (Figure 9's jkt).
#[tokio::test]
async fn the_rfc_9449_example_proof_verifies() {
    let proof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
    let request = ProofRequest::new("POST", "https://server.example.com/token");
    let verified = verifier()
        .verify_at(proof, &request, 1_562_262_616)
        .await
        .unwrap();
    assert_eq!(verified.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    assert_eq!(verified.jti, "-BwC3ESc6acc2lTc");
    // Today it is far too old.
    assert_eq!(
        verifier().verify(proof, &request).await,
        Err(DpopError::TooOld)
    );
}

#[test]
fn rfc_7638_published_thumbprint() {
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    });
    assert_eq!(
        thumbprint(&jwk).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    // RFC 9449's EC example key (Figure 4) and its jkt (Figure 9).
    let ec = json!({
        "kty": "EC",
        "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
        "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
        "crv": "P-256",
    });
    assert_eq!(
        thumbprint(&ec).unwrap(),
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    );
    assert_eq!(
        thumbprint(&json!({"kty": "oct", "k": "c2VjcmV0"})),
        Err(DpopError::SymmetricKey)
    );
    assert_eq!(thumbprint(&json!({"kty": "EC"})), Err(DpopError::BadKey));
    assert_eq!(thumbprint(&json!("not a jwk")), Err(DpopError::BadKey));
}

#[tokio::test]
async fn rsa_algorithms_only_when_allowed() {
    for key in [DpopKey::rs256(), DpopKey::ps256()] {
        let proof = key.proof("POST", TOKEN_URL);
        assert_eq!(
            refused(&proof, &post()).await,
            DpopError::UnsupportedAlgorithm,
            "{} by default",
            key.alg()
        );
        let all = verifier().with_algorithms(&[DpopAlg::Es256, DpopAlg::Rs256, DpopAlg::Ps256]);
        assert_eq!(all.algs_param(), "ES256 RS256 PS256");
        let verified = all.verify(&proof, &post()).await.unwrap();
        assert_eq!(verified.jkt, key.thumbprint());
        // PS256 is not RS256: the same key under the other alg fails its signature.
        let other = if key.alg() == "RS256" {
            "PS256"
        } else {
            "RS256"
        };
        let mut header = key.header();
        header["alg"] = json!(other);
        let mislabelled = key.sign(&header, &key.claims("POST", TOKEN_URL));
        assert_eq!(
            all.verify(&mislabelled, &post()).await,
            Err(DpopError::BadSignature)
        );
    }
}

#[tokio::test]
async fn the_typ_must_be_dpop_jwt() {
    let key = DpopKey::es256();
    for typ in [
        json!(null),
        json!("JWT"),
        json!("DPOP+JWT"),
        json!("dpop+jwt "),
    ] {
        let mut header = key.header();
        header["typ"] = typ.clone();
        let proof = key.sign(&header, &key.claims("POST", TOKEN_URL));
        assert_eq!(
            refused(&proof, &post()).await,
            DpopError::WrongType,
            "{typ}"
        );
    }
    let mut header = key.header();
    header.as_object_mut().unwrap().remove("typ");
    let proof = key.sign(&header, &key.claims("POST", TOKEN_URL));
    assert_eq!(refused(&proof, &post()).await, DpopError::WrongType);
}

#[tokio::test]
async fn alg_none_is_refused_signed_or_not() {
    let key = DpopKey::es256();
    let mut header = key.header();
    header["alg"] = json!("none");
    let claims = key.claims("POST", TOKEN_URL);
    let unsigned = format!("{}.{}.", b64(&header), b64(&claims));
    assert_eq!(refused(&unsigned, &post()).await, DpopError::NotCompactJws);
    let with_a_signature = format!("{unsigned}AAAA");
    assert_eq!(
        refused(&with_a_signature, &post()).await,
        DpopError::NotAsymmetric
    );
    header["alg"] = json!("None");
    let proof = format!("{}.{}.AAAA", b64(&header), b64(&claims));
    assert_eq!(refused(&proof, &post()).await, DpopError::NotAsymmetric);
}

#[tokio::test]
async fn hmac_is_refused_even_keyed_with_the_public_jwk() {
    use aws_lc_rs::hmac;
    let key = DpopKey::es256();
    for alg in ["HS256", "HS384", "HS512"] {
        let mut header = key.header();
        header["alg"] = json!(alg);
        let input = format!("{}.{}", b64(&header), b64(&key.claims("POST", TOKEN_URL)));
        // The classic confusion: the public key's text as the HMAC secret.
        let secret = key.public_jwk().to_string();
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
            input.as_bytes(),
        );
        let proof = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
        assert_eq!(
            refused(&proof, &post()).await,
            DpopError::NotAsymmetric,
            "{alg}"
        );
    }
}

#[tokio::test]
async fn unknown_algorithms_are_refused() {
    let key = DpopKey::es256();
    for alg in [
        json!("ES384"),
        json!("EdDSA"),
        json!("es256"),
        json!(null),
        json!(7),
    ] {
        let mut header = key.header();
        header["alg"] = alg.clone();
        let proof = key.sign(&header, &key.claims("POST", TOKEN_URL));
        let error = refused(&proof, &post()).await;
        assert!(
            matches!(
                error,
                DpopError::UnsupportedAlgorithm | DpopError::MalformedHeader
            ),
            "{alg}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_symmetric_jwk_is_refused() {
    let key = DpopKey::es256();
    for jwk in [
        json!({"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}),
        json!({"kty": "oct"}),
    ] {
        let mut header = key.header();
        header["jwk"] = jwk.clone();
        let proof = key.sign(&header, &key.claims("POST", TOKEN_URL));
        assert_eq!(
            refused(&proof, &post()).await,
            DpopError::SymmetricKey,
            "{jwk}"
        );
    }
}

#[tokio::test]
async fn a_jwk_with_any_private_member_is_refused() {
    let key = DpopKey::es256();
    for member in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        let mut header = key.header();
        header["jwk"][member] = json!("AAAA");
        let proof = key.sign(&header, &key.claims("POST", TOKEN_URL));
        let error = refused(&proof, &post()).await;
        assert!(
            matches!(error, DpopError::PrivateKey | DpopError::SymmetricKey),
            "{member}: {error:?}"
        );
    }
    // Even null: the member is named.
    let mut header = key.header();
    header["jwk"]["d"] = Value::Null;
    let proof = key.sign(&header, &key.claims("POST", TOKEN_URL));
    assert_eq!(refused(&proof, &post()).await, DpopError::PrivateKey);
}

#[tokio::test]
async fn the_jwk_must_fit_the_alg_and_be_a_real_key() {
    let key = DpopKey::es256();
    let rsa = DpopKey::rs256().public_jwk();
    let mut on_the_curve = key.public_jwk();
    // Another point: y changed, off the curve.
    let mut y = URL_SAFE_NO_PAD
        .decode(on_the_curve["y"].as_str().unwrap())
        .unwrap();
    y[31] ^= 1;
    on_the_curve["y"] = json!(URL_SAFE_NO_PAD.encode(&y));
    let cases = [
        (rsa, DpopError::KeyAlgMismatch),
        (
            json!({"kty": "EC", "crv": "P-384", "x": key.public_jwk()["x"], "y": key.public_jwk()["y"]}),
            DpopError::KeyAlgMismatch,
        ),
        (on_the_curve, DpopError::BadKey),
        (
            json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}),
            DpopError::BadKey,
        ),
        (
            json!({"kty": "EC", "crv": "P-256", "x": key.public_jwk()["x"]}),
            DpopError::BadKey,
        ),
        (
            {
                let mut jwk = key.public_jwk();
                jwk["alg"] = json!("RS256");
                jwk
            },
            DpopError::KeyAlgMismatch,
        ),
    ];
    for (jwk, expected) in cases {
        let mut header = key.header();
        header["jwk"] = jwk.clone();
        let proof = key.sign(&header, &key.claims("POST", TOKEN_URL));
        assert_eq!(refused(&proof, &post()).await, expected, "{jwk}");
    }
    let mut header = key.header();
    header.as_object_mut().unwrap().remove("jwk");
    let proof = key.sign(&header, &key.claims("POST", TOKEN_URL));
    assert_eq!(refused(&proof, &post()).await, DpopError::MissingKey);
}

#[tokio::test]
async fn the_signature_must_be_the_jwk_keys() {
    let key = DpopKey::es256();
    let proof = key.proof("POST", TOKEN_URL);
    // A flipped bit in the signature.
    let (input, signature) = proof.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[10] ^= 1;
    let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&bytes));
    assert_eq!(refused(&tampered, &post()).await, DpopError::BadSignature);
    // Claims changed after signing.
    let (header, rest) = proof.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let mut claims = key.claims("POST", TOKEN_URL);
    claims["htu"] = json!("https://attacker.example/oauth/token");
    let swapped = format!("{header}.{}.{signature}", b64(&claims));
    assert_eq!(refused(&swapped, &post()).await, DpopError::BadSignature);
    // Signed by another key than the jwk it names: the classic substitution.
    let attacker = DpopKey::es256();
    let forged = attacker.sign(&key.header(), &key.claims("POST", TOKEN_URL));
    assert_eq!(refused(&forged, &post()).await, DpopError::BadSignature);
    // A signature of the wrong length.
    let short = format!("{input}.AAAA");
    assert_eq!(refused(&short, &post()).await, DpopError::BadSignature);
}

#[tokio::test]
async fn shape_and_size_come_first() {
    let key = DpopKey::es256();
    let proof = key.proof("POST", TOKEN_URL);
    let huge = format!("{proof}{}", "A".repeat(MAX_PROOF_BYTES));
    assert_eq!(refused(&huge, &post()).await, DpopError::TooLong);
    for bad in [
        "",
        "a.b",
        "a.b.c.d",
        "..",
        "a..c",
        "a.b.c d",
        "a+b.c.d",
        "a=.b.c",
        &format!("{proof}."),
    ] {
        assert_eq!(
            refused(bad, &post()).await,
            DpopError::NotCompactJws,
            "{bad:?}"
        );
    }
    for header in [
        "bm90IGpzb24",
        "e30",
        "W10",
        "eyJ0eXAiOiJkcG9wK2p3dCIsInR5cCI6ImRwb3Arand0In0",
    ] {
        // not json; {}; []; a repeated typ.
        let bad = format!("{header}.e30.AAAA");
        let error = refused(&bad, &post()).await;
        assert!(
            matches!(error, DpopError::MalformedHeader | DpopError::WrongType),
            "{header}: {error:?}"
        );
    }
    // Non-canonical base64url (trailing bits set) is not base64url.
    let bad = "eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.AB";
    assert!(refused(bad, &post()).await != DpopError::Replayed);
    let mut header = key.header();
    header["crit"] = json!(["exp"]);
    let proof = key.sign(&header, &key.claims("POST", TOKEN_URL));
    assert_eq!(refused(&proof, &post()).await, DpopError::CriticalHeader);
}

#[tokio::test]
async fn every_required_claim_must_be_there() {
    let key = DpopKey::es256();
    for claim in ["jti", "htm", "htu", "iat"] {
        let proof = key.proof_with("POST", TOKEN_URL, |c| {
            c.as_object_mut().unwrap().remove(claim);
        });
        assert_eq!(
            refused(&proof, &post()).await,
            DpopError::MissingClaim(claim),
            "{claim}"
        );
    }
    let empty = key.proof_with("POST", TOKEN_URL, |c| c["jti"] = json!(""));
    assert_eq!(
        refused(&empty, &post()).await,
        DpopError::MissingClaim("jti")
    );
    let long = key.proof_with("POST", TOKEN_URL, |c| {
        c["jti"] = json!("j".repeat(MAX_JTI_BYTES + 1))
    });
    assert_eq!(refused(&long, &post()).await, DpopError::JtiTooLong);
    for (claim, value) in [("jti", json!(5)), ("iat", json!("now")), ("iat", json!(-1))] {
        let proof = key.proof_with("POST", TOKEN_URL, |c| c[claim] = value.clone());
        assert_eq!(
            refused(&proof, &post()).await,
            DpopError::MalformedClaims,
            "{claim}: {value}"
        );
    }
    let not_an_object = key.sign(&key.header(), &json!(["POST"]));
    assert_eq!(
        refused(&not_an_object, &post()).await,
        DpopError::MalformedClaims
    );
}

#[tokio::test]
async fn htm_and_htu_must_be_the_requests() {
    let key = DpopKey::es256();
    for method in ["GET", "post", "PUT"] {
        let proof = key.proof(method, TOKEN_URL);
        assert_eq!(
            refused(&proof, &post()).await,
            DpopError::MethodMismatch,
            "{method}"
        );
    }
    for url in [
        "https://tenant.example.test/oauth/revoke",
        "http://tenant.example.test/oauth/token",
        "https://tenant.example.test:8443/oauth/token",
        "https://attacker.example/oauth/token",
        "https://tenant.example.test/oauth/token/",
        "https://tenant.example.test/OAUTH/token",
        "https://user@tenant.example.test/oauth/token",
        "not a url",
    ] {
        let proof = key.proof("POST", url);
        assert_eq!(
            refused(&proof, &post()).await,
            DpopError::UrlMismatch,
            "{url}"
        );
    }
    // Equivalent after RFC 3986 normalization, or differing only in query and fragment: accepted.
    let v = verifier();
    for url in [
        "HTTPS://Tenant.Example.Test/oauth/token",
        "https://tenant.example.test:443/oauth/token",
        "https://tenant.example.test/oauth/%74oken",
        "https://tenant.example.test/oauth/token?x=1#y",
    ] {
        let proof = key.proof("POST", url);
        assert!(v.verify(&proof, &post()).await.is_ok(), "{url}");
    }
    let with_query = ProofRequest::new("POST", "https://tenant.example.test/oauth/token?a=b");
    assert!(
        v.verify(&key.proof("POST", TOKEN_URL), &with_query)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn iat_must_be_recent_and_not_ahead() {
    let key = DpopKey::es256();
    let now = now();
    let at = |iat: Value| key.proof_with("POST", TOKEN_URL, |c| c["iat"] = iat);
    let v = verifier();
    assert_eq!(
        v.verify_at(&at(json!(now - 61)), &post(), now).await,
        Err(DpopError::TooOld)
    );
    assert_eq!(
        v.verify_at(&at(json!(now + 6)), &post(), now).await,
        Err(DpopError::IssuedInTheFuture)
    );
    assert_eq!(
        v.verify_at(&at(json!(1e300)), &post(), now).await,
        Err(DpopError::IssuedInTheFuture)
    );
    assert!(
        v.verify_at(&at(json!(now - 60)), &post(), now)
            .await
            .is_ok()
    );
    assert!(v.verify_at(&at(json!(now + 5)), &post(), now).await.is_ok());
    // Fractional seconds, as Auth0's own sample sends them (Date.now() / 1000).
    let fractional = at(json!(now as f64 + 0.731));
    let verified = v.verify_at(&fractional, &post(), now).await.unwrap();
    assert_eq!(verified.iat, now);
    // A narrower window, configured.
    let strict = verifier().with_iat_window(Duration::from_secs(10), Duration::ZERO);
    assert_eq!(
        strict.verify_at(&at(json!(now - 11)), &post(), now).await,
        Err(DpopError::TooOld)
    );
    assert_eq!(
        strict.verify_at(&at(json!(now + 1)), &post(), now).await,
        Err(DpopError::IssuedInTheFuture)
    );
}

#[tokio::test]
async fn with_an_access_token_ath_is_required_and_checked() {
    let key = DpopKey::es256();
    // RFC 9449 §7.1's example: this token's ath.
    let token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
    let ath = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo";
    let url = "https://api.example.test/contacts";
    let request = ProofRequest::new("GET", url).with_access_token(token);
    let good = key.proof_with("GET", url, |c| c["ath"] = json!(ath));
    assert!(verifier().verify(&good, &request).await.is_ok());
    let missing = key.proof("GET", url);
    assert_eq!(
        refused(&missing, &request).await,
        DpopError::MissingClaim("ath")
    );
    let other = key.proof_with("GET", url, |c| {
        c["ath"] = json!("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")
    });
    assert_eq!(
        refused(&other, &request).await,
        DpopError::AccessTokenHashMismatch
    );
    // Without an access token, an ath is not looked at (a token request).
    let at_token_endpoint = key.proof_with("POST", TOKEN_URL, |c| c["ath"] = json!("x"));
    assert!(verifier().verify(&at_token_endpoint, &post()).await.is_ok());
}

#[tokio::test]
async fn a_bound_token_needs_a_proof_by_its_key() {
    let key = DpopKey::es256();
    let jkt = key.thumbprint();
    let bound = post().bound_to(&jkt);
    assert!(
        verifier()
            .verify(&key.proof("POST", TOKEN_URL), &bound)
            .await
            .is_ok()
    );
    let error = refused(&DpopKey::es256().proof("POST", TOKEN_URL), &bound).await;
    assert_eq!(error, DpopError::KeyNotBound);
    assert_eq!(error.code(), "invalid_token");
}

#[tokio::test]
async fn a_server_nonce_when_asked_for() {
    let key = DpopKey::es256();
    let nonces = DpopNonces::new(b"test secret", DEFAULT_NONCE_LIFETIME);
    let request = post().with_nonces(&nonces);
    let missing = refused(&key.proof("POST", TOKEN_URL), &request).await;
    assert_eq!(missing, DpopError::NonceRequired);
    assert_eq!(missing.code(), "use_dpop_nonce");
    let forged = key.proof_with("POST", TOKEN_URL, |c| c["nonce"] = json!("made-up"));
    assert_eq!(refused(&forged, &request).await, DpopError::BadNonce);
    let stale = nonces.issue_at(now() - 301);
    let old = key.proof_with("POST", TOKEN_URL, |c| c["nonce"] = json!(stale));
    assert_eq!(refused(&old, &request).await, DpopError::BadNonce);
    let fresh = nonces.issue();
    let good = key.proof_with("POST", TOKEN_URL, |c| c["nonce"] = json!(fresh));
    assert!(verifier().verify(&good, &request).await.is_ok());
    // A proof wrong in another way is invalid, not merely nonce-less.
    let wrong_url = key.proof("POST", "https://attacker.example/oauth/token");
    assert_eq!(refused(&wrong_url, &request).await, DpopError::UrlMismatch);
}

#[tokio::test]
async fn a_proof_is_accepted_once() {
    let key = DpopKey::es256();
    let v = verifier();
    let proof = key.proof("POST", TOKEN_URL);
    assert!(v.verify(&proof, &post()).await.is_ok());
    assert_eq!(v.verify(&proof, &post()).await, Err(DpopError::Replayed));
    // The same jti by the same key, in a new proof: a replay too.
    let jti = "fixed-jti";
    let first = key.proof_with("POST", TOKEN_URL, |c| c["jti"] = json!(jti));
    let again = key.proof_with("POST", TOKEN_URL, |c| c["jti"] = json!(jti));
    assert!(v.verify(&first, &post()).await.is_ok());
    assert_eq!(v.verify(&again, &post()).await, Err(DpopError::Replayed));
    // Another key cannot squat a victim's jti: its proof is its own.
    let attacker = DpopKey::es256();
    let squat = attacker.proof_with("POST", TOKEN_URL, |c| c["jti"] = json!("victim-jti"));
    assert!(v.verify(&squat, &post()).await.is_ok());
    let victim = key.proof_with("POST", TOKEN_URL, |c| c["jti"] = json!("victim-jti"));
    assert!(v.verify(&victim, &post()).await.is_ok());
    // A refused proof is not recorded: its jti is still usable once it is right.
    let v = verifier();
    let nonces = DpopNonces::new(b"s", DEFAULT_NONCE_LIFETIME);
    let without = key.proof_with("POST", TOKEN_URL, |c| c["jti"] = json!("retry"));
    assert!(
        v.verify(&without, &post().with_nonces(&nonces))
            .await
            .is_err()
    );
    assert!(v.verify(&without, &post()).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_copies_at_once_one_is_accepted() {
    let key = DpopKey::es256();
    let v = Arc::new(verifier());
    for _round in 0..20 {
        let proof = Arc::new(key.proof("POST", TOKEN_URL));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (v, proof) = (v.clone(), proof.clone());
                tokio::spawn(async move { v.verify(&proof, &post()).await })
            })
            .collect();
        let mut accepted = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => accepted += 1,
                Err(e) => assert_eq!(e, DpopError::Replayed),
            }
        }
        assert_eq!(accepted, 1);
    }
}

struct BrokenStore;

#[async_trait]
impl ReplayStore for BrokenStore {
    async fn first_use(&self, _key: &str, _expires_at: u64) -> Result<bool, ReplayStoreError> {
        Err(ReplayStoreError::Failed("connection refused".into()))
    }
}

#[tokio::test]
async fn without_a_replay_check_nothing_is_accepted() {
    let v = DpopVerifier::new(Arc::new(BrokenStore));
    let error = v
        .verify(&DpopKey::es256().proof("POST", TOKEN_URL), &post())
        .await
        .unwrap_err();
    assert!(matches!(error, DpopError::ReplayCheckUnavailable(_)));
    assert_eq!(error.code(), "temporarily_unavailable");
    assert!(
        !error.to_string().contains("connection"),
        "nothing internal"
    );
}

/// Records what the verifier asks of its store.
#[derive(Default)]
struct RecordingStore {
    asked: std::sync::Mutex<Vec<(String, u64)>>,
}

#[async_trait]
impl ReplayStore for RecordingStore {
    async fn first_use(&self, key: &str, expires_at: u64) -> Result<bool, ReplayStoreError> {
        self.asked
            .lock()
            .unwrap()
            .push((key.to_string(), expires_at));
        Ok(true)
    }
}

/// The replay store is asked to keep a proof only until it would be refused as too old anyway,
/// under a fixed-size key that names the key, the jti and the htu.
#[tokio::test]
async fn replay_entries_live_as_long_as_the_iat_window() {
    let store = Arc::new(RecordingStore::default());
    let v = DpopVerifier::new(store.clone());
    let key = DpopKey::es256();
    let now = now();
    let proof = key.proof_with("POST", TOKEN_URL, |c| {
        c["iat"] = json!(now - 10);
        c["jti"] = json!("j".repeat(MAX_JTI_BYTES));
    });
    assert!(v.verify_at(&proof, &post(), now).await.is_ok());
    // The same jti at another URL, or by another key: other entries.
    let elsewhere = "https://tenant.example.test/userinfo";
    let other_url = key.proof_with("GET", elsewhere, |c| {
        c["jti"] = json!("j".repeat(MAX_JTI_BYTES))
    });
    let at_userinfo = ProofRequest::new("GET", elsewhere);
    assert!(v.verify_at(&other_url, &at_userinfo, now).await.is_ok());
    let asked = store.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[0].1, now - 10 + 61, "iat + max_age + 1");
    assert_eq!(asked[0].0.len(), 43);
    assert_ne!(asked[0].0, asked[1].0);
    // With the in-memory store: a proof is refused as a replay while it is young enough, and
    // as too old after.
    let v = verifier();
    let proof = key.proof("POST", TOKEN_URL);
    let t = now;
    assert!(v.verify_at(&proof, &post(), t).await.is_ok());
    assert_eq!(
        v.verify_at(&proof, &post(), t + 30).await,
        Err(DpopError::Replayed)
    );
    assert_eq!(
        v.verify_at(&proof, &post(), t + 120).await,
        Err(DpopError::TooOld)
    );
}

/// Hostile proofs in parallel: every one refused with a typed error, none accepted, no panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_proofs_in_parallel_are_all_refused() {
    let store = Arc::new(MemoryReplayStore::new(1000));
    let v = Arc::new(DpopVerifier::new(store.clone()));
    let key = DpopKey::es256();
    let attacker = DpopKey::es256();
    let good = key.proof("POST", TOKEN_URL);
    let mut hostile: Vec<String> = Vec::new();
    // Every prefix and single-byte mutation of a valid proof.
    for cut in (0..good.len()).step_by(7) {
        hostile.push(good[..cut].to_string());
    }
    for i in (0..good.len()).step_by(3) {
        let mut bytes = good.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        if let Ok(text) = String::from_utf8(bytes) {
            hostile.push(text);
        }
    }
    hostile.push(attacker.sign(&key.header(), &key.claims("POST", TOKEN_URL)));
    hostile.push("\u{0}".repeat(100));
    hostile.push("é.é.é".into());
    hostile.push(format!(
        "{}.{}.{}",
        "A".repeat(3000),
        "B".repeat(3000),
        "C".repeat(2000)
    ));
    let tasks: Vec<_> = hostile
        .into_iter()
        .map(|proof| {
            let v = v.clone();
            tokio::spawn(async move { (v.verify(&proof, &post()).await, proof) })
        })
        .collect();
    for task in tasks {
        let (result, proof) = task.await.expect("no panic");
        assert!(result.is_err(), "accepted: {proof}");
    }
    assert!(store.is_empty(), "refused proofs leave nothing behind");
}
