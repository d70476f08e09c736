//! DPoP at the API, end to end over HTTP: a token bound to a key by the dev tenant
//! (client credentials with a real ES256 proof), then every way a thief could try to use it —
//! as a bearer token, with another key's proof, with a proof for another method or URL, a proof
//! used again (also twenty at once), an old proof, `alg: none`/HS256/symmetric-key proofs, a
//! private key in the `jwk` — each refused with no data: by the function with RFC 9449's
//! answer (`401`, `WWW-Authenticate: DPoP ... error=...`), and by the Lambda authorizer in front
//! of it (API Gateway's bare 403) where one runs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use organizer_local::RunningStack;
use organizer_shared::testing::DpopKey;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sha2::Digest;

use crate::common::api::{machine, machine_token};
use crate::common::{edited_tenant_file, fresh_state, gateway_with, start_stack_with};

/// The repository's stack with DPoP on the organize API in the tenant (`proof_of_possession`,
/// not required: a proof binds the token) and the template's parameters `overrides`.
async fn dpop_stack(overrides: &[&str]) -> RunningStack {
    let tenant = edited_tenant_file(|yaml| {
        let edited = yaml.replacen(
            "    token_dialect: access_token_authz\n",
            "    token_dialect: access_token_authz\n    proof_of_possession:\n      mechanism: dpop\n      required: false\n",
            1,
        );
        assert_ne!(edited, yaml);
        edited
    });
    start_stack_with(&tenant, fresh_state(), 0, gateway_with(overrides)).await
}

/// A client-credentials token of the machine client bound to `key`.
async fn bound_token(stack: &RunningStack, key: &DpopKey) -> String {
    let (id, secret) = machine(stack);
    let url = format!("{}/oauth/token", stack.tenant_url);
    let response = reqwest::Client::new()
        .post(&url)
        .header("dpop", key.proof("POST", &url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", "organize"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token.as_bytes()))
}

/// A valid proof by `key` for `method` at the API's `path`, for `token`.
fn proof(stack: &RunningStack, key: &DpopKey, method: &str, path: &str, token: &str) -> String {
    let ath = ath(token);
    key.proof_with(method, &format!("{}{path}", stack.api_url), |c| {
        c["ath"] = json!(ath)
    })
}

/// A request to the API with `authorization` and, if any, a `DPoP` header.
async fn call(
    stack: &RunningStack,
    method: &str,
    path: &str,
    authorization: &str,
    proof: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{}{path}", stack.api_url))
        .header("authorization", authorization);
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// A refusal by the function: 401, the DPoP challenge with `error`, and a body that is only
/// the error.
fn assert_function_refused(answer: &(StatusCode, HeaderMap, Value), error: &str, case: &str) {
    let (status, headers, body) = answer;
    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{case}: {body}");
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("DPoP realm=\"organize\", algs=\"ES256\", error=\""),
        "{case}: {challenge}"
    );
    assert!(
        challenge.contains(&format!("error=\"{error}\"")),
        "{case}: {challenge}"
    );
    assert_eq!(body["error"], error, "{case}: {body}");
    assert_no_data(body, case);
}

fn assert_no_data(body: &Value, case: &str) {
    let keys: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert!(
        keys.iter()
            .all(|k| ["error", "error_description", "message"].contains(&k.as_str())),
        "{case}: {body}"
    );
}

/// Hostile proofs, each with the error the function answers.
fn hostile_proofs(
    stack: &RunningStack,
    key: &DpopKey,
    token: &str,
) -> Vec<(&'static str, Option<String>, &'static str)> {
    let url = format!("{}/contacts", stack.api_url);
    let ath = ath(token);
    let claims = |c: &mut Value| c["ath"] = json!(ath);
    let mut valid_claims = key.claims("GET", &url);
    claims(&mut valid_claims);
    let mut with_private = key.public_jwk();
    with_private["d"] = json!(URL_SAFE_NO_PAD.encode([7u8; 32]));
    let symmetric =
        json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(b"a shared secret of 32 bytes.....")});
    let other = DpopKey::es256();
    vec![
        ("no proof", None, "invalid_dpop_proof"),
        (
            "another key's proof",
            Some(proof(stack, &other, "GET", "/contacts", token)),
            "invalid_token",
        ),
        (
            "a proof for another method",
            Some(proof(stack, key, "DELETE", "/contacts", token)),
            "invalid_dpop_proof",
        ),
        (
            "a proof for another URL",
            Some(proof(stack, key, "GET", "/calendar", token)),
            "invalid_dpop_proof",
        ),
        (
            "a proof for another host",
            Some(key.proof_with("GET", "https://api.example.com/contacts", claims)),
            "invalid_dpop_proof",
        ),
        (
            "a proof two minutes old",
            Some(key.proof_with("GET", &url, |c| {
                c["ath"] = json!(ath);
                c["iat"] = json!(jsonwebtoken::get_current_timestamp() - 120);
            })),
            "invalid_dpop_proof",
        ),
        (
            "a proof without ath",
            Some(key.proof("GET", &url)),
            "invalid_dpop_proof",
        ),
        (
            "alg none",
            Some(format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(
                    json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.public_jwk()}).to_string()
                ),
                URL_SAFE_NO_PAD.encode(valid_claims.to_string())
            )),
            "invalid_dpop_proof",
        ),
        (
            "HS256 with a symmetric jwk",
            Some(key.sign(
                &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": symmetric}),
                &valid_claims,
            )),
            "invalid_dpop_proof",
        ),
        (
            "ES256 with a symmetric jwk",
            Some(key.sign(
                &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": symmetric}),
                &valid_claims,
            )),
            "invalid_dpop_proof",
        ),
        (
            "a private key in the jwk",
            Some(key.sign(
                &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": with_private}),
                &valid_claims,
            )),
            "invalid_dpop_proof",
        ),
        (
            "typ jwt",
            Some(key.sign(
                &json!({"typ": "JWT", "alg": "ES256", "jwk": key.public_jwk()}),
                &valid_claims,
            )),
            "invalid_dpop_proof",
        ),
    ]
}

/// With DPoP required and no authorizer in front, the function itself answers every attack
/// with RFC 9449's 401 and no data; the key's holder is served.
#[tokio::test]
async fn every_misuse_of_a_bound_token_is_refused_by_the_function() {
    let stack = dpop_stack(&["AuthorizerMode=none", "Dpop=required"]).await;
    let key = DpopKey::es256();
    let token = bound_token(&stack, &key).await;
    let dpop = format!("DPoP {token}");
    // The holder of the key reads.
    let ok = call(
        &stack,
        "GET",
        "/contacts",
        &dpop,
        Some(&proof(&stack, &key, "GET", "/contacts", &token)),
    )
    .await;
    assert_eq!(ok.0, StatusCode::OK, "{}", ok.2);
    assert!(!ok.2["items"].as_array().unwrap().is_empty());
    // Copied out and replayed as a bearer token, with or without the proof.
    let valid = proof(&stack, &key, "GET", "/contacts", &token);
    for (case, p) in [
        ("as Bearer", None),
        ("as Bearer with a proof", Some(valid.as_str())),
    ] {
        let answer = call(&stack, "GET", "/contacts", &format!("Bearer {token}"), p).await;
        assert_function_refused(&answer, "invalid_token", case);
    }
    for (case, p, error) in hostile_proofs(&stack, &key, &token) {
        let answer = call(&stack, "GET", "/contacts", &dpop, p.as_deref()).await;
        assert_function_refused(&answer, error, case);
    }
    // A proof used once, then again.
    let once = proof(&stack, &key, "GET", "/contacts", &token);
    assert_eq!(
        call(&stack, "GET", "/contacts", &dpop, Some(&once)).await.0,
        StatusCode::OK
    );
    let again = call(&stack, "GET", "/contacts", &dpop, Some(&once)).await;
    assert_function_refused(&again, "invalid_dpop_proof", "a proof used again");
    assert!(
        again.2["error_description"]
            .as_str()
            .unwrap()
            .contains("used before")
    );
    // A plain bearer token, where DPoP is required.
    let bearer = machine_token(&stack, None).await;
    let answer = call(
        &stack,
        "GET",
        "/contacts",
        &format!("Bearer {bearer}"),
        None,
    )
    .await;
    assert_function_refused(
        &answer,
        "invalid_token",
        "a bearer token where DPoP is required",
    );
    stack.stop().await;
}

/// Twenty copies of one proof at once: exactly one is served.
#[tokio::test]
async fn twenty_copies_of_a_proof_at_once_one_is_served() {
    let stack = dpop_stack(&["AuthorizerMode=none", "Dpop=required"]).await;
    let key = DpopKey::es256();
    let token = bound_token(&stack, &key).await;
    let dpop = format!("DPoP {token}");
    let p = proof(&stack, &key, "GET", "/contacts", &token);
    let answers = futures_util::future::join_all(
        (0..20).map(|_| call(&stack, "GET", "/contacts", &dpop, Some(&p))),
    )
    .await;
    let served = answers.iter().filter(|a| a.0 == StatusCode::OK).count();
    assert_eq!(served, 1);
    for answer in answers.iter().filter(|a| a.0 != StatusCode::OK) {
        assert_function_refused(answer, "invalid_dpop_proof", "a copy");
    }
    stack.stop().await;
}

/// Behind the Lambda authorizer: it checks the proof too (without recording it), so a stolen
/// token with a bad proof never reaches the function (API Gateway's 403); a good proof goes
/// through once, and its copy is refused by the function, which records it.
#[tokio::test]
async fn the_lambda_authorizer_refuses_the_same_misuses() {
    let stack = dpop_stack(&["AuthorizerMode=lambda", "Dpop=required"]).await;
    let key = DpopKey::es256();
    let token = bound_token(&stack, &key).await;
    let dpop = format!("DPoP {token}");
    let valid = proof(&stack, &key, "GET", "/contacts", &token);
    let answer = call(
        &stack,
        "GET",
        "/contacts",
        &format!("Bearer {token}"),
        Some(&valid),
    )
    .await;
    assert_eq!(answer.0, StatusCode::FORBIDDEN, "as Bearer: {}", answer.2);
    assert_no_data(&answer.2, "as Bearer");
    for (case, p, _) in hostile_proofs(&stack, &key, &token) {
        let answer = call(&stack, "GET", "/contacts", &dpop, p.as_deref()).await;
        // No DPoP header at all: an identity source is missing, API Gateway's 401.
        let expected = if p.is_none() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(answer.0, expected, "{case}: {}", answer.2);
        assert_no_data(&answer.2, case);
    }
    // The authorizer does not count the request as its own replay: served once...
    let served = call(&stack, "GET", "/contacts", &dpop, Some(&valid)).await;
    assert_eq!(served.0, StatusCode::OK, "{}", served.2);
    // ...and a copy passes the authorizer (which records nothing) but not the function.
    let again = call(&stack, "GET", "/contacts", &dpop, Some(&valid)).await;
    assert_function_refused(&again, "invalid_dpop_proof", "a proof used again");
    // Writes too: a proof for POST /tasks.
    let body = json!({"title": "bound"});
    let p = proof(&stack, &key, "POST", "/tasks", &token);
    let created = reqwest::Client::new()
        .post(format!("{}/tasks", stack.api_url))
        .header("authorization", &dpop)
        .header("dpop", p)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    stack.stop().await;
}

/// DPoP allowed: bearer tokens work as before, bound tokens with their proof, never as Bearer;
/// answers challenge both schemes.
#[tokio::test]
async fn with_dpop_allowed_both_kinds_of_token_are_served() {
    let stack = dpop_stack(&["Dpop=allowed"]).await;
    let bearer = machine_token(&stack, None).await;
    let answer = call(
        &stack,
        "GET",
        "/calendar",
        &format!("Bearer {bearer}"),
        None,
    )
    .await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.2);
    let key = DpopKey::es256();
    let token = bound_token(&stack, &key).await;
    let p = proof(&stack, &key, "GET", "/calendar", &token);
    let answer = call(
        &stack,
        "GET",
        "/calendar",
        &format!("DPoP {token}"),
        Some(&p),
    )
    .await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.2);
    let answer = call(
        &stack,
        "GET",
        "/calendar",
        &format!("DPoP {token}"),
        Some(&p),
    )
    .await;
    assert_eq!(answer.0, StatusCode::UNAUTHORIZED);
    let challenge = answer.1["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer realm=\"organize\", DPoP realm=\"organize\", algs=\"ES256\", error=\"invalid_dpop_proof\""), "{challenge}");
    // No Authorization at all (no authorizer): both schemes are offered.
    let stack_none = dpop_stack(&["Dpop=allowed", "AuthorizerMode=none"]).await;
    let response = reqwest::get(format!("{}/calendar", stack_none.api_url))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"organize\", DPoP realm=\"organize\", algs=\"ES256\""
    );
    stack_none.stop().await;
    stack.stop().await;
}

/// With DPoP off (the default), a bound token is refused as a bearer token all the same.
#[tokio::test]
async fn with_dpop_off_a_bound_token_is_still_no_bearer_token() {
    let stack = dpop_stack(&["AuthorizerMode=none"]).await;
    let key = DpopKey::es256();
    let token = bound_token(&stack, &key).await;
    let (status, headers, body) =
        call(&stack, "GET", "/contacts", &format!("Bearer {token}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=\"organize\", error=\"invalid_token\"")
    );
    assert_no_data(&body, "off");
    stack.stop().await;
}

/// The template's rule: API Gateway's JWT authorizer cannot check proofs, so the local gateway
/// refuses Dpop=required with AuthorizerMode=jwt as CloudFormation would.
#[tokio::test]
async fn jwt_authorizer_and_required_dpop_do_not_combine() {
    let options = gateway_with(&["AuthorizerMode=jwt", "Dpop=required"]);
    let error = organizer_local::gateway::load(&options.template, &[], &[], "http://localhost:1")
        .err()
        .expect("the rule refuses it");
    assert!(
        error.to_string().contains("JWT authorizer cannot"),
        "{error}"
    );
}
