//! Refresh tokens as Auth0 issues them to a browser app (code + PKCE, `offline_access`):
//! rotation on every exchange, reuse detection that revokes the whole family, narrower but
//! never wider scopes, binding to the client, lifetimes from the client's `refresh_token:`
//! settings, and `POST /oauth/revoke`. Exchanged from the SPA's origin, as auth0-spa-js does.

use std::collections::HashSet;
use std::sync::Arc;

use organizer_local::RunningStack;
use organizer_local::tenant::users::DEFAULT_PASSWORD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::api::api_get;
use crate::common::browser::{authorize_url, browser, exchange, sign_in, spa};
use crate::common::oauth::{SPA_ORIGIN, claims, code_flow, get, pkce, query_params};
use crate::common::{edited_tenant_file, fresh_state, stack, start_stack};

const OFFLINE: &str = "openid profile offline_access read:contacts read:calendar";

/// Signs the demo user in with code + PKCE asking for `scope`; the code and its verifier.
async fn code_and_verifier(stack: &RunningStack, scope: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut extra = code_flow(&challenge).to_vec();
    extra.push(("scope", scope));
    let url = authorize_url(stack, &extra);
    let back = sign_in(stack, &browser(), &url, DEFAULT_PASSWORD, "accept").await;
    (
        get(&query_params(&back), "code").unwrap().to_string(),
        verifier,
    )
}

/// Signs the demo user in with code + PKCE asking for `scope`; the token response.
async fn code_tokens(stack: &RunningStack, scope: &str) -> Value {
    let (code, verifier) = code_and_verifier(stack, scope).await;
    let (status, body) = exchange(stack, &code, Some(&verifier)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A sign-in's refresh token (`offline_access` and both read scopes).
async fn offline_refresh_token(stack: &RunningStack) -> String {
    code_tokens(stack, OFFLINE).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `grant_type=refresh_token` from the SPA's origin, as a form (or JSON); status and body.
async fn refresh(
    stack: &RunningStack,
    token: &str,
    extra: &[(&str, &str)],
    as_json: bool,
) -> (StatusCode, Value) {
    let client_id = spa(stack);
    let mut params = vec![
        ("grant_type", "refresh_token"),
        ("client_id", client_id.as_str()),
        ("refresh_token", token),
    ];
    params.extend_from_slice(extra);
    let request = reqwest::Client::new()
        .post(format!("{}/oauth/token", stack.tenant_url))
        .header("origin", SPA_ORIGIN);
    let request = if as_json {
        let body: serde_json::Map<String, Value> = params
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        request.json(&body)
    } else {
        request.form(&params)
    };
    let response = request.send().await.unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        SPA_ORIGIN
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn assert_invalid_grant(answer: &(StatusCode, Value), case: &str) {
    assert_eq!(
        (answer.0, answer.1["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{case}: {}",
        answer.1
    );
    assert_eq!(
        answer.1["error_description"], "Unknown or invalid refresh token.",
        "{case}"
    );
}

#[tokio::test]
async fn offline_access_gives_a_refresh_token_that_rotates() {
    let stack = stack().await;
    let first = code_tokens(&stack, OFFLINE).await;
    let rt1 = first["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_string();
    assert!(first["scope"].as_str().unwrap().contains("offline_access"));
    let (status, second) = refresh(&stack, &rt1, &[], false).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let rt2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2, "every use answers a new refresh token");
    assert_ne!(first["access_token"], second["access_token"]);
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["scope"], first["scope"]);
    // openid was granted: a new ID token too, for the same user and client.
    let id_token = claims(second["id_token"].as_str().expect("an id token"));
    assert_eq!(id_token["aud"], spa(&stack).as_str());
    // The new access token reads the API.
    let (status, _) = api_get(
        &stack,
        "/contacts",
        second["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // JSON bodies work as forms do (auth0-spa-js with useFormData: false).
    let (status, third) = refresh(&stack, &rt2, &[], true).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    stack.stop().await;
}

/// A used refresh token presented again is taken as theft: invalid_grant, and the whole
/// family is revoked — the newest token stops working too, until the user signs in again.
#[tokio::test]
async fn a_reused_refresh_token_revokes_its_family() {
    let stack = stack().await;
    let rt1 = offline_refresh_token(&stack).await;
    let (_, second) = refresh(&stack, &rt1, &[], false).await;
    let rt2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_invalid_grant(
        &refresh(&stack, &rt1, &[], false).await,
        "the used token again",
    );
    assert_invalid_grant(
        &refresh(&stack, &rt2, &[], false).await,
        "its successor after reuse",
    );
    // Another sign-in is another family, unaffected.
    let other = offline_refresh_token(&stack).await;
    assert_eq!(refresh(&stack, &other, &[], false).await.0, StatusCode::OK);
    stack.stop().await;
}

/// A code used twice was intercepted (RFC 6749 4.1.2: the server "SHOULD revoke all tokens
/// previously issued based on that authorization code"): the replay is refused and the refresh
/// token the first exchange answered stops working. The access token cannot be recalled (a
/// signed JWT); it ends with its own lifetime.
#[tokio::test]
async fn a_replayed_code_revokes_the_refresh_token_it_gave() {
    let stack = stack().await;
    let (code, verifier) = code_and_verifier(&stack, OFFLINE).await;
    let (status, first) = exchange(&stack, &code, Some(&verifier)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let rt = first["refresh_token"].as_str().unwrap().to_string();
    let (status, replay) = exchange(&stack, &code, Some(&verifier)).await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{replay}"
    );
    assert_invalid_grant(
        &refresh(&stack, &rt, &[], false).await,
        "the refresh token of a replayed code",
    );
    // Another sign-in of the same user and application is not touched.
    let other = offline_refresh_token(&stack).await;
    assert_eq!(refresh(&stack, &other, &[], false).await.0, StatusCode::OK);
    stack.stop().await;
}

/// Twenty exchanges of one code sent at once: one answers; the nineteen others are replays,
/// and they revoke the refresh token the one got, whichever came first.
#[tokio::test]
async fn concurrent_exchanges_of_one_code_answer_once_and_revoke_it() {
    let stack = std::sync::Arc::new(stack().await);
    let (code, verifier) = code_and_verifier(&stack, OFFLINE).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (stack, code, verifier) = (stack.clone(), code.clone(), verifier.clone());
            tokio::spawn(async move { exchange(&stack, &code, Some(&verifier)).await })
        })
        .collect();
    let mut answered = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            StatusCode::OK => answered.push(body),
            StatusCode::BAD_REQUEST => assert_eq!(body["error"], "invalid_grant", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(answered.len(), 1, "{answered:?}");
    let rt = answered[0]["refresh_token"].as_str().unwrap();
    assert_invalid_grant(
        &refresh(&stack, rt, &[], false).await,
        "the refresh token of a code exchanged twenty times at once",
    );
}

/// Twenty exchanges of one token sent at once: one answers, nineteen are reuse.
#[tokio::test]
async fn concurrent_exchanges_of_one_token_are_one_exchange() {
    let stack = stack().await;
    let rt = offline_refresh_token(&stack).await;
    let stack = std::sync::Arc::new(stack);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (stack, rt) = (stack.clone(), rt.clone());
            tokio::spawn(async move { refresh(&stack, &rt, &[], false).await.0 })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::FORBIDDEN => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn a_narrower_scope_may_be_asked_for_a_wider_one_never() {
    let stack = stack().await;
    let rt = offline_refresh_token(&stack).await;
    let (status, wider) = refresh(
        &stack,
        &rt,
        &[("scope", "openid read:contacts write:contacts")],
        false,
    )
    .await;
    assert_eq!(
        (status, wider["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_scope"))
    );
    // The refusal did not spend the token.
    let (status, narrower) = refresh(&stack, &rt, &[("scope", "read:contacts")], false).await;
    assert_eq!(status, StatusCode::OK, "{narrower}");
    assert_eq!(narrower["scope"], "read:contacts");
    assert!(narrower.get("id_token").is_none(), "no openid, no ID token");
    let token = narrower["access_token"].as_str().unwrap();
    assert_eq!(api_get(&stack, "/contacts", token).await.0, StatusCode::OK);
    assert_eq!(
        api_get(&stack, "/calendar", token).await.0,
        StatusCode::FORBIDDEN
    );
    stack.stop().await;
}

#[tokio::test]
async fn refresh_tokens_are_bound_to_their_client_and_revocable() {
    let stack = stack().await;
    let rt = offline_refresh_token(&stack).await;
    // The second SPA (another public client) cannot use it.
    let other = stack
        .tenant
        .client_by_name("Organizer SPA (second app)")
        .unwrap()
        .id
        .clone();
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", stack.tenant_url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", other.as_str()),
            ("refresh_token", rt.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Revocation: 200, and the family is gone; an unknown token is 200 too.
    let client_id = spa(&stack);
    let revoke = |token: String| {
        let (tenant, client_id) = (stack.tenant_url.clone(), client_id.clone());
        async move {
            reqwest::Client::new()
                .post(format!("{tenant}/oauth/revoke"))
                .header("origin", SPA_ORIGIN)
                .form(&[("client_id", client_id.as_str()), ("token", token.as_str())])
                .send()
                .await
                .unwrap()
        }
    };
    let (_, next) = refresh(&stack, &rt, &[], false).await;
    let rt2 = next["refresh_token"].as_str().unwrap().to_string();
    let answer = revoke(rt2.clone()).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["access-control-allow-origin"], SPA_ORIGIN);
    assert_invalid_grant(&refresh(&stack, &rt2, &[], false).await, "after revocation");
    assert_eq!(revoke("not-a-token".into()).await.status(), StatusCode::OK);
    let missing = reqwest::Client::new()
        .post(format!("{}/oauth/revoke", stack.tenant_url))
        .form(&[("client_id", client_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    stack.stop().await;
}

/// No refresh token where Auth0 gives none: the implicit grant, or an API that does not allow
/// offline access.
#[tokio::test]
async fn offline_access_only_when_the_api_and_the_flow_allow_it() {
    let stack = stack().await;
    let url = authorize_url(&stack, &[("scope", OFFLINE)]);
    let back = sign_in(&stack, &browser(), &url, DEFAULT_PASSWORD, "accept").await;
    let fragment = crate::common::oauth::fragment(&back);
    assert!(get(&fragment, "refresh_token").is_none());
    assert!(!get(&fragment, "scope").unwrap().contains("offline_access"));
    stack.stop().await;

    let file = edited_tenant_file(|yaml| {
        yaml.replace("allow_offline_access: true", "allow_offline_access: false")
    });
    let stack = start_stack(&file, fresh_state(), 0).await;
    let body = code_tokens(&stack, OFFLINE).await;
    assert!(body.get("refresh_token").is_none(), "{body}");
    stack.stop().await;
}

/// The client's `refresh_token:` settings: a token unused for `idle_token_lifetime` seconds
/// is refused, and within `leeway` the previous token may be exchanged again.
#[tokio::test]
async fn lifetimes_and_leeway_come_from_the_client_settings() {
    let file = edited_tenant_file(|yaml| {
        let edited = yaml
            .replacen("      leeway: 0\n", "      leeway: 30\n", 1)
            .replacen(
                "      idle_token_lifetime: 1296000\n",
                "      idle_token_lifetime: 2\n",
                1,
            );
        assert_ne!(edited, yaml);
        edited
    });
    let stack = start_stack(&file, fresh_state(), 0).await;
    let rt1 = offline_refresh_token(&stack).await;
    let (status, _) = refresh(&stack, &rt1, &[], false).await;
    assert_eq!(status, StatusCode::OK);
    // Within the leeway: the previous token again is not reuse.
    let (status, again) = refresh(&stack, &rt1, &[], false).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let rt3 = again["refresh_token"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert_invalid_grant(&refresh(&stack, &rt3, &[], false).await, "idle too long");
    stack.stop().await;
}

/// The repository's stack with the SPA's `refresh_token.leeway` set to `seconds`.
async fn stack_with_leeway(seconds: u64) -> RunningStack {
    let file = edited_tenant_file(|yaml| {
        let edited = yaml.replacen(
            "      leeway: 0\n",
            &format!("      leeway: {seconds}\n"),
            1,
        );
        assert_ne!(edited, yaml);
        edited
    });
    start_stack(&file, fresh_state(), 0).await
}

fn refresh_token_of(body: &Value) -> String {
    body["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh token: {body}"))
        .to_string()
}

/// Two tabs holding one refresh token refresh at once, inside the client's leeway (Auth0's
/// rotation overlap period): both get a token and both tokens go on working. The token they
/// shared, once tokens after it have been used, is older than the previous one: reuse, leeway
/// or not, and the whole family is revoked.
#[tokio::test]
async fn two_tabs_refreshing_at_once_inside_the_leeway_both_go_on() {
    let stack = stack_with_leeway(30).await;
    let shared = offline_refresh_token(&stack).await;
    let (a, b) = tokio::join!(
        refresh(&stack, &shared, &[], false),
        refresh(&stack, &shared, &[], false)
    );
    assert_eq!(a.0, StatusCode::OK, "tab a: {}", a.1);
    assert_eq!(b.0, StatusCode::OK, "tab b: {}", b.1);
    let mut tabs = [refresh_token_of(&a.1), refresh_token_of(&b.1)];
    assert_ne!(tabs[0], tabs[1]);
    for round in 0..2 {
        for (tab, token) in tabs.iter_mut().enumerate() {
            let (status, body) = refresh(&stack, token, &[], false).await;
            assert_eq!(status, StatusCode::OK, "round {round}, tab {tab}: {body}");
            *token = refresh_token_of(&body);
        }
    }
    assert_invalid_grant(
        &refresh(&stack, &shared, &[], false).await,
        "a token older than the previous one",
    );
    for token in &tabs {
        assert_invalid_grant(
            &refresh(&stack, token, &[], false).await,
            "a tab's token after reuse",
        );
    }
    stack.stop().await;
}

/// Forty exchanges of one token at once, inside the leeway: all answer, with forty different
/// tokens that all work; and they are still one family, which a reuse revokes whole.
#[tokio::test]
async fn forty_exchanges_of_one_token_inside_the_leeway_answer_forty_working_tokens() {
    let stack = Arc::new(stack_with_leeway(30).await);
    let shared = offline_refresh_token(&stack).await;
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (stack, shared) = (stack.clone(), shared.clone());
            tokio::spawn(async move { refresh(&stack, &shared, &[], false).await })
        })
        .collect();
    let mut answered = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        answered.push(refresh_token_of(&body));
    }
    assert_eq!(answered.iter().collect::<HashSet<_>>().len(), 40);
    let mut next = Vec::new();
    for (i, token) in answered.iter().enumerate() {
        let (status, body) = refresh(&stack, token, &[], false).await;
        assert_eq!(status, StatusCode::OK, "token {i}: {body}");
        next.push(refresh_token_of(&body));
    }
    assert_invalid_grant(
        &refresh(&stack, &shared, &[], false).await,
        "the shared token once its successors were used",
    );
    for token in &next {
        assert_invalid_grant(&refresh(&stack, token, &[], false).await, "after reuse");
    }
}

/// Outside the leeway the previous token again is reuse, and revokes the family, although the
/// tenant keeps used tokens only for the leeway.
#[tokio::test]
async fn outside_the_leeway_the_previous_token_again_revokes_the_family() {
    let stack = stack_with_leeway(1).await;
    let first = offline_refresh_token(&stack).await;
    let (status, body) = refresh(&stack, &first, &[], false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = refresh_token_of(&body);
    // Past the 1 s leeway (only ever later: the test cannot pass early).
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_invalid_grant(
        &refresh(&stack, &first, &[], false).await,
        "the previous token after the leeway",
    );
    assert_invalid_grant(
        &refresh(&stack, &second, &[], false).await,
        "its successor after reuse",
    );
    stack.stop().await;
}
