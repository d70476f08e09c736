//! The local servers (the tenant, the API and the sites) over HTTP/1.1: axum's router on
//! hyper's connection, with what `axum::serve` lacks, a limit on how long a client may take to
//! send a request's header block. Without it, a connection that sent half a header block (or
//! nothing) was held for ever, and so was a graceful stop, which waited for it.
//!
//! Graceful shutdown and the peer's address (`ConnectInfo<SocketAddr>`) work as with
//! `axum::serve` and `into_make_service_with_connect_info`. HTTP/1.1 only: what browsers,
//! reqwest and curl speak to an `http://` address (HTTP/2 in clear needs prior knowledge, and
//! waiting for its preface would escape the timeout).

use std::io;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// How long a client may take to send a request's header block. It runs whenever the server
/// waits for one, so on a kept-alive connection it also ends one left idle that long.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// How a server runs.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Defaults to [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// Whether handlers get the peer's address as `ConnectInfo<SocketAddr>` (the tenant's
    /// login throttling). Defaults to false, so that the API's requests do not pay for it.
    pub peer_address: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: HEADER_READ_TIMEOUT,
            peer_address: false,
        }
    }
}

/// Serves `app` on `listener` until `stop` turns true (or its sender is dropped); then stops
/// accepting, lets requests in progress finish, and ends.
pub fn spawn(
    listener: TcpListener,
    app: Router,
    stop: watch::Receiver<bool>,
    options: ServeOptions,
) -> JoinHandle<()> {
    tokio::spawn(run(listener, app, stop, options))
}

async fn run(
    listener: TcpListener,
    app: Router,
    mut stop: watch::Receiver<bool>,
    options: ServeOptions,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    let connections = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                accept_failed(error).await;
                continue;
            }
        };
        let peer_address = options.peer_address;
        let app = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                if peer_address {
                    request.extensions_mut().insert(ConnectInfo(peer));
                }
                request
            });
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            // A header block not sent in time ends here, as do clients that go away.
            if let Err(error) = connection.await {
                tracing::debug!(event = "connection_ended", %error, %peer, "connection ended");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
}

/// As `axum::serve` does: a connection that failed before it was accepted is the client's
/// business; anything else (too many open files) is logged and retried after a pause.
async fn accept_failed(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(event = "accept_failed", %error, "accepting a connection failed; trying again in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// `app` served on a free port with a short header timeout, the peer's address given.
    async fn serve(app: Router) -> (SocketAddr, watch::Sender<bool>, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stop_rx) = watch::channel(false);
        let options = ServeOptions {
            header_read_timeout: Duration::from_millis(300),
            peer_address: true,
        };
        (address, stop, spawn(listener, app, stop_rx, options))
    }

    /// A server whose one route answers the peer's address.
    async fn server() -> (SocketAddr, watch::Sender<bool>, JoinHandle<()>) {
        serve(Router::new().route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        ))
        .await
    }

    /// Whether the server closes `socket`, reading whatever it sends until then. The guard only
    /// turns a connection held for ever into a failure instead of a stuck test run.
    async fn closed_by_server(socket: &mut TcpStream) -> bool {
        let mut buffer = [0u8; 1024];
        let until_closed = async {
            while let Ok(read) = socket.read(&mut buffer).await {
                if read == 0 {
                    break;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(30), until_closed)
            .await
            .is_ok()
    }

    /// Opens a connection that sends an unfinished header block (or, for `silent`, nothing).
    async fn stalled(address: SocketAddr, silent: bool) -> TcpStream {
        let mut socket = TcpStream::connect(address).await.unwrap();
        if !silent {
            socket
                .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
                .await
                .unwrap();
        }
        socket
    }

    /// Forty connections at once that never finish their header block (half of them send
    /// nothing at all): the server closes every one, and answers complete requests meanwhile,
    /// with the peer's address.
    #[tokio::test]
    async fn an_unfinished_header_block_does_not_hold_its_connection() {
        let (address, stop, task) = server().await;
        let mut held = tokio::task::JoinSet::new();
        for i in 0..40 {
            held.spawn(async move {
                let mut socket = stalled(address, i % 2 == 1).await;
                closed_by_server(&mut socket).await
            });
        }
        let answer = reqwest::get(format!("http://{address}/")).await.unwrap();
        assert_eq!(answer.status(), reqwest::StatusCode::OK);
        assert!(answer.text().await.unwrap().starts_with("127.0.0.1:"));
        while let Some(closed) = held.join_next().await {
            assert!(
                closed.unwrap(),
                "a connection with an unfinished header block was held open"
            );
        }
        let _ = stop.send(true);
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("the server stops")
            .unwrap();
    }

    /// Stopping does not wait for a client that never finishes its header block.
    #[tokio::test]
    async fn stopping_does_not_wait_for_an_unfinished_header_block() {
        let (address, stop, task) = server().await;
        let _socket = stalled(address, false).await;
        // Let the server accept it before it stops accepting.
        let answer = reqwest::get(format!("http://{address}/")).await.unwrap();
        assert_eq!(answer.status(), reqwest::StatusCode::OK);
        let _ = stop.send(true);
        let stopped = tokio::time::timeout(Duration::from_secs(30), task).await;
        assert!(
            stopped.is_ok(),
            "the server waited for the unfinished request to stop"
        );
    }

    /// Stopping lets a request in progress finish, as `axum::serve`'s graceful shutdown did.
    #[tokio::test]
    async fn stopping_lets_a_request_in_progress_finish() {
        use std::sync::Arc;
        use tokio::sync::Notify;
        let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let handler = {
            let (entered, release) = (entered.clone(), release.clone());
            move || async move {
                entered.notify_one();
                release.notified().await;
                "done"
            }
        };
        let (address, stop, task) = serve(Router::new().route("/slow", get(handler))).await;
        let request = tokio::spawn(reqwest::get(format!("http://{address}/slow")));
        entered.notified().await;
        let _ = stop.send(true);
        release.notify_one();
        let answer = request.await.unwrap().unwrap();
        assert_eq!(answer.text().await.unwrap(), "done");
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("the server stops")
            .unwrap();
    }
}
