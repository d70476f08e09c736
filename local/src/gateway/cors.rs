//! CORS as an HTTP API answers it when `x-amazon-apigateway-cors` is configured: preflights
//! answered by the gateway itself (when no route serves `OPTIONS` for the path) before any
//! authorizer runs, and the configured headers on every answer to an allowed origin — the
//! functions' own CORS headers are dropped ("API Gateway ignores CORS headers returned from
//! your backend integration") and the gateway's own 401/403/404/429/500 answers get them too
//! (a captured JWT-authorizer 401 carries them; docs/local-gateway.md).

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue};

use super::definition::CorsConfig;

#[derive(Debug, Clone)]
pub struct GatewayCors {
    config: CorsConfig,
    allow_methods: Option<HeaderValue>,
    allow_headers: Option<HeaderValue>,
    expose_headers: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
}

fn joined(items: &[String]) -> Option<HeaderValue> {
    (!items.is_empty())
        .then(|| HeaderValue::from_str(&items.join(",")).ok())
        .flatten()
}

impl GatewayCors {
    pub fn new(config: CorsConfig) -> Self {
        Self {
            allow_methods: joined(&config.allow_methods),
            allow_headers: joined(&config.allow_headers),
            expose_headers: joined(&config.expose_headers),
            max_age: config
                .max_age
                .and_then(|a| HeaderValue::from_str(&a.to_string()).ok()),
            config,
        }
    }

    /// The `Access-Control-Allow-Origin` value for this request's origin, if it is allowed:
    /// exact (scheme, host and port), or `*`, `https://*`, `http://*`.
    fn allowed_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(ORIGIN)?;
        let text = origin.to_str().ok()?;
        let allowed = self.config.allow_origins.iter().any(|o| {
            o == text
                || o == "*"
                || (o == "https://*" && text.starts_with("https://"))
                || (o == "http://*" && text.starts_with("http://"))
        });
        if !allowed {
            return None;
        }
        if self.config.allow_origins.iter().any(|o| o == "*") && !self.config.allow_credentials {
            return Some(HeaderValue::from_static("*"));
        }
        Some(origin.clone())
    }

    fn allows_method(&self, method: &str) -> bool {
        self.config
            .allow_methods
            .iter()
            .any(|m| m == "*" || m.eq_ignore_ascii_case(method))
    }

    fn allows_headers(&self, requested: &str) -> bool {
        requested
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .all(|h| {
                self.config
                    .allow_headers
                    .iter()
                    .any(|a| a == "*" || a.eq_ignore_ascii_case(h))
            })
    }

    /// The headers of the gateway's answer to a preflight: the CORS headers when the origin,
    /// the method and every requested header are allowed, none otherwise (the status is 204
    /// either way: the browser is what refuses).
    pub fn preflight_headers(&self, request: &HeaderMap) -> HeaderMap {
        let mut out = HeaderMap::new();
        let method = request
            .get(ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|v| v.to_str().ok());
        let headers_ok = request
            .get(ACCESS_CONTROL_REQUEST_HEADERS)
            .map(|v| v.to_str().is_ok_and(|h| self.allows_headers(h)))
            .unwrap_or(true);
        let Some(origin) = self.allowed_origin(request) else {
            return out;
        };
        if !method.is_some_and(|m| self.allows_method(m)) || !headers_ok {
            return out;
        }
        out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if let Some(v) = &self.allow_methods {
            out.insert(ACCESS_CONTROL_ALLOW_METHODS, v.clone());
        }
        if let Some(v) = &self.allow_headers {
            out.insert(ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
        }
        if let Some(v) = &self.max_age {
            out.insert(ACCESS_CONTROL_MAX_AGE, v.clone());
        }
        if self.config.allow_credentials {
            out.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        out.append(VARY, HeaderValue::from_static("origin"));
        out
    }

    /// Replaces whatever CORS headers `response` has with the configured ones for this
    /// request's origin.
    pub fn decorate(&self, request: &HeaderMap, response: &mut HeaderMap) {
        for name in [
            ACCESS_CONTROL_ALLOW_ORIGIN,
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            ACCESS_CONTROL_EXPOSE_HEADERS,
            ACCESS_CONTROL_ALLOW_METHODS,
            ACCESS_CONTROL_ALLOW_HEADERS,
            ACCESS_CONTROL_MAX_AGE,
        ] {
            response.remove(name);
        }
        let Some(origin) = self.allowed_origin(request) else {
            return;
        };
        response.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if self.config.allow_credentials {
            response.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(v) = &self.expose_headers {
            response.insert(ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
        }
        if !response.get_all(VARY).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.to_ascii_lowercase().contains("origin"))
        }) {
            response.append(VARY, HeaderValue::from_static("origin"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors() -> GatewayCors {
        GatewayCors::new(CorsConfig {
            allow_origins: vec!["http://localhost:3000".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["authorization".into(), "content-type".into()],
            expose_headers: vec!["etag".into()],
            max_age: Some(600),
            allow_credentials: false,
        })
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn a_preflight_gets_headers_only_when_everything_asked_is_allowed() {
        let c = cors();
        let ok = c.preflight_headers(&headers(&[
            ("origin", "http://localhost:3000"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "Authorization, Content-Type",
            ),
        ]));
        assert_eq!(ok["access-control-allow-origin"], "http://localhost:3000");
        assert_eq!(ok["access-control-allow-methods"], "GET,POST");
        assert_eq!(ok["access-control-max-age"], "600");
        for bad in [
            headers(&[
                ("origin", "http://localhost:3001"),
                ("access-control-request-method", "GET"),
            ]),
            headers(&[
                ("origin", "http://localhost:3000"),
                ("access-control-request-method", "DELETE"),
            ]),
            headers(&[
                ("origin", "http://localhost:3000"),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "x-other"),
            ]),
        ] {
            assert!(c.preflight_headers(&bad).is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn answers_get_the_configured_headers_not_the_functions() {
        let c = cors();
        let mut response = headers(&[
            ("access-control-allow-origin", "*"),
            ("access-control-expose-headers", "x"),
        ]);
        c.decorate(
            &headers(&[("origin", "http://localhost:3000")]),
            &mut response,
        );
        assert_eq!(
            response["access-control-allow-origin"],
            "http://localhost:3000"
        );
        assert_eq!(response["access-control-expose-headers"], "etag");
        assert_eq!(response["vary"], "origin");
        let mut other = headers(&[("access-control-allow-origin", "*")]);
        c.decorate(&headers(&[("origin", "http://evil.example")]), &mut other);
        assert!(other.get("access-control-allow-origin").is_none());
    }
}
