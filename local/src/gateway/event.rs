//! The events API Gateway sends: the payload 2.0 request a function receives and the 2.0
//! request a Lambda authorizer receives, built from one incoming HTTP request.
//!
//! Both are `aws_lambda_events`' typed events (the ones `lambda_http` reads), so an in-process
//! function gets the same `Request` as in Lambda without a JSON round trip; [`to_json`] writes
//! them as API Gateway does (empty `cookies`, `queryStringParameters`, `pathParameters` and
//! `stageVariables` left out, no fields of other payload versions) for a function invoked over
//! HTTP and for `organizer events`.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpRequest,
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use lambda_http::aws_lambda_events::query_map::QueryMap;
use serde_json::Value;

/// What the gateway knows of a request once it is routed.
pub struct Incoming<'a> {
    pub method: &'a Method,
    /// The path as the client sent it (with a stage prefix, if any).
    pub raw_path: &'a str,
    /// The path without the stage prefix, as routes match it.
    pub route_path: &'a str,
    pub query: &'a str,
    /// The headers as API Gateway passes them on ([`event_headers`]), `cookie` removed.
    pub headers: &'a HeaderMap,
    pub cookies: &'a [String],
    pub body: &'a [u8],
    pub route_key: &'a str,
    pub path_parameters: &'a HashMap<String, String>,
    pub stage: &'a str,
    pub stage_variables: &'a HashMap<String, String>,
    pub request_id: &'a str,
    pub source_ip: &'a str,
    /// Milliseconds since 1970.
    pub now_ms: i64,
    pub api_id: &'a str,
    pub region: &'a str,
    pub account_id: &'a str,
}

/// The headers API Gateway passes on: names lower-cased, repeated headers joined with commas,
/// `cookie` taken out (payload 2.0 carries cookies apart), and `host`, `x-forwarded-proto`,
/// `x-forwarded-for` and `x-forwarded-port` set by API Gateway itself (a client cannot choose
/// them, and `lambda_http` panics on a malformed host). `None` when a joined value is not a
/// valid header value.
pub fn event_headers(
    headers: &HeaderMap,
    host: &str,
    source_ip: &str,
) -> Option<(HeaderMap, Vec<String>)> {
    let mut out = HeaderMap::with_capacity(headers.keys_len() + 4);
    let mut cookies = Vec::new();
    for name in headers.keys() {
        if name == http::header::COOKIE {
            for value in headers.get_all(name) {
                let text = String::from_utf8_lossy(value.as_bytes());
                cookies.extend(
                    text.split(';')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_string),
                );
            }
            continue;
        }
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
    out.insert(
        http::header::HOST,
        HeaderValue::from_str(host).unwrap_or_else(|_| HeaderValue::from_static("localhost")),
    );
    out.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static("http"),
    );
    if let Ok(ip) = HeaderValue::from_str(source_ip) {
        out.insert(HeaderName::from_static("x-forwarded-for"), ip);
    }
    if let Some(port) = host
        .rsplit_once(':')
        .and_then(|(_, p)| HeaderValue::from_str(p).ok())
    {
        out.insert(HeaderName::from_static("x-forwarded-port"), port);
    }
    Some((out, cookies))
}

/// `queryStringParameters`: each name once, repeated values joined with commas.
fn query_parameters(query: &str) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        out.entry(name.into_owned())
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    out
}

/// `requestContext.time`: `12/Mar/2020:19:03:58 +0000`.
fn request_time(now_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string()
}

fn context(i: &Incoming<'_>) -> ApiGatewayV2httpRequestContext {
    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = i.method.clone();
    http.path = Some(i.raw_path.to_string());
    http.protocol = Some("HTTP/1.1".into());
    http.source_ip = Some(i.source_ip.to_string());
    http.user_agent = Some(
        i.headers
            .get(http::header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default(),
    );
    let domain = i
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.account_id = Some(i.account_id.to_string());
    context.apiid = Some(i.api_id.to_string());
    context.domain_prefix = Some(
        domain
            .split(['.', ':'])
            .next()
            .unwrap_or("localhost")
            .to_string(),
    );
    context.domain_name = Some(domain);
    context.http = http;
    context.request_id = Some(i.request_id.to_string());
    context.route_key = Some(i.route_key.to_string());
    context.stage = Some(i.stage.to_string());
    context.time = Some(request_time(i.now_ms));
    context.time_epoch = i.now_ms;
    context
}

/// The payload 2.0 event the route's function receives, with what the authorizer decided.
pub fn function_event(
    i: &Incoming<'_>,
    authorizer: Option<ApiGatewayRequestAuthorizer>,
) -> ApiGatewayV2httpRequest {
    let mut context = context(i);
    context.authorizer = authorizer;
    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(i.route_key.to_string());
    event.raw_path = Some(i.raw_path.to_string());
    event.raw_query_string = Some(i.query.to_string());
    event.cookies = (!i.cookies.is_empty()).then(|| i.cookies.to_vec());
    event.headers = i.headers.clone();
    event.query_string_parameters = QueryMap::from(
        query_parameters(i.query)
            .into_iter()
            .map(|(k, v)| (k, vec![v]))
            .collect::<HashMap<String, Vec<String>>>(),
    );
    event.path_parameters = i.path_parameters.clone();
    event.stage_variables = i.stage_variables.clone();
    event.request_context = context;
    if !i.body.is_empty() {
        match std::str::from_utf8(i.body) {
            // Text bodies as text, as API Gateway sends a JSON body; others in base64.
            Ok(text) if is_text(i.headers) => {
                event.body = Some(text.to_string());
                event.is_base64_encoded = false;
            }
            _ => {
                event.body = Some(STANDARD.encode(i.body));
                event.is_base64_encoded = true;
            }
        }
    }
    event
}

/// Whether API Gateway passes the body as text: a textual content type.
fn is_text(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            v.starts_with("text/")
                || v.starts_with("application/json")
                || v.contains("+json")
                || v.starts_with("application/x-www-form-urlencoded")
                || v.starts_with("application/xml")
        })
}

/// The 2.0 request a Lambda authorizer receives.
pub fn authorizer_event(
    i: &Incoming<'_>,
    identity_source: Vec<String>,
) -> ApiGatewayV2CustomAuthorizerV2Request {
    let mut event = ApiGatewayV2CustomAuthorizerV2Request::default();
    event.version = Some("2.0".into());
    event.type_ = Some("REQUEST".into());
    event.route_arn = Some(format!(
        "arn:aws:execute-api:{}:{}:{}/{}/{}{}",
        i.region, i.account_id, i.api_id, i.stage, i.method, i.route_path
    ));
    event.identity_source = (!identity_source.is_empty()).then_some(identity_source);
    event.route_key = Some(i.route_key.to_string());
    event.raw_path = Some(i.raw_path.to_string());
    event.raw_query_string = Some(i.query.to_string());
    event.cookies = i.cookies.to_vec();
    event.headers = i.headers.clone();
    event.query_string_parameters = query_parameters(i.query);
    event.request_context = context(i);
    event.path_parameters = i.path_parameters.clone();
    event.stage_variables = i.stage_variables.clone();
    event
}

/// The keys of a payload 2.0 function event and of a 2.0 authorizer request (the typed events
/// also carry fields of other payload versions).
const FUNCTION_EVENT_KEYS: &[&str] = &[
    "version",
    "routeKey",
    "rawPath",
    "rawQueryString",
    "cookies",
    "headers",
    "queryStringParameters",
    "pathParameters",
    "requestContext",
    "stageVariables",
    "body",
    "isBase64Encoded",
];
const AUTHORIZER_EVENT_KEYS: &[&str] = &[
    "version",
    "type",
    "routeArn",
    "identitySource",
    "routeKey",
    "rawPath",
    "rawQueryString",
    "cookies",
    "headers",
    "queryStringParameters",
    "requestContext",
    "pathParameters",
    "stageVariables",
];
/// Keys API Gateway leaves out when they would be empty.
const LEFT_OUT_WHEN_EMPTY: &[&str] = &[
    "cookies",
    "queryStringParameters",
    "pathParameters",
    "stageVariables",
];

/// A function event as the JSON Lambda receives.
pub fn function_event_json(event: &ApiGatewayV2httpRequest) -> Value {
    to_json(event, FUNCTION_EVENT_KEYS)
}

/// An authorizer request as the JSON Lambda receives.
pub fn authorizer_event_json(event: &ApiGatewayV2CustomAuthorizerV2Request) -> Value {
    to_json(event, AUTHORIZER_EVENT_KEYS)
}

fn to_json<T: serde::Serialize>(event: &T, keys: &[&str]) -> Value {
    let mut value = serde_json::to_value(event).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.retain(|key, v| {
            keys.contains(&key.as_str())
                && !(LEFT_OUT_WHEN_EMPTY.contains(&key.as_str()) && is_empty(v))
                && !(key == "body" && v.is_null())
        });
        if let Some(context) = map.get_mut("requestContext").and_then(Value::as_object_mut) {
            context.retain(|_, v| !v.is_null());
        }
    }
    value
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_is_written_as_api_gateway_writes_it() {
        assert_eq!(
            request_time(1_583_348_638_390),
            "04/Mar/2020:19:03:58 +0000"
        );
    }

    #[test]
    fn repeated_query_parameters_are_joined_with_commas() {
        let q = query_parameters("a=1&a=2&b=x%20y");
        assert_eq!(q["a"], "1,2");
        assert_eq!(q["b"], "x y");
    }

    #[test]
    fn cookies_leave_the_headers_and_api_gateway_sets_its_own() {
        let mut h = HeaderMap::new();
        h.append("cookie", HeaderValue::from_static("a=1; b=2"));
        h.append("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        h.append("accept", HeaderValue::from_static("a"));
        h.append("accept", HeaderValue::from_static("b"));
        let (out, cookies) = event_headers(&h, "localhost:3001", "127.0.0.1").unwrap();
        assert_eq!(cookies, vec!["a=1", "b=2"]);
        assert!(out.get("cookie").is_none());
        assert_eq!(out["x-forwarded-for"], "127.0.0.1");
        assert_eq!(out["x-forwarded-port"], "3001");
        assert_eq!(out["accept"], "a,b");
        assert_eq!(out["host"], "localhost:3001");
    }
}
