//! The tenant's HTTP interface: every endpoint at its path. Only this module knows them all;
//! no endpoint imports it.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::context::Tenant;
use super::{authorize, consent, discovery, jwks, login, logout, revoke, routes, token, userinfo};

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
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(tenant)
}
