//! The consent page: lists each requested permission with its description; Accept records the
//! consent and completes the sign-in, Decline sends `access_denied` to the client.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::context::Tenant;
use super::error::OAuthError;
use super::forms::{expired, transaction_for};
use super::pages::{consent_form, error_page, form_page};
use super::respond::{self, Channel, reply};

pub async fn show(
    State(tenant): State<Arc<Tenant>>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let state = q.get("state").cloned().unwrap_or_default();
    let tx = match transaction_for(&tenant, &headers, &state, None) {
        Ok(tx) => tx,
        Err(error) => return error_page(&error),
    };
    let Some(user) = tx.user_id.as_deref().and_then(|id| tenant.user(id)) else {
        return error_page(&expired());
    };
    let api = tx.request.audience.as_deref().and_then(|a| tenant.api(a));
    // Every permission asked for, with the words the API (or OpenID Connect) gives it.
    let scopes: Vec<(String, String)> = tx
        .request
        .scopes
        .iter()
        .filter(|s| s.as_str() != "openid")
        .map(|s| {
            let description = match s.as_str() {
                "profile" => "Your name".to_string(),
                "email" => "Your email address".to_string(),
                _ => api
                    .and_then(|a| a.scopes.iter().find(|d| &d.value == s))
                    .map_or_else(|| s.clone(), |d| d.description.clone()),
            };
            (s.clone(), description)
        })
        .collect();
    let client = tenant
        .client_by_id(&tx.request.client_id)
        .map_or("the application", |c| c.spec.name.as_str());
    form_page(
        StatusCode::OK,
        "Authorize",
        &consent_form(&state, &tx.csrf, client, &user.name, &scopes),
        &tx.request.redirect_uri,
    )
}

pub async fn submit(
    State(tenant): State<Arc<Tenant>>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let state = form.get("state").cloned().unwrap_or_default();
    let csrf = form.get("csrf").map(String::as_str).unwrap_or("");
    let tx = match transaction_for(&tenant, &headers, &state, Some(csrf)) {
        Ok(tx) => tx,
        Err(error) => return error_page(&error),
    };
    // The transaction ends here, once: a second post of the same form finds nothing.
    if tenant.runtime.transactions.finish(&state).is_none() {
        return error_page(&expired());
    }
    let (Some(user), Some(session_id)) = (
        tx.user_id.as_deref().and_then(|id| tenant.user(id)),
        tx.session_id.as_ref(),
    ) else {
        return error_page(&expired());
    };
    match form.get("decision").map(String::as_str) {
        Some("accept") => {
            tenant.runtime.grant_consent(
                &user.id,
                &tx.request.client_id,
                &tx.request.consent_keys(),
            );
            respond::success(&tenant, &tx.request, user, session_id)
        }
        _ => reply(
            OAuthError::access_denied("User did not authorize the request"),
            Channel::Browser(Some(&tx.request)),
        ),
    }
}
