//! The API Gateway stand-in in front of the functions: unknown routes, CORS preflight from the
//! site, hostile requests answered rather than dropped, and the raw query passed on as
//! API Gateway does.

use reqwest::StatusCode;

use crate::common::api::{api_get, machine_token};
use crate::common::stack;

#[tokio::test]
async fn an_unknown_route_is_a_404() {
    let stack = stack().await;
    let response = reqwest::get(format!("{}/elsewhere", stack.api_url))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    stack.stop().await;
}

/// Preflight from the site's origin is answered by the API as API Gateway would.
#[tokio::test]
async fn a_preflight_from_the_site_is_answered() {
    let stack = stack().await;
    let preflight = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/contacts", stack.api_url),
        )
        .header("origin", &stack.site_url)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        stack.site_url.as_str()
    );
    stack.stop().await;
}

#[tokio::test]
async fn hostile_requests_get_a_400_not_a_reset() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stack = stack().await;
    let token = machine_token(&stack, None).await;
    let port = stack.api_url.rsplit(':').next().unwrap().to_string();
    let raw = |request: String| {
        let port = port.clone();
        async move {
            let mut socket = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
                .await
                .unwrap();
            socket.write_all(request.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            socket.read_to_end(&mut answer).await.unwrap();
            String::from_utf8_lossy(&answer).to_string()
        }
    };
    for (name, value) in [
        ("Host", "a b"),
        ("X-Forwarded-Proto", "a b"),
        ("Host", "[::1"),
    ] {
        let answer = raw(format!(
            "GET /contacts HTTP/1.1\r\nHost: localhost\r\n{name}: {value}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        ))
        .await;
        // Host is replaced by API Gateway's own, so the request simply succeeds.
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.1 400"),
            "{name}: {answer:.80}"
        );
    }
    let answer =
        raw("GET /contacts?x=\"<> HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".into())
            .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:.80}");
    // Still serving.
    assert_eq!(api_get(&stack, "/contacts", &token).await.0, StatusCode::OK);
    stack.stop().await;
}

/// A request that announces a body and does not send it is answered (408), not waited for;
/// one that announces more than the limit is refused before any of it arrives (413).
#[tokio::test]
async fn a_body_announced_but_not_sent_is_answered_not_waited_for() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stack = stack().await;
    let token = machine_token(&stack, None).await;
    let port = stack.api_url.rsplit(':').next().unwrap().to_string();
    // API Gateway's limit is 10 MB.
    for (length, expected) in [(20_000, "HTTP/1.1 408"), (11_000_000, "HTTP/1.1 413")] {
        let mut socket = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        let head = format!(
            "POST /contacts HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{}}"
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        // The socket stays open: only the server can end this. The guard turns a hang into
        // a failure instead of a stuck test run.
        let mut answer = vec![0; 512];
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(120),
            socket.read(&mut answer),
        )
        .await
        .expect("no answer: the server is still waiting for the body")
        .unwrap();
        let answer = String::from_utf8_lossy(&answer[..read]).to_string();
        assert!(answer.starts_with(expected), "{length}: {answer:.80}");
    }
    assert_eq!(api_get(&stack, "/contacts", &token).await.0, StatusCode::OK);
    stack.stop().await;
}

/// A literal '+' offset in the calendar window is read as the offset it means.
#[tokio::test]
async fn a_literal_plus_in_the_calendar_window_is_read_as_an_offset() {
    let stack = stack().await;
    let token = machine_token(&stack, None).await;
    let (status, body) = api_get(&stack, "/calendar?from=2026-01-01T00:00:00+01:00", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    stack.stop().await;
}
