//! A proxy in front of DynamoDB Local that misbehaves on purpose: throttling errors, 500s, slow
//! answers, and connections dropped after DynamoDB Local committed the write (the answer lost
//! on the way back). Each fault is armed for a number of requests to one DynamoDB operation
//! (`X-Amz-Target`, e.g. `TransactWriteItems`); every request is counted, so a test can say
//! how many attempts the SDK made without timing anything.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// What the proxy does to a request.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// 400 `ThrottlingException`, as DynamoDB answers when a table or account is throttled.
    Throttle,
    /// 500 `InternalServerError`.
    ServerError,
    /// Forwarded after this long.
    Slow(Duration),
    /// Forwarded; DynamoDB Local's answer is thrown away and the connection closed.
    DropAnswer,
}

struct Armed {
    operation: String,
    fault: Fault,
    remaining: usize,
}

#[derive(Default)]
struct State {
    armed: Vec<Armed>,
    /// Requests seen, by operation.
    seen: HashMap<String, usize>,
}

/// The running proxy: its endpoint, and the faults to inject.
#[derive(Clone)]
pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// Starts a proxy to DynamoDB Local at `upstream` (`http://127.0.0.1:8000`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let client = reqwest::Client::new();
        let upstream = upstream.trim_end_matches('/').to_string();
        let serving = state.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (state, client, upstream) = (serving.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        handle(request, state.clone(), client.clone(), upstream.clone())
                    });
                    // A dropped answer ends the connection with an error: expected.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Self {
            endpoint: format!("http://{address}"),
            state,
        }
    }

    /// Applies `fault` to the next `times` requests for `operation` (`GetItem`, `Query`,
    /// `UpdateItem`, `TransactWriteItems`, …).
    pub fn arm(&self, operation: &str, fault: Fault, times: usize) {
        self.state.lock().unwrap().armed.push(Armed {
            operation: operation.to_string(),
            fault,
            remaining: times,
        });
    }

    /// Forgets every armed fault and every count.
    pub fn reset(&self) {
        let mut state = self.state.lock().unwrap();
        state.armed.clear();
        state.seen.clear();
    }

    /// Requests seen for `operation` since the last reset.
    pub fn seen(&self, operation: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .seen
            .get(operation)
            .copied()
            .unwrap_or(0)
    }
}

fn operation_of(request: &Request<Incoming>) -> String {
    request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("")
        .to_string()
}

fn dynamodb_error(status: u16, kind: &str, message: &str) -> Response<Body> {
    let body =
        format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"{message}"}}"#);
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header(
            "x-amzn-requestid",
            "FAULTPROXY0000000000000000000000000000000000000000",
        )
        .body(Body::from(body))
        .unwrap()
}

async fn handle(
    request: Request<Incoming>,
    state: Arc<Mutex<State>>,
    client: reqwest::Client,
    upstream: String,
) -> Result<Response<Body>, std::io::Error> {
    let operation = operation_of(&request);
    let fault = {
        let mut state = state.lock().unwrap();
        *state.seen.entry(operation.clone()).or_insert(0) += 1;
        let armed = state
            .armed
            .iter_mut()
            .find(|a| a.operation == operation && a.remaining > 0);
        armed.map(|a| {
            a.remaining -= 1;
            a.fault
        })
    };
    match fault {
        Some(Fault::Throttle) => {
            return Ok(dynamodb_error(
                400,
                "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            ));
        }
        Some(Fault::ServerError) => {
            return Ok(dynamodb_error(
                500,
                "InternalServerError",
                "Internal server error",
            ));
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::DropAnswer) | None => {}
    }
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(Body::new(body), 1 << 20)
        .await
        .unwrap_or_default();
    let mut forward = client.post(format!("{upstream}{}", parts.uri.path()));
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forward = forward.header(name.as_str(), value.as_bytes());
        }
    }
    let answer = forward
        .body(body)
        .send()
        .await
        .map_err(std::io::Error::other)?;
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.map_err(std::io::Error::other)?;
    if matches!(fault, Some(Fault::DropAnswer)) {
        // DynamoDB Local has done the work; the caller never hears of it.
        return Err(std::io::Error::other("answer dropped by the fault proxy"));
    }
    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    Ok(response.body(Body::from(bytes)).unwrap())
}
