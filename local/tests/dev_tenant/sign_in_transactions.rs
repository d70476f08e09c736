//! Sign-ins in progress (in process): a flood of `/authorize` requests, each of which would
//! start one, never voids another browser's open login page; past the cap, new sign-ins are
//! refused (503, `Retry-After`) instead. What one holds is bounded too: an oversized `state` or
//! `nonce` starts none.

use axum::http::StatusCode;

use crate::common::in_process::TenantApp;

/// The `organizer_browser=…` pair a response sets.
fn browser_cookie(answer: &crate::common::in_process::Answer) -> String {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("organizer_browser="))
        .and_then(|c| c.split(';').next())
        .expect("a browser cookie")
        .to_string()
}

#[tokio::test]
async fn a_flood_of_sign_ins_keeps_other_browsers_login_pages() {
    let app = TenantApp::new();
    let victim = app.authorize(&[]).await;
    assert_eq!(victim.status, StatusCode::SEE_OTHER);
    let login = victim.location().unwrap().to_string();
    let cookie = browser_cookie(&victim);

    // 10,000 cookie-less requests: each a new browser, each a new sign-in, until the cap.
    let mut refused = 0;
    for _ in 0..10_000 {
        let answer = app.authorize(&[]).await;
        match answer.status {
            StatusCode::SEE_OTHER => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(answer.headers.contains_key("retry-after"));
                assert!(
                    answer.text().contains("Too many sign-ins"),
                    "{}",
                    answer.text()
                );
                refused += 1;
            }
            other => panic!("{other}: {}", answer.text()),
        }
    }
    assert!(refused > 0, "the cap was never reached");

    // The victim's page is still there, and its form still works.
    let page = app.get_with(&login, &[("cookie", &cookie)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("name=\"csrf\""));
}

#[tokio::test]
async fn one_browser_keeps_only_its_own_recent_sign_ins() {
    let app = TenantApp::new();
    let other = app.authorize(&[]).await;
    let other_login = other.location().unwrap().to_string();
    let other_cookie = browser_cookie(&other);

    let first = app.authorize(&[]).await;
    let cookie = browser_cookie(&first);
    let first_login = first.location().unwrap().to_string();
    let mut last_login = String::new();
    for _ in 0..40 {
        let answer = app
            .get_with(
                &format!("/authorize?{}", authorize_query(&app)),
                &[("cookie", &cookie)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
        last_login = answer.location().unwrap().to_string();
    }
    let gone = app.get_with(&first_login, &[("cookie", &cookie)]).await;
    assert_eq!(gone.status, StatusCode::BAD_REQUEST, "its oldest made room");
    let latest = app.get_with(&last_login, &[("cookie", &cookie)]).await;
    assert_eq!(latest.status, StatusCode::OK);
    let kept = app
        .get_with(&other_login, &[("cookie", &other_cookie)])
        .await;
    assert_eq!(
        kept.status,
        StatusCode::OK,
        "another browser's sign-in stays"
    );
}

fn authorize_query(app: &TenantApp) -> String {
    crate::common::oauth::authorize_query(&app.client_id(crate::common::oauth::SPA), &[])
}

/// Cookie-less clients each sending a 30 KB `state` or `nonce`, forty at once: every one is
/// refused before a sign-in is kept, so the cap on their number also bounds their size.
#[tokio::test]
async fn oversized_sign_ins_are_refused_before_anything_is_kept() {
    let app = std::sync::Arc::new(TenantApp::new());
    let big = "x".repeat(30 * 1024);
    for parameter in ["state", "nonce"] {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let (app, big) = (app.clone(), big.clone());
            tasks.spawn(async move { app.authorize(&[(parameter, &big)]).await });
        }
        while let Some(answer) = tasks.join_next().await {
            let answer = answer.unwrap();
            let refused = match answer.status {
                StatusCode::BAD_REQUEST => answer.text().contains("invalid_request"),
                StatusCode::SEE_OTHER => answer
                    .location()
                    .is_some_and(|l| l.contains("error=invalid_request")),
                _ => false,
            };
            assert!(
                refused,
                "{parameter}: {} {:?}",
                answer.status,
                answer.location()
            );
        }
    }
    assert_eq!(app.tenant.runtime.transactions.len(), 0);
}
