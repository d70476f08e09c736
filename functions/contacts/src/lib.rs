//! The contacts microservice: its routes (`GET /contacts`, `GET /contacts/{id}` with
//! `read:contacts`; `POST /contacts`, `PUT /contacts/{id}`, `DELETE /contacts/{id}` with
//! `write:contacts`) are the contacts rows of the shared route table
//! (`organizer_shared::routes`).
//!
//! `main.rs` builds [`ContactsApi`] once per Lambda container; [`handle`] answers one API Gateway
//! HTTP API event with it. The local stack calls the same [`handle`].
//!
//! Run it locally with `cargo lambda watch` (see the README) or through the local stack.

use std::sync::Arc;

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use organizer_shared::api::{ApiContext, ListBody, Query, item_id, json};
use organizer_shared::routes::Operation;
use organizer_shared::store::model::{Contact, ContactFields, is_contact_sort_key, now_rfc3339};
use organizer_shared::store::{ContactStore, PageRequest, cursor};
use organizer_shared::write::{self, JsonObject, NewItem};
use organizer_shared::{AccessClaims, ApiError};

/// The cursor namespace of this listing.
const LISTING: &str = "contacts";
/// What this service's items are called in messages.
const WHAT: &str = "contacts";

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
    let id = || item_id(id.as_deref(), "contact");
    match route.operation {
        Operation::List => list(api, request, &claims).await,
        Operation::Get => get(api, id()?, &claims).await,
        Operation::Create => create(api, request, &route.key(), &claims).await,
        Operation::Replace => replace(api, request, id()?, &claims).await,
        Operation::Delete => delete(api, request, id()?, &claims).await,
    }
}

/// The editable fields of a `POST` or `PUT` body, validated (README, "The API").
fn contact_fields(request: &Request) -> Result<ContactFields, ApiError> {
    let body = JsonObject::from_request(request, &["name", "email", "phone", "company"])?;
    Ok(ContactFields {
        name: body.text("name", true, 200)?,
        email: body.email("email")?,
        phone: body.text("phone", false, 40)?,
        company: body.text("company", false, 200)?,
    })
}

async fn create(
    api: &ContactsApi,
    request: &Request,
    route: &str,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    let fields = contact_fields(request)?;
    let key_hash = write::idempotency_key(request)?;
    let now = now_rfc3339();
    let contact = Contact {
        id: write::new_id("c"),
        fields,
        created_at: now.clone(),
        updated_at: now,
    };
    let new = NewItem {
        item: &contact,
        location: format!("/contacts/{}", contact.id),
        fingerprint: write::fingerprint(route, &contact.fields),
    };
    let (store, owner, contact) = (&api.store, claims.sub.as_str(), &contact);
    write::create(new, key_hash, WHAT, |record| async move {
        store.create_contact(owner, contact, record.as_ref()).await
    })
    .await
}

async fn replace(
    api: &ContactsApi,
    request: &Request,
    id: &str,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    let fields = contact_fields(request)?;
    let if_version = write::if_match(request)?;
    let stored = api
        .store
        .replace_contact(&claims.sub, id, &fields, &now_rfc3339(), if_version)
        .await
        .map_err(|e| write::write_error(e, WHAT))?;
    Ok(write::stored_response(&stored))
}

async fn delete(
    api: &ContactsApi,
    request: &Request,
    id: &str,
    claims: &AccessClaims,
) -> Result<Response<Body>, ApiError> {
    let if_version = write::if_match(request)?;
    api.store
        .delete_contact(&claims.sub, id, if_version)
        .await
        .map_err(|e| write::write_error(e, WHAT))?;
    Ok(write::no_content())
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
    match api.store.get_contact(&claims.sub, id).await? {
        Some(stored) => Ok(write::stored_response(&stored)),
        None => Err(ApiError::NotFound("no such contact".into())),
    }
}
