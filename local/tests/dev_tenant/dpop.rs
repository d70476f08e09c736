//! DPoP (RFC 9449) at the token endpoint, as Auth0 does it (in process, no sockets), with real
//! ES256 proofs made here: tokens bound to the proof's key (`cnf.jkt`, `token_type: DPoP`),
//! refresh tokens of public clients bound to it (a stolen one is useless), codes bound by
//! `dpop_jkt`, server nonces for public clients, each proof accepted once, and the refusals of
//! the API's and the client's settings. Every refusal says why and issues no token.

use axum::http::StatusCode;
use organizer_local::tenant::users::DEFAULT_EMAIL;
use organizer_shared::testing::DpopKey;
use serde_json::{Value, json};

use crate::common::edited_tenant_file;
use crate::common::in_process::{Answer, ISSUER, TenantApp};
use crate::common::oauth::{
    MACHINE, SPA, SPA_ORIGIN, authorize_query, claims, code_flow, get, pkce, query_params,
};

const TOKEN: &str = "/oauth/token";
/// The token endpoint as the in-process tenant's issuer names it: the `htu` of its proofs.
const TOKEN_URL: &str = "http://localhost:4000/oauth/token";
const OFFLINE: &str = "openid profile offline_access read:contacts read:calendar";

/// The organize API with `proof_of_possession` set to `settings` (YAML lines at its level).
fn api_with(settings: &str) -> TenantApp {
    let path = edited_tenant_file(|yaml| {
        let edited = yaml.replacen(
            "    token_dialect: access_token_authz\n",
            &format!("    token_dialect: access_token_authz\n    proof_of_possession:\n{settings}"),
            1,
        );
        assert_ne!(edited, yaml);
        edited
    });
    TenantApp::from_file(&path)
}

/// DPoP allowed on organize: a proof binds the token, none is needed.
fn dpop_allowed() -> TenantApp {
    api_with("      mechanism: dpop\n      required: false\n")
}

/// What an answer must show when it is a refusal: the status, the error code, no token.
fn assert_refused(answer: &Answer, status: StatusCode, error: &str, case: &str) {
    let body = answer.json();
    assert_eq!(
        (answer.status, body["error"].as_str()),
        (status, Some(error)),
        "{case}: {body}"
    );
    assert!(body["error_description"].is_string(), "{case}: {body}");
    assert!(body.get("access_token").is_none(), "{case}: {body}");
    assert!(body.get("refresh_token").is_none(), "{case}: {body}");
}

/// A DPoP-bound token answer for `key`: `token_type: DPoP` and the key's thumbprint in
/// `cnf.jkt`; the ID token, if any, carries no `cnf`.
fn assert_bound(body: &Value, key: &DpopKey) {
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["cnf"], json!({"jkt": key.thumbprint()}), "{access}");
    if let Some(id_token) = body["id_token"].as_str() {
        assert!(claims(id_token).get("cnf").is_none());
    }
}

fn assert_bearer(body: &Value) {
    assert_eq!(body["token_type"], "Bearer", "{body}");
    let access = claims(body["access_token"].as_str().unwrap());
    assert!(access.get("cnf").is_none(), "{access}");
}

/// `POST /oauth/token` of `form` from the SPA's origin, with `proof` (a `DPoP` header).
async fn token(app: &TenantApp, form: &[(&str, &str)], proof: Option<&str>) -> Answer {
    let mut headers = vec![("origin", SPA_ORIGIN)];
    if let Some(proof) = proof {
        headers.push(("dpop", proof));
    }
    app.post_form_with(TOKEN, &headers, form).await
}

/// A nonce of the tenant's, as a public client gets one: its first proof refused with
/// `use_dpop_nonce` and a `DPoP-Nonce` header.
async fn fresh_nonce(app: &TenantApp, key: &DpopKey) -> String {
    let spa = app.client_id(SPA);
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", spa.as_str()),
        ("refresh_token", "none-yet"),
    ];
    let answer = token(app, &form, Some(&key.proof("POST", TOKEN_URL))).await;
    assert_refused(
        &answer,
        StatusCode::BAD_REQUEST,
        "use_dpop_nonce",
        "no nonce",
    );
    assert_eq!(
        answer.json()["error_description"],
        "Authorization server requires nonce in DPoP proof"
    );
    answer.header("dpop-nonce").to_string()
}

/// A proof by `key` for the token endpoint carrying `nonce`.
fn proof_with_nonce(key: &DpopKey, nonce: &str) -> String {
    key.proof_with("POST", TOKEN_URL, |c| c["nonce"] = json!(nonce))
}

/// The demo user signed in and consenting to everything the SPA asks; a code of the code flow
/// (PKCE, `scope`, and `extra`, such as `dpop_jkt`) and its verifier, from `/authorize`.
async fn sign_in_code(app: &TenantApp, scope: &str, extra: &[(&str, &str)]) -> (String, String) {
    let tenant = &app.tenant;
    let user = tenant.user_by_email(DEFAULT_EMAIL).unwrap();
    let session = tenant.runtime.new_session(&user.id);
    let spa = app.client_id(SPA);
    let everything: Vec<String> = ["profile", "email"]
        .iter()
        .map(|s| s.to_string())
        .chain(
            [
                "read:contacts",
                "read:calendar",
                "write:contacts",
                "write:calendar",
                "offline_access",
            ]
            .iter()
            .map(|s| format!("organize|{s}")),
        )
        .collect();
    tenant.runtime.grant_consent(&user.id, &spa, &everything);
    let (verifier, challenge) = pkce();
    let mut params = code_flow(&challenge).to_vec();
    params.push(("scope", scope));
    params.extend_from_slice(extra);
    let query = authorize_query(&spa, &params);
    let cookie = format!("organizer_session={}", session.id);
    let answer = app
        .get_with(&format!("/authorize?{query}"), &[("cookie", &cookie)])
        .await;
    let location = answer
        .location()
        .unwrap_or_else(|| panic!("{}: {}", answer.status, answer.text()))
        .to_string();
    let code = get(&query_params(&location), "code")
        .unwrap_or_else(|| panic!("no code in {location}"))
        .to_string();
    (code, verifier)
}

/// The code exchange's form (the SPA: a public client).
fn exchange_form<'a>(spa: &'a str, code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("client_id", spa),
        ("code", code),
        ("redirect_uri", "http://localhost:3000/callback.html"),
        ("code_verifier", verifier),
    ]
}

fn refresh_form<'a>(spa: &'a str, refresh_token: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "refresh_token"),
        ("client_id", spa),
        ("refresh_token", refresh_token),
    ]
}

/// The machine client's client-credentials form.
fn machine_form(app: &TenantApp) -> Vec<(&'static str, String)> {
    let (id, secret) = app.credentials(MACHINE);
    vec![
        ("grant_type", "client_credentials".into()),
        ("audience", "organize".into()),
        ("client_id", id),
        ("client_secret", secret),
    ]
}

async fn machine_token(app: &TenantApp, proof: Option<&str>) -> Answer {
    let form = machine_form(app);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    token(app, &form, proof).await
}

/// The code flow of a public client with a proof: the first try is asked for a nonce (and
/// spends nothing), the second gets tokens bound to the key, the refresh token included.
#[tokio::test]
async fn the_code_flow_with_a_proof_gives_dpop_bound_tokens() {
    let app = dpop_allowed();
    let key = DpopKey::es256();
    let spa = app.client_id(SPA);
    let (code, verifier) = sign_in_code(&app, OFFLINE, &[]).await;
    let form = exchange_form(&spa, &code, &verifier);
    // No nonce yet: use_dpop_nonce with one, readable by the page (CORS).
    let first = token(&app, &form, Some(&key.proof("POST", TOKEN_URL))).await;
    assert_refused(
        &first,
        StatusCode::BAD_REQUEST,
        "use_dpop_nonce",
        "first try",
    );
    assert_eq!(first.header("access-control-allow-origin"), SPA_ORIGIN);
    assert!(
        first
            .header("access-control-expose-headers")
            .contains("DPoP-Nonce")
    );
    let nonce = first.header("dpop-nonce").to_string();
    // The code was not spent by the nonce round trip.
    let answer = token(&app, &form, Some(&proof_with_nonce(&key, &nonce))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let body = answer.json();
    assert_bound(&body, &key);
    assert!(body["refresh_token"].is_string(), "{body}");
    assert!(body["id_token"].is_string(), "{body}");
    // The next nonce comes with the tokens.
    assert!(!answer.header("dpop-nonce").is_empty());
    assert_eq!(answer.header("cache-control"), "no-store");
}

/// The refresh token of a public client that proved a key needs that key: with it, new bound
/// tokens; without a proof, or with another key's (a thief's valid proof), Auth0's
/// `invalid_grant`, and the token is not spent (its holder goes on).
#[tokio::test]
async fn a_stolen_refresh_token_is_useless_without_the_key() {
    let app = dpop_allowed();
    let key = DpopKey::es256();
    let thief = DpopKey::es256();
    let spa = app.client_id(SPA);
    let (code, verifier) = sign_in_code(&app, OFFLINE, &[]).await;
    let nonce = fresh_nonce(&app, &key).await;
    let answer = token(
        &app,
        &exchange_form(&spa, &code, &verifier),
        Some(&proof_with_nonce(&key, &nonce)),
    )
    .await;
    let refresh_token = answer.json()["refresh_token"].as_str().unwrap().to_string();
    let form = refresh_form(&spa, &refresh_token);
    for (case, proof) in [
        ("no proof", None),
        ("the thief's key", Some(proof_with_nonce(&thief, &nonce))),
    ] {
        let answer = token(&app, &form, proof.as_deref()).await;
        assert_refused(&answer, StatusCode::FORBIDDEN, "invalid_grant", case);
        assert_eq!(
            answer.json()["error_description"],
            "Unknown or invalid refresh token.",
            "{case}"
        );
    }
    let answer = token(&app, &form, Some(&proof_with_nonce(&key, &nonce))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let body = answer.json();
    assert_bound(&body, &key);
    // The rotated token is bound too.
    let next = body["refresh_token"].as_str().unwrap();
    let answer = token(
        &app,
        &refresh_form(&spa, next),
        Some(&proof_with_nonce(&thief, &nonce)),
    )
    .await;
    assert_refused(&answer, StatusCode::FORBIDDEN, "invalid_grant", "rotated");
    let answer = token(
        &app,
        &refresh_form(&spa, next),
        Some(&proof_with_nonce(&key, &nonce)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
}

/// The repository's tenant.yaml (no `proof_of_possession` on organize): as Auth0 with no
/// method on the API, a proof does not bind the access token (Bearer) — but the public
/// client's refresh token is still bound to its key (RFC 9449 §5).
#[tokio::test]
async fn without_a_method_on_the_api_the_token_is_bearer_and_the_refresh_token_bound() {
    let app = TenantApp::new();
    let key = DpopKey::es256();
    let spa = app.client_id(SPA);
    let (code, verifier) = sign_in_code(&app, OFFLINE, &[]).await;
    let nonce = fresh_nonce(&app, &key).await;
    let answer = token(
        &app,
        &exchange_form(&spa, &code, &verifier),
        Some(&proof_with_nonce(&key, &nonce)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let body = answer.json();
    assert_bearer(&body);
    let form = refresh_form(&spa, body["refresh_token"].as_str().unwrap());
    assert_refused(
        &token(&app, &form, None).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        "refresh without the proof",
    );
    let answer = token(&app, &form, Some(&proof_with_nonce(&key, &nonce))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_bearer(&answer.json());
    // And without any proof, nothing changes from before DPoP.
    let (code, verifier) = sign_in_code(&app, OFFLINE, &[]).await;
    let answer = token(&app, &exchange_form(&spa, &code, &verifier), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let body = answer.json();
    assert_bearer(&body);
    assert!(answer.headers.get("dpop-nonce").is_none());
    let form = refresh_form(&spa, body["refresh_token"].as_str().unwrap());
    assert_eq!(token(&app, &form, None).await.status, StatusCode::OK);
}

/// A confidential client needs no nonce; its token is bound when the API has a method.
#[tokio::test]
async fn client_credentials_with_a_proof() {
    let app = dpop_allowed();
    let key = DpopKey::es256();
    let answer = machine_token(&app, Some(&key.proof("POST", TOKEN_URL))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_bound(&answer.json(), &key);
    assert!(!answer.header("dpop-nonce").is_empty());
    // Without a proof: Bearer, as before.
    let answer = machine_token(&app, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_bearer(&answer.json());
    // A nonce it was given is accepted too.
    let nonce = answer_nonce(&app).await;
    let answer = machine_token(&app, Some(&proof_with_nonce(&key, &nonce))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
}

/// The nonce a DPoP request's answer carries.
async fn answer_nonce(app: &TenantApp) -> String {
    let answer = machine_token(app, Some(&DpopKey::es256().proof("POST", TOKEN_URL))).await;
    answer.header("dpop-nonce").to_string()
}

/// A proof is accepted once: the same proof again is `invalid_dpop_proof`, and twenty copies
/// sent at once get one token.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replayed_proof_is_refused_even_twenty_at_once() {
    let app = std::sync::Arc::new(dpop_allowed());
    let key = DpopKey::es256();
    let proof = key.proof("POST", TOKEN_URL);
    assert_eq!(
        machine_token(&app, Some(&proof)).await.status,
        StatusCode::OK
    );
    assert_refused(
        &machine_token(&app, Some(&proof)).await,
        StatusCode::BAD_REQUEST,
        "invalid_dpop_proof",
        "replayed",
    );
    let proof = std::sync::Arc::new(key.proof("POST", TOKEN_URL));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, proof) = (app.clone(), proof.clone());
            tokio::spawn(async move { machine_token(&app, Some(&proof)).await })
        })
        .collect();
    let mut issued = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        match answer.status {
            StatusCode::OK => issued += 1,
            _ => assert_refused(
                &answer,
                StatusCode::BAD_REQUEST,
                "invalid_dpop_proof",
                "a copy",
            ),
        }
    }
    assert_eq!(issued, 1);
}

/// Proofs wrong in one way each: `invalid_dpop_proof`, with no token.
#[tokio::test]
async fn malformed_proofs_are_invalid_dpop_proof() {
    let app = dpop_allowed();
    let key = DpopKey::es256();
    let now = jsonwebtoken::get_current_timestamp();
    let mut private = key.header();
    private["jwk"]["d"] = json!("AAAA");
    let mut none = key.header();
    none["alg"] = json!("none");
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let cases: Vec<(&str, String)> = vec![
        ("htm GET", key.proof("GET", TOKEN_URL)),
        (
            "htu of another endpoint",
            key.proof("POST", "http://localhost:4000/oauth/revoke"),
        ),
        (
            "htu of another port",
            key.proof("POST", "http://localhost:4001/oauth/token"),
        ),
        (
            "htu of the API",
            key.proof("POST", "http://localhost:3001/oauth/token"),
        ),
        (
            "iat 10 minutes old",
            key.proof_with("POST", TOKEN_URL, |c| c["iat"] = json!(now - 600)),
        ),
        (
            "iat a minute ahead",
            key.proof_with("POST", TOKEN_URL, |c| c["iat"] = json!(now + 60)),
        ),
        (
            "alg none",
            format!(
                "{}.{}.AAAA",
                b64(&none),
                b64(&key.claims("POST", TOKEN_URL))
            ),
        ),
        (
            "a private key in the jwk",
            key.sign(&private, &key.claims("POST", TOKEN_URL)),
        ),
        (
            "signed by another key",
            DpopKey::es256().sign(&key.header(), &key.claims("POST", TOKEN_URL)),
        ),
        (
            "an RS256 proof (ES256 only)",
            DpopKey::rs256().proof("POST", TOKEN_URL),
        ),
        ("not a JWT", "not-a-jwt".into()),
    ];
    for (case, proof) in cases {
        let answer = machine_token(&app, Some(&proof)).await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_dpop_proof", case);
    }
    // Two DPoP headers.
    let (a, b) = (key.proof("POST", TOKEN_URL), key.proof("POST", TOKEN_URL));
    let form = machine_form(&app);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let answer = app
        .post(
            TOKEN,
            "application/x-www-form-urlencoded",
            &[("dpop", &a), ("dpop", &b)],
            body,
        )
        .await;
    assert_refused(
        &answer,
        StatusCode::BAD_REQUEST,
        "invalid_dpop_proof",
        "two headers",
    );
}

/// `required: true` on the API: no token without a proof (the code not spent by the refusal
/// of a client that must first get a nonce); `required_for: public_clients` leaves
/// confidential clients free.
#[tokio::test]
async fn an_api_that_requires_dpop_issues_no_token_without_a_proof() {
    let app = api_with("      mechanism: dpop\n      required: true\n");
    let answer = machine_token(&app, None).await;
    assert_refused(
        &answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "machine without",
    );
    assert!(
        answer.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("organize")
    );
    let key = DpopKey::es256();
    let answer = machine_token(&app, Some(&key.proof("POST", TOKEN_URL))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_bound(&answer.json(), &key);
    // The SPA: no proof, no token.
    let spa = app.client_id(SPA);
    let (code, verifier) = sign_in_code(&app, OFFLINE, &[]).await;
    let answer = token(&app, &exchange_form(&spa, &code, &verifier), None).await;
    assert_refused(
        &answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "SPA without",
    );

    let app = api_with(
        "      mechanism: dpop\n      required: true\n      required_for: public_clients\n",
    );
    let answer = machine_token(&app, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_bearer(&answer.json());
    let spa = app.client_id(SPA);
    let (code, verifier) = sign_in_code(&app, OFFLINE, &[]).await;
    let answer = token(&app, &exchange_form(&spa, &code, &verifier), None).await;
    assert_refused(
        &answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "public client",
    );
}

/// Where the API requires DPoP, a refresh without a proof is refused as any invalid refresh
/// token is (the key check comes first, and says nothing more), and spends nothing.
#[tokio::test]
async fn a_refresh_without_a_proof_where_the_api_requires_one_spends_nothing() {
    let app = api_with("      mechanism: dpop\n      required: true\n");
    let key = DpopKey::es256();
    let spa = app.client_id(SPA);
    let (code, verifier) = sign_in_code(&app, OFFLINE, &[]).await;
    let nonce = fresh_nonce(&app, &key).await;
    let answer = token(
        &app,
        &exchange_form(&spa, &code, &verifier),
        Some(&proof_with_nonce(&key, &nonce)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let refresh_token = answer.json()["refresh_token"].as_str().unwrap().to_string();
    let form = refresh_form(&spa, &refresh_token);
    assert_refused(
        &token(&app, &form, None).await,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        "no proof",
    );
    let answer = token(&app, &form, Some(&proof_with_nonce(&key, &nonce))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_bound(&answer.json(), &key);
}

/// `require_proof_of_possession` on a client: nothing without a proof, and nothing for an
/// API that cannot bind tokens (Auth0's table), whatever the proof.
#[tokio::test]
async fn a_client_that_requires_dpop_gets_only_bound_tokens() {
    let requiring = |yaml: String| {
        let edited = yaml.replacen(
            "    app_type: non_interactive\n",
            "    app_type: non_interactive\n    require_proof_of_possession: true\n",
            1,
        );
        assert_ne!(edited, yaml);
        edited
    };
    let app = TenantApp::from_file(&edited_tenant_file(requiring));
    let key = DpopKey::es256();
    assert_refused(
        &machine_token(&app, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "no proof",
    );
    let answer = machine_token(&app, Some(&key.proof("POST", TOKEN_URL))).await;
    assert_refused(
        &answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "an API without a method",
    );
    let app = TenantApp::from_file(&edited_tenant_file(|yaml| {
        requiring(yaml).replacen(
            "    token_dialect: access_token_authz\n",
            "    token_dialect: access_token_authz\n    proof_of_possession:\n      mechanism: dpop\n",
            1,
        )
    }));
    assert_refused(
        &machine_token(&app, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "no proof, API allows",
    );
    let answer = machine_token(&app, Some(&key.proof("POST", TOKEN_URL))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_bound(&answer.json(), &key);
}

/// `dpop_jkt` at /authorize binds the code: exchanging it needs a proof by that key.
#[tokio::test]
async fn dpop_jkt_binds_the_code_to_the_key() {
    let app = dpop_allowed();
    let key = DpopKey::es256();
    let jkt = key.thumbprint();
    let spa = app.client_id(SPA);
    let nonce = fresh_nonce(&app, &key).await;
    let other = DpopKey::es256();
    for (case, proof) in [
        ("no proof", None),
        ("another key", Some(proof_with_nonce(&other, &nonce))),
    ] {
        let (code, verifier) = sign_in_code(&app, OFFLINE, &[("dpop_jkt", &jkt)]).await;
        let answer = token(
            &app,
            &exchange_form(&spa, &code, &verifier),
            proof.as_deref(),
        )
        .await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_grant", case);
    }
    let (code, verifier) = sign_in_code(&app, OFFLINE, &[("dpop_jkt", &jkt)]).await;
    let answer = token(
        &app,
        &exchange_form(&spa, &code, &verifier),
        Some(&proof_with_nonce(&key, &nonce)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_bound(&answer.json(), &key);
    // A dpop_jkt that is not a thumbprint goes back to the client as invalid_request.
    let (_, challenge) = pkce();
    let mut params = code_flow(&challenge).to_vec();
    params.push(("dpop_jkt", "not-a-thumbprint"));
    let answer = app.authorize(&params).await;
    let location = answer.location().unwrap().to_string();
    assert_eq!(
        get(&query_params(&location), "error"),
        Some("invalid_request"),
        "{location}"
    );
}

#[tokio::test]
async fn discovery_and_cors_announce_dpop() {
    let app = TenantApp::new();
    let discovery = app.get("/.well-known/openid-configuration").await.json();
    assert_eq!(
        discovery["dpop_signing_alg_values_supported"],
        json!(["ES256"])
    );
    assert_eq!(discovery["token_endpoint"], format!("{ISSUER}oauth/token"));
    let preflight = app
        .send(
            axum::http::Request::options(TOKEN)
                .header("origin", SPA_ORIGIN)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type,dpop")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert!(
        preflight
            .header("access-control-allow-headers")
            .split(", ")
            .any(|h| h == "dpop"),
        "{}",
        preflight.header("access-control-allow-headers")
    );
}

/// Hostile proofs sent at once: each one a 400 `invalid_dpop_proof` (or a replay), never a 500,
/// never a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_proofs_in_parallel_never_break_the_tenant() {
    let app = std::sync::Arc::new(dpop_allowed());
    let key = DpopKey::es256();
    let good = key.proof("POST", TOKEN_URL);
    let mut hostile: Vec<String> = (0..good.len())
        .step_by(5)
        .map(|i| {
            let mut bytes = good.clone().into_bytes();
            bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
            String::from_utf8(bytes).unwrap()
        })
        .collect();
    hostile.push("a".repeat(20_000));
    hostile.push(format!("{good}.{good}"));
    hostile.push("..".into());
    hostile.push(key.proof_with("POST", TOKEN_URL, |c| {
        c["jti"] = json!("j".repeat(10_000));
    }));
    let tasks: Vec<_> = hostile
        .into_iter()
        .map(|proof| {
            let app = app.clone();
            tokio::spawn(async move { (machine_token(&app, Some(&proof)).await, proof) })
        })
        .collect();
    for task in tasks {
        let (answer, proof) = task.await.expect("no panic");
        assert_refused(
            &answer,
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            &proof[..proof.len().min(40)],
        );
    }
    // The tenant still works.
    let answer = machine_token(&app, Some(&key.proof("POST", TOKEN_URL))).await;
    assert_eq!(answer.status, StatusCode::OK);
}

/// `/userinfo` is a resource server for the tenant's own tokens: a bound token works only as
/// `Authorization: DPoP` with a fresh proof by its key carrying the token's `ath`; sent as
/// Bearer it is refused (a stolen token is useless there too).
#[tokio::test]
async fn userinfo_takes_a_bound_token_only_with_a_proof_by_its_key() {
    let app = dpop_allowed();
    let key = DpopKey::es256();
    let spa = app.client_id(SPA);
    let (code, verifier) = sign_in_code(&app, OFFLINE, &[]).await;
    let nonce = fresh_nonce(&app, &key).await;
    let answer = token(
        &app,
        &exchange_form(&spa, &code, &verifier),
        Some(&proof_with_nonce(&key, &nonce)),
    )
    .await;
    let body = answer.json();
    assert_bound(&body, &key);
    let access = body["access_token"].as_str().unwrap().to_string();
    let url = format!("{ISSUER}userinfo");
    let ath = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&access))
    };
    let userinfo = |authorization: String, proof: Option<String>| {
        let app = &app;
        async move {
            let mut headers = vec![("authorization", authorization)];
            if let Some(proof) = proof {
                headers.push(("dpop", proof));
            }
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.get_with("/userinfo", &headers).await
        }
    };
    let dpop = format!("DPoP {access}");
    let good = key.proof_with("GET", &url, |c| c["ath"] = json!(ath));
    let answer = userinfo(dpop.clone(), Some(good.clone())).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert!(answer.json()["sub"].as_str().unwrap().starts_with("auth0|"));
    let refusals = [
        (
            "as Bearer",
            format!("Bearer {access}"),
            None,
            "invalid_token",
            "Bearer",
        ),
        ("no proof", dpop.clone(), None, "invalid_dpop_proof", "DPoP"),
        (
            "the same proof again",
            dpop.clone(),
            Some(good),
            "invalid_dpop_proof",
            "DPoP",
        ),
        (
            "no ath",
            dpop.clone(),
            Some(key.proof("GET", &url)),
            "invalid_dpop_proof",
            "DPoP",
        ),
        (
            "another key",
            dpop.clone(),
            Some(DpopKey::es256().proof_with("GET", &url, |c| c["ath"] = json!(ath))),
            "invalid_token",
            "DPoP",
        ),
        (
            "a proof for the token endpoint",
            dpop.clone(),
            Some(key.proof_with("POST", TOKEN_URL, |c| c["ath"] = json!(ath))),
            "invalid_dpop_proof",
            "DPoP",
        ),
    ];
    for (case, authorization, proof, error, scheme) in refusals {
        let answer = userinfo(authorization, proof).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{case}: {}",
            answer.text()
        );
        assert_eq!(answer.json()["error"], error, "{case}");
        let challenge = answer.header("www-authenticate");
        assert!(challenge.starts_with(scheme), "{case}: {challenge}");
        if scheme == "DPoP" {
            assert!(challenge.contains("algs=\"ES256\""), "{case}: {challenge}");
        }
        assert!(answer.json().get("sub").is_none(), "{case}");
    }
    // A Bearer token cannot be dressed up as DPoP.
    let (code, verifier) = sign_in_code(&app, OFFLINE, &[]).await;
    let bearer = token(&app, &exchange_form(&spa, &code, &verifier), None)
        .await
        .json();
    let plain = bearer["access_token"].as_str().unwrap();
    let answer = userinfo(format!("DPoP {plain}"), Some(key.proof("GET", &url))).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json()["error"], "invalid_token");
    assert_eq!(
        userinfo(format!("Bearer {plain}"), None).await.status,
        StatusCode::OK
    );
}
