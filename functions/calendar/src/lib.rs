//! The calendar microservice: its routes (`GET /calendar?from=&to=`, `GET /calendar/{id}`,
//! scope `read:calendar`) are the calendar rows of the shared route table
//! (`organizer_shared::routes`).
//!
//! `main.rs` builds [`CalendarApi`] once per Lambda container; [`handle`] answers one API Gateway
//! HTTP API event with it. The local stack calls the same [`handle`].

use std::sync::Arc;

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use organizer_shared::api::{ApiContext, ListBody, Query, json};
use organizer_shared::routes::Operation;
use organizer_shared::store::model::{is_event_sort_key, is_valid_id, normalize_bound};
use organizer_shared::store::{EventStore, PageRequest, TimeRange, cursor};
use organizer_shared::{AccessClaims, ApiError};

/// The cursor namespace of this listing.
const LISTING: &str = "calendar";

/// Everything an invocation borrows: built once, shared by warm invocations.
pub struct CalendarApi {
    pub context: ApiContext,
    pub store: Arc<dyn EventStore>,
}

/// Answers one request. Never fails: every error is an HTTP answer.
pub async fn handle(api: &CalendarApi, request: Request) -> Response<Body> {
    if let Some(preflight) = api.context.preflight(&request) {
        return preflight;
    }
    let result = route(api, &request).await;
    api.context.respond(&request, result)
}

/// `from` and `to` as RFC 3339 times; events whose start is in `[from, to)`.
fn time_range(query: &Query) -> Result<TimeRange, ApiError> {
    let parse = |name: &str| -> Result<Option<String>, ApiError> {
        query
            .get(name)
            // A literal '+' in a query string decodes to a space: read it back as the offset
            // sign the caller meant (`10:30:00+01:00`).
            .map(|value| value.replace(' ', "+"))
            .map(|value| {
                normalize_bound(&value).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "{name} must be an RFC 3339 time, e.g. 2026-11-26T00:00:00Z"
                    ))
                })
            })
            .transpose()
    };
    let range = TimeRange {
        from: parse("from")?,
        to: parse("to")?,
    };
    if let (Some(from), Some(to)) = (&range.from, &range.to)
        && from > to
    {
        return Err(ApiError::BadRequest("from must not be after to".into()));
    }
    Ok(range)
}

async fn route(api: &CalendarApi, request: &Request) -> Result<Response<Body>, ApiError> {
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
    api: &CalendarApi,
    request: &Request,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    let query = Query::parse(request)?;
    let range = time_range(&query)?;
    let page = PageRequest {
        limit: query.limit()?,
        after: query.cursor(LISTING, &claims.sub, is_event_sort_key)?,
    };
    let page = api.store.list_events(&claims.sub, &range, &page).await?;
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
    api: &CalendarApi,
    id: &str,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    if !is_valid_id(id) {
        return Err(ApiError::BadRequest(
            "event ids are 1 to 64 letters, digits, '-' or '_'".into(),
        ));
    }
    match api.store.get_event(&claims.sub, id).await? {
        Some(stored) => Ok(json(StatusCode::OK, &stored.item)),
        None => Err(ApiError::NotFound("no such event".into())),
    }
}
