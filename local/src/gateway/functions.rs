//! The functions behind the gateway, and how it invokes them: in this process (the same
//! handler code the Lambda binaries run, called with the typed event), or over HTTP through a
//! Lambda Invoke API such as `cargo lambda watch`'s, with the event as JSON — as Lambda
//! receives it.
//!
//! Whatever goes wrong in a function — an error, a panic, an answer API Gateway cannot read,
//! or its `Timeout` passing — is an [`InvokeError`], which the gateway answers as API Gateway
//! does (500, or 503 when the integration's own timeout passes first); it never takes the
//! gateway down with it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::FutureExt;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::request::LambdaRequest;
use serde_json::Value;

use super::event::function_event_json;

/// What a function answered to an HTTP event, as API Gateway reads it.
#[derive(Debug, Clone)]
pub struct FunctionAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Why an invocation gave no answer API Gateway could use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// The function failed, panicked or answered something unreadable (API Gateway: 500).
    Failed(String),
    /// Nothing within the time allowed.
    TimedOut,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An HTTP function linked into this process: its handler, with its state.
pub trait HttpHandler: Send + Sync {
    fn call(
        &self,
        request: lambda_http::Request,
    ) -> BoxFuture<'_, lambda_http::Response<lambda_http::Body>>;
}

/// An HTTP function in this process that takes the event itself (what `organizer events`
/// writes down instead of running a handler).
pub trait EventHandler: Send + Sync {
    fn call(&self, event: ApiGatewayV2httpRequest) -> BoxFuture<'_, FunctionAnswer>;
}

/// A Lambda authorizer linked into this process.
pub trait AuthorizerHandler: Send + Sync {
    fn call<'a>(&'a self, event: &'a Value) -> BoxFuture<'a, Value>;
}

/// Where a function runs.
#[derive(Clone)]
pub enum Target {
    /// An HTTP API function in this process.
    Http(Arc<dyn HttpHandler>),
    /// An HTTP API function in this process, given the typed event.
    Event(Arc<dyn EventHandler>),
    /// A Lambda authorizer in this process.
    Authorizer(Arc<dyn AuthorizerHandler>),
    /// Behind a Lambda Invoke API (`POST {base}/2015-03-31/functions/{name}/invocations`).
    Remote(Remote),
}

impl Target {
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Http(_) | Target::Event(_) => "an HTTP API function",
            Target::Authorizer(_) => "a Lambda authorizer",
            Target::Remote(_) => "a function behind an invoke endpoint",
        }
    }

    /// Invokes an integration with its event.
    pub async fn invoke_http(
        &self,
        event: ApiGatewayV2httpRequest,
        timeout: Duration,
    ) -> Result<FunctionAnswer, InvokeError> {
        match self {
            Target::Http(handler) => {
                let handler = handler.clone();
                let run = async move {
                    // lambda_http panics on events it cannot turn into a request: caught below
                    // like a panic of the handler.
                    let request = lambda_http::Request::from(LambdaRequest::ApiGatewayV2(event));
                    handler.call(request).await
                };
                let response = within(timeout, AssertUnwindSafe(run).catch_unwind())
                    .await?
                    .map_err(|_| InvokeError::Failed("the function panicked".into()))?;
                let (parts, body) = response.into_parts();
                let body = match body {
                    lambda_http::Body::Text(text) => text.into_bytes(),
                    lambda_http::Body::Binary(bytes) => bytes,
                    _ => Vec::new(),
                };
                Ok(FunctionAnswer {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                })
            }
            Target::Event(handler) => within(
                timeout,
                AssertUnwindSafe(handler.call(event)).catch_unwind(),
            )
            .await?
            .map_err(|_| InvokeError::Failed("the function panicked".into())),
            Target::Remote(remote) => {
                let json = function_event_json(&event);
                let answer = within(timeout, remote.invoke(&json)).await??;
                http_answer(&answer)
            }
            Target::Authorizer(_) => Err(InvokeError::Failed(
                "the integration's function is a Lambda authorizer".into(),
            )),
        }
    }

    /// Invokes a Lambda authorizer with its event; its raw answer.
    pub async fn invoke_authorizer(
        &self,
        event: &Value,
        timeout: Duration,
    ) -> Result<Value, InvokeError> {
        match self {
            Target::Authorizer(handler) => within(
                timeout,
                AssertUnwindSafe(handler.call(event)).catch_unwind(),
            )
            .await?
            .map_err(|_| InvokeError::Failed("the authorizer panicked".into())),
            Target::Remote(remote) => {
                let answer = within(timeout, remote.invoke(event)).await??;
                serde_json::from_slice(&answer).map_err(|e| {
                    InvokeError::Failed(format!("the authorizer's answer is not JSON: {e}"))
                })
            }
            Target::Http(_) | Target::Event(_) => Err(InvokeError::Failed(
                "the authorizer's function is an HTTP API function".into(),
            )),
        }
    }
}

async fn within<T>(timeout: Duration, work: impl Future<Output = T>) -> Result<T, InvokeError> {
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| InvokeError::TimedOut)
}

/// The most a function may answer (Lambda's synchronous response limit).
const MAX_ANSWER: usize = 6 * 1024 * 1024;

/// A function behind a Lambda Invoke API.
#[derive(Clone)]
pub struct Remote {
    pub url: String,
    client: reqwest::Client,
}

impl Remote {
    /// `base` is the invoke endpoint (`http://127.0.0.1:9001`), `name` the function's name
    /// there (for `cargo lambda watch`, the binary's).
    pub fn new(base: &str, name: &str) -> Self {
        Self {
            url: format!(
                "{}/2015-03-31/functions/{name}/invocations",
                base.trim_end_matches('/')
            ),
            client: reqwest::Client::new(),
        }
    }

    async fn invoke(&self, event: &Value) -> Result<Vec<u8>, InvokeError> {
        let response = self
            .client
            .post(&self.url)
            .json(event)
            .send()
            .await
            .map_err(|e| InvokeError::Failed(format!("invoking {}: {e}", self.url)))?;
        let status = response.status();
        // Lambda answers a function's error with 200 and X-Amz-Function-Error; cargo lambda
        // watch with a 500.
        let function_error = response.headers().contains_key("x-amz-function-error");
        let mut body = Vec::new();
        let mut response = response;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| InvokeError::Failed(format!("reading {}: {e}", self.url)))?
        {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(InvokeError::Failed(format!(
                    "the answer is over {MAX_ANSWER} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() || function_error {
            return Err(InvokeError::Failed(format!(
                "{} answered {status}: {}",
                self.url,
                String::from_utf8_lossy(&body[..body.len().min(300)])
            )));
        }
        Ok(body)
    }
}

/// A function's JSON answer read as API Gateway reads a payload 2.0 response: with a
/// `statusCode`, its status, headers, cookies and body; valid JSON without one, a 200 whose
/// body is that JSON; anything else, a failure.
pub fn http_answer(raw: &[u8]) -> Result<FunctionAnswer, InvokeError> {
    let malformed =
        |why: &str| InvokeError::Failed(format!("the function's answer is malformed: {why}"));
    let value: Value = serde_json::from_slice(raw).map_err(|_| malformed("not JSON"))?;
    let Some(map) = value.as_object().filter(|m| m.contains_key("statusCode")) else {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return Ok(FunctionAnswer {
            status: StatusCode::OK,
            headers,
            body: raw.to_vec(),
        });
    };
    let status = map["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| malformed("statusCode is not an HTTP status"))?;
    let mut headers = HeaderMap::new();
    if let Some(given) = map.get("headers").filter(|h| !h.is_null()) {
        let given = given
            .as_object()
            .ok_or_else(|| malformed("headers is not a mapping"))?;
        for (name, value) in given {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(malformed("a header value is not a string")),
            };
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| malformed("a header name is invalid"))?;
            let value =
                HeaderValue::from_str(&text).map_err(|_| malformed("a header value is invalid"))?;
            headers.insert(name, value);
        }
    }
    if let Some(cookies) = map.get("cookies").filter(|c| !c.is_null()) {
        let cookies = cookies
            .as_array()
            .ok_or_else(|| malformed("cookies is not a list"))?;
        for cookie in cookies {
            let value = cookie
                .as_str()
                .and_then(|c| HeaderValue::from_str(c).ok())
                .ok_or_else(|| malformed("a cookie is not a string"))?;
            headers.append(http::header::SET_COOKIE, value);
        }
    }
    let base64 = map
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = match map.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if base64 => STANDARD
            .decode(text)
            .map_err(|_| malformed("the body is not base64"))?,
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(_) => return Err(malformed("the body is not a string")),
    };
    Ok(FunctionAnswer {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_api_gateway_reads_them() {
        let a = http_answer(br#"{"statusCode":201,"headers":{"etag":"\"1\""},"cookies":["a=1"],"body":"aGk=","isBase64Encoded":true}"#).unwrap();
        assert_eq!(a.status, StatusCode::CREATED);
        assert_eq!(a.headers["etag"], "\"1\"");
        assert_eq!(a.headers["set-cookie"], "a=1");
        assert_eq!(a.body, b"hi");
        let plain = http_answer(br#"{"hello":"world"}"#).unwrap();
        assert_eq!(plain.status, StatusCode::OK);
        assert_eq!(plain.body, br#"{"hello":"world"}"#);
        for bad in [
            &b"not json"[..],
            br#"{"statusCode":"200"}"#,
            br#"{"statusCode":99999}"#,
            br#"{"statusCode":200,"body":{}}"#,
        ] {
            assert!(
                matches!(http_answer(bad), Err(InvokeError::Failed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
