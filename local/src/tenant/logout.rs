//! `GET /v2/logout`: ends the SSO session and redirects only to an allowed logout URL.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::context::Tenant;
use super::cookies;
use super::error::OAuthError;
use super::pages::{App, error_page_for, logged_out_page, secure};

pub async fn logout(
    State(tenant): State<Arc<Tenant>>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let allowed = |url: &str| match q.get("client_id") {
        Some(id) => tenant
            .client_by_id(id)
            .is_some_and(|c| c.spec.allowed_logout_urls.iter().any(|u| u == url)),
        None => tenant
            .clients
            .iter()
            .any(|c| c.spec.allowed_logout_urls.iter().any(|u| u == url)),
    };
    // The application the request names, when the tenant knows it: the pages lead back to it.
    let app = q.get("client_id").and_then(|id| App::by_id(&tenant, id));
    if let Some(url) = q.get("returnTo")
        && !allowed(url)
    {
        return error_page_for(
            &OAuthError::invalid_request(
                "The \"returnTo\" querystring parameter is not defined as a valid URL in \"Allowed Logout URLs\".",
            )
            .page_only(),
            app,
        );
    }
    if let Some(id) = cookies::session(&headers) {
        tenant.runtime.end_session(&id);
    }
    let mut response = match q.get("returnTo") {
        Some(url) => secure(Redirect::to(url).into_response(), "'none'", None, "'self'"),
        None => logged_out_page(&tenant, app),
    };
    if let Some(clear) = cookies::clear_session() {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}
