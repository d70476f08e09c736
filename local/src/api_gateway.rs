//! The local stand-in for API Gateway's HTTP API: each request becomes the payload 2.0 event
//! API Gateway would send, and goes in-process to the same handler the Lambda function runs.
//!
//! The event is built as `lambda_http`'s typed payload 2.0 event and turned into the handler's
//! `Request` by `lambda_http`'s own conversion, the one its runtime applies to each event it
//! receives: the same request, `RequestContext` and extensions as in Lambda, without writing
//! the event as a JSON string and parsing it back for every request (about a fifth of the CPU
//! of a cached-token request, measured: README, "Benchmark").

use std::sync::Arc;

use axum::body::{Body, HttpBody, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use calendar::CalendarApi;
use contacts::ContactsApi;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription,
};
use lambda_http::request::LambdaRequest;
use organizer_shared::routes::{ROUTES, Service, service_named};
use serde_json::json;

/// Payloads above this are refused, as API Gateway refuses bodies over its limit.
const MAX_BODY: usize = 1024 * 1024;

/// A client that has not sent its whole body by then gets a 408 and the connection is free:
/// a request announcing more bytes than it sends is not waited for forever.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub struct LocalApi {
    pub contacts: ContactsApi,
    pub calendar: CalendarApi,
}

/// The headers API Gateway passes on: names lower-cased, repeated headers joined with commas,
/// and `host`, `x-forwarded-proto` and `x-forwarded-for` set by API Gateway itself (a client
/// cannot choose them, and `lambda_http` panics on a malformed host). `None` when a joined
/// value is not a valid header value.
fn event_headers(headers: &HeaderMap) -> Option<HeaderMap> {
    let mut out = HeaderMap::with_capacity(headers.keys_len() + 3);
    for name in headers.keys() {
        let mut values = headers.get_all(name).iter();
        let Some(first) = values.next() else {
            continue;
        };
        let second = values.next();
        // The usual case, one value in UTF-8: passed on as it is (the event's JSON would carry
        // the same string).
        if second.is_none() && std::str::from_utf8(first.as_bytes()).is_ok() {
            out.insert(name.clone(), first.clone());
            continue;
        }
        let mut joined = String::from_utf8_lossy(first.as_bytes()).into_owned();
        for value in second.into_iter().chain(values) {
            joined.push(',');
            joined.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
        out.insert(
            name.clone(),
            HeaderValue::from_bytes(joined.as_bytes()).ok()?,
        );
    }
    let host = out
        .get(http::header::HOST)
        .filter(|h| {
            h.to_str()
                .is_ok_and(|h| http::uri::Authority::try_from(h).is_ok())
        })
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("localhost"));
    out.insert(http::header::HOST, host);
    out.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static("http"),
    );
    out.insert(
        HeaderName::from_static("x-forwarded-for"),
        HeaderValue::from_static("127.0.0.1"),
    );
    Some(out)
}

/// A request id unique to this process's requests: a random prefix drawn once and a counter
/// (a random id per request cost a getrandom system call each: about 1 % of the stack's CPU).
fn request_id() -> String {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix:016x}-{n:016x}")
}

/// The event API Gateway would send for this request; `None` for headers it would refuse.
pub fn event_for(
    method: &http::Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<ApiGatewayV2httpRequest> {
    let headers = event_headers(headers)?;
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let route_key = ROUTES
        .iter()
        .find(|r| r.method == method.as_str() && r.match_path(&segments).is_some())
        .map_or_else(|| "$default".to_string(), |r| r.key());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let user_agent = headers
        .get(http::header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();

    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = method.clone();
    http.path = Some(path.to_string());
    http.protocol = Some("HTTP/1.1".into());
    http.source_ip = Some("127.0.0.1".into());
    http.user_agent = Some(user_agent);
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.account_id = Some("000000000000".into());
    context.apiid = Some("local".into());
    context.domain_name = Some("localhost".into());
    context.domain_prefix = Some("localhost".into());
    context.http = http;
    context.request_id = Some(request_id());
    context.route_key = Some(route_key.clone());
    context.stage = Some("$default".into());
    context.time_epoch = i64::try_from(now).unwrap_or(i64::MAX);

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(route_key);
    event.raw_path = Some(path.to_string());
    event.raw_query_string = Some(query.to_string());
    event.headers = headers;
    event.request_context = context;
    if !body.is_empty() {
        event.body = Some(STANDARD.encode(body));
        event.is_base64_encoded = true;
    }
    Some(event)
}

/// The function behind a path: the service of the route table whose routes start with the
/// path's first segment (that function answers 404 or 405 for what it does not serve).
fn service_for(path: &str) -> Option<Service> {
    service_named(path.split('/').find(|s| !s.is_empty())?)
}

/// The request's body, as API Gateway would take it: refused at once when its declared length
/// is over the limit (413), and not waited for beyond [`BODY_TIMEOUT`] (408).
async fn read_body(headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, Response> {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(json!({"message": "Request Entity Too Large"})),
        )
            .into_response()
    };
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY as u64) {
        return Err(too_large());
    }
    // A request known to have no body (most `GET`s) needs no timer.
    if HttpBody::size_hint(&body).exact() == Some(0) {
        return to_bytes(body, MAX_BODY).await.map_err(|_| too_large());
    }
    match tokio::time::timeout(BODY_TIMEOUT, to_bytes(body, MAX_BODY)).await {
        Ok(read) => read.map_err(|_| too_large()),
        Err(_) => {
            let mut response = (
                StatusCode::REQUEST_TIMEOUT,
                axum::Json(json!({"message": "Request Timeout"})),
            )
                .into_response();
            response
                .headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            Err(response)
        }
    }
}

pub async fn proxy(State(api): State<Arc<LocalApi>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match read_body(&parts.headers, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let bad_request = || {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"message": "Bad Request"})),
        )
            .into_response()
    };
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    if http::Uri::try_from(format!("{path}?{query}")).is_err() {
        return bad_request();
    }
    let Some(event) = event_for(&parts.method, path, query, &parts.headers, &body) else {
        return bad_request();
    };
    // lambda_http panics on events it cannot turn into a request: answer 400, never a reset.
    let request = match std::panic::catch_unwind(|| {
        lambda_http::Request::from(LambdaRequest::ApiGatewayV2(event))
    }) {
        Ok(request) => request,
        Err(_) => return bad_request(),
    };
    let response = match service_for(path) {
        Some(Service::Contacts) => contacts::handle(&api.contacts, request).await,
        Some(Service::Calendar) => calendar::handle(&api.calendar, request).await,
        // What API Gateway answers for a route it does not have.
        None => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"message": "Not Found"})),
            )
                .into_response();
        }
    };
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Text(text) => text.into_bytes(),
        lambda_http::Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = parts.status;
    *out.headers_mut() = parts.headers;
    out.headers_mut()
        .entry("apigw-requestid")
        .or_insert(HeaderValue::from_static("local"));
    out
}
