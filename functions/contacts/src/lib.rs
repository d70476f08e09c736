//! The contacts microservice: its routes (`GET /contacts`, `GET /contacts/{id}`, scope
//! `read:contacts`) are the contacts rows of the shared route table
//! (`organizer_shared::routes`).
//!
//! `main.rs` builds [`ContactsApi`] once per Lambda container; [`handle`] answers one API Gateway
//! HTTP API event with it. The local stack calls the same [`handle`].
//!
//! Run it locally with `cargo lambda watch` (see the README) or through the local stack.

use std::sync::Arc;

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use organizer_shared::api::{ApiContext, ListBody, Query, json};
use organizer_shared::routes::Operation;
use organizer_shared::store::model::{is_contact_sort_key, is_valid_id};
use organizer_shared::store::{ContactStore, PageRequest, cursor};
use organizer_shared::{AccessClaims, ApiError};

/// The cursor namespace of this listing.
const LISTING: &str = "contacts";

/// Everything an invocation borrows: built once, shared by warm invocations.
pub struct ContactsApi {
    pub context: ApiContext,
    pub store: Arc<dyn ContactStore>,
}

/// Answers one request. Never fails: every error is an HTTP answer.
pub async fn handle(api: &ContactsApi, request: Request) -> Response<Body> {
    if let Some(preflight) = api.context.preflight(&request) {
        return preflight;
    }
    let result = route(api, &request).await;
    api.context.respond(&request, result)
}

async fn route(api: &ContactsApi, request: &Request) -> Result<Response<Body>, ApiError> {
    let (route, id) = api.context.route(request)?;
    let claims = api.context.authorize(request, route.scope).await?;
    match (route.operation, id) {
        (Operation::List, _) => list(api, request, &claims).await,
        (Operation::Get, Some(id)) => get(api, &id, &claims).await,
        (Operation::Get, None) => Err(ApiError::Internal(format!(
            "route {} has no id",
            route.key()
        ))),
    }
}

async fn list(
    api: &ContactsApi,
    request: &Request,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    let query = Query::parse(request)?;
    let page = PageRequest {
        limit: query.limit()?,
        after: query.cursor(LISTING, &claims.sub, is_contact_sort_key)?,
    };
    let page = api.store.list_contacts(&claims.sub, &page).await?;
    let next = page
        .next_after
        .map(|key| cursor::encode(LISTING, &claims.sub, &key));
    Ok(json(
        StatusCode::OK,
        &ListBody {
            items: page.items,
            next,
        },
    ))
}

async fn get(
    api: &ContactsApi,
    id: &str,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    if !is_valid_id(id) {
        return Err(ApiError::BadRequest(
            "contact ids are 1 to 64 letters, digits, '-' or '_'".into(),
        ));
    }
    match api.store.get_contact(&claims.sub, id).await? {
        Some(stored) => Ok(json(StatusCode::OK, &stored.item)),
        None => Err(ApiError::NotFound("no such contact".into())),
    }
}
