//! SSO sessions end as Auth0's do (`tenant:` in `tenant.yaml`): after `session_lifetime` from
//! sign-in however often the session is used, so an SPA polling `checkSession` cannot keep it
//! alive for ever.

use std::time::{Duration, Instant};

use organizer_local::tenant::users::DEFAULT_PASSWORD;
use reqwest::StatusCode;

use crate::common::browser::{authorize_url, browser, location, sign_in};
use crate::common::oauth::{fragment, get};
use crate::common::{edited_tenant_file, fresh_state, start_stack};

#[tokio::test]
async fn polling_does_not_keep_a_session_past_its_lifetime() {
    // 0.001 h = 3.6 s absolute; the idle timeout (72 h) never comes into play.
    let file = edited_tenant_file(|yaml| {
        yaml.replace("  session_lifetime: 168\n", "  session_lifetime: 0.001\n")
    });
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("session_lifetime: 0.001"),
        "tenant.yaml's tenant: section was edited"
    );
    let stack = start_stack(&file, fresh_state(), 0).await;
    let browser = browser();
    let signed_in_at = Instant::now();
    let first = sign_in(
        &stack,
        &browser,
        &authorize_url(&stack, &[]),
        DEFAULT_PASSWORD,
        "accept",
    )
    .await;
    assert!(first.contains("access_token="), "{first}");
    // An SPA polls every 500 ms: each check uses the session, and it still ends.
    let mut answers = Vec::new();
    loop {
        let response = browser
            .get(authorize_url(&stack, &[("prompt", "none")]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let params = fragment(&location(&response));
        let ok = get(&params, "access_token").is_some();
        answers.push(ok);
        if !ok {
            assert_eq!(get(&params, "error"), Some("login_required"));
            break;
        }
        assert!(
            signed_in_at.elapsed() < Duration::from_secs(20),
            "the session never ended"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        signed_in_at.elapsed() >= Duration::from_millis(3600),
        "ended too early: {:?}",
        signed_in_at.elapsed()
    );
    assert!(answers.iter().filter(|ok| **ok).count() >= 3, "{answers:?}");
    stack.stop().await;
}
