//! The calendar microservice: its routes (`GET /calendar?from=&to=`, `GET /calendar/{id}` with
//! `read:calendar`; `POST /calendar`, `PUT /calendar/{id}`, `DELETE /calendar/{id}` with
//! `write:calendar`) are the calendar rows of the shared route table
//! (`organizer_shared::routes`).
//!
//! `main.rs` builds [`CalendarApi`] once per Lambda container; [`handle`] answers one API Gateway
//! HTTP API event with it. The local stack calls the same [`handle`].

use std::sync::Arc;

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use organizer_shared::api::{ApiContext, ListBody, Query, item_id, json};
use organizer_shared::routes::Operation;
use organizer_shared::store::model::{Event, EventFields, is_event_sort_key, normalize_bound};
use organizer_shared::store::{EventStore, PageRequest, TimeRange, cursor};
use organizer_shared::write::{self, JsonObject, NewItem};
use organizer_shared::{AccessClaims, ApiError};

/// The cursor namespace of this listing.
const LISTING: &str = "calendar";
/// What this service's items are called in messages.
const WHAT: &str = "events";

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
    let id = || item_id(id.as_deref(), "event");
    match route.operation {
        Operation::List => list(api, request, &claims).await,
        Operation::Get => get(api, id()?, &claims).await,
        Operation::Create => create(api, request, &route.key(), &claims).await,
        Operation::Replace => replace(api, request, id()?, &claims).await,
        Operation::Delete => delete(api, request, id()?, &claims).await,
    }
}

/// The longest an event may last.
const MAX_EVENT_DAYS: i64 = 31;

/// The editable fields of a `POST` or `PUT` body, validated (README, "The API").
fn event_fields(request: &Request) -> Result<EventFields, ApiError> {
    let body =
        JsonObject::from_request(request, &["title", "start", "end", "location", "attendees"])?;
    let fields = EventFields {
        title: body.text("title", true, 200)?,
        start: body.time("start")?,
        end: body.time("end")?,
        location: body.text("location", false, 200)?,
        attendees: body.addresses("attendees", 50)?,
    };
    let (Ok(start), Ok(end)) = (
        chrono::DateTime::parse_from_rfc3339(&fields.start),
        chrono::DateTime::parse_from_rfc3339(&fields.end),
    ) else {
        return Err(ApiError::Internal("a normalized time did not parse".into()));
    };
    if end <= start {
        return Err(ApiError::BadRequest("end must be after start".into()));
    }
    if end - start > chrono::Duration::days(MAX_EVENT_DAYS) {
        return Err(ApiError::BadRequest(format!(
            "end must be at most {MAX_EVENT_DAYS} days after start"
        )));
    }
    Ok(fields)
}

async fn create(
    api: &CalendarApi,
    request: &Request,
    route: &str,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    let fields = event_fields(request)?;
    let key_hash = write::idempotency_key(request)?;
    let event = Event {
        id: write::new_id("e"),
        fields,
    };
    let new = NewItem {
        item: &event,
        location: format!("/calendar/{}", event.id),
        fingerprint: write::fingerprint(route, &event.fields),
    };
    let (store, owner, event) = (&api.store, claims.sub.as_str(), &event);
    write::create(new, key_hash, WHAT, |record| async move {
        store.create_event(owner, event, record.as_ref()).await
    })
    .await
}

async fn replace(
    api: &CalendarApi,
    request: &Request,
    id: &str,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    let fields = event_fields(request)?;
    let if_version = write::if_match(request)?;
    let stored = api
        .store
        .replace_event(&claims.sub, id, &fields, if_version)
        .await
        .map_err(|e| write::write_error(e, WHAT))?;
    Ok(write::stored_response(&stored))
}

async fn delete(
    api: &CalendarApi,
    request: &Request,
    id: &str,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    let if_version = write::if_match(request)?;
    api.store
        .delete_event(&claims.sub, id, if_version)
        .await
        .map_err(|e| write::write_error(e, WHAT))?;
    Ok(write::no_content())
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
    match api.store.get_event(&claims.sub, id).await? {
        Some(stored) => Ok(write::stored_response(&stored)),
        None => Err(ApiError::NotFound("no such event".into())),
    }
}
