//! CORS for the endpoints a page calls directly (`/oauth/token`, `/userinfo`): only the
//! clients' Allowed Origins and Allowed Web Origins, each answer marked `Vary: Origin`.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::context::Tenant;
use super::origin::is_listed;

/// The request's `Origin`, when some client of the tenant allows it.
pub fn allowed_origin(tenant: &Tenant, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let allowed = tenant.clients.iter().any(|c| {
        is_listed(
            origin,
            c.spec.allowed_origins.iter().chain(&c.spec.web_origins),
        )
    });
    if allowed {
        HeaderValue::from_str(origin).ok()
    } else {
        None
    }
}

/// A preflight answer for an allowed origin (403 for any other origin).
pub fn preflight(
    tenant: &Tenant,
    headers: &HeaderMap,
    methods: &'static str,
    allow_headers: &'static str,
) -> Response {
    let Some(origin) = allowed_origin(tenant, headers) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(allow_headers),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// Adds the CORS headers of an actual (non-preflight) answer, exposing `expose` if given.
pub fn decorate(
    tenant: &Tenant,
    headers: &HeaderMap,
    mut response: Response,
    expose: Option<&'static str>,
) -> Response {
    if let Some(origin) = allowed_origin(tenant, headers) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if let Some(expose) = expose {
            h.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(expose),
            );
        }
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}
