//! The tenant's HTTP interface: every endpoint at its path. Only this module knows them all;
//! no endpoint imports it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{get, post};

use super::context::Tenant;
use super::{
    authorize, consent, discovery, jwks, login, logout, pages, revoke, routes, token, userinfo,
};

/// Bodies (login, consent and token forms) are small; anything larger is refused.
const MAX_BODY: usize = 16 * 1024;

pub fn router(tenant: Arc<Tenant>) -> Router {
    Router::new()
        .route(routes::DISCOVERY, get(discovery::discovery))
        .route(routes::JWKS, get(jwks::jwks))
        .route(routes::TOKEN, post(token::token).options(token::preflight))
        .route(
            routes::REVOKE,
            post(revoke::revoke).options(revoke::preflight),
        )
        .route(routes::AUTHORIZE, get(authorize::authorize))
        .route(routes::LOGIN, get(login::show).post(login::submit))
        .route(routes::CONSENT, get(consent::show).post(consent::submit))
        .route(routes::LOGOUT, get(logout::logout))
        .route(
            routes::USERINFO,
            get(userinfo::userinfo).options(userinfo::preflight),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(tenant)
}

/// Every other path, `/` included: a page that says so and leads to the applications, not an
/// empty 404.
async fn not_found(State(tenant): State<Arc<Tenant>>, uri: Uri) -> Response {
    pages::not_found(&tenant, uri.path())
}
