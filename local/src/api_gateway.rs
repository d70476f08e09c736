//! The local stand-in for API Gateway's HTTP API: each request becomes the payload 2.0 event
//! API Gateway would send, and goes in-process to the same handler the Lambda function runs.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use calendar::CalendarApi;
use contacts::ContactsApi;
use organizer_shared::routes::{ROUTES, Service, service_named};
use serde_json::{Map, Value, json};

/// Payloads above this are refused, as API Gateway refuses bodies over its limit.
const MAX_BODY: usize = 1024 * 1024;

pub struct LocalApi {
    pub contacts: ContactsApi,
    pub calendar: CalendarApi,
}

/// The event API Gateway would send for this request.
pub fn event_for(
    method: &str,
    path: &str,
    query: &str,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Value {
    let mut map = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).to_string();
        // API Gateway lower-cases names and joins repeated headers with commas.
        match map.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                map.insert(name.as_str().to_string(), Value::String(value));
            }
        }
    }
    // API Gateway sets these itself; a client cannot choose them (and lambda_http panics on
    // malformed ones).
    let host = map
        .get("host")
        .and_then(Value::as_str)
        .filter(|h| http::uri::Authority::try_from(*h).is_ok())
        .unwrap_or("localhost")
        .to_string();
    map.insert("host".into(), Value::String(host));
    map.insert("x-forwarded-proto".into(), Value::String("http".into()));
    map.insert("x-forwarded-for".into(), Value::String("127.0.0.1".into()));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let route_key = ROUTES
        .iter()
        .find(|r| r.method == method && r.match_path(&segments).is_some())
        .map_or_else(|| "$default".to_string(), |r| r.key());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let user_agent = map
        .get("user-agent")
        .cloned()
        .unwrap_or(Value::String(String::new()));
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": map,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": user_agent},
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "timeEpoch": now,
        },
        "isBase64Encoded": false,
    });
    if !body.is_empty() {
        event["body"] = json!(STANDARD.encode(body));
        event["isBase64Encoded"] = json!(true);
    }
    event
}

/// The function behind a path: the service of the route table whose routes start with the
/// path's first segment (that function answers 404 or 405 for what it does not serve).
fn service_for(path: &str) -> Option<Service> {
    service_named(path.split('/').find(|s| !s.is_empty())?)
}

pub async fn proxy(State(api): State<Arc<LocalApi>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(json!({"message": "Request Entity Too Large"})),
        )
            .into_response();
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
    let event = event_for(parts.method.as_str(), path, query, &parts.headers, &body).to_string();
    // lambda_http panics on events it cannot turn into a request: answer 400, never a reset.
    let request = match std::panic::catch_unwind(|| lambda_http::request::from_str(&event)) {
        Ok(Ok(request)) => request,
        _ => return bad_request(),
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
