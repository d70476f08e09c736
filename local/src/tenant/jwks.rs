//! `GET /.well-known/jwks.json`: every key of the ring, the active one first, so tokens signed
//! before a rotation keep verifying until their key is retired.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use organizer_shared::signing::jwks_document;

use super::context::Tenant;

pub async fn jwks(State(tenant): State<Arc<Tenant>>) -> Response {
    let mut response = axum::Json(jwks_document(tenant.keys.keys.iter())).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    // auth0-js fetches the keys from the page to check ID tokens: public, so any origin.
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}
