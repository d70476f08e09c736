//! The consent page: lists each requested permission with its description; Accept records the
//! consent and completes the sign-in, Decline sends `access_denied` to the client.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::context::Tenant;
use super::error::OAuthError;
use super::forms::{expired, transaction_for};
use super::pages::{App, ConsentForm, consent_page, error_page_for};
use super::respond::{self, Channel, reply};

pub async fn show(
    State(tenant): State<Arc<Tenant>>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let state = q.get("state").cloned().unwrap_or_default();
    let tx = match transaction_for(&tenant, &headers, &state, None) {
        Ok(tx) => tx,
        Err(error) => return error_page_for(&error, App::of_sign_in(&tenant, &state)),
    };
    let app = App::by_id(&tenant, &tx.request.client_id).unwrap_or(App {
        name: "the application",
        home: None,
    });
    let Some(user) = tx.user_id.as_deref().and_then(|id| tenant.user(id)) else {
        return error_page_for(&expired(), Some(app));
    };
    let api = tx.request.audience.as_deref().and_then(|a| tenant.api(a));
    // Each permission the user is asked for now, with the words the API (or OpenID Connect)
    // gives it: what this sign-in would grant (with RBAC, what the user's roles allow) and was
    // not consented to before, so asking for one more scope lists only that one. With
    // prompt=consent and nothing new, everything is listed again.
    let granted = tenant.granted_scopes(&tx.request, user);
    let keys = tx.request.consent_keys(&granted);
    let asked: Vec<&String> = granted
        .iter()
        .filter(|s| s.as_str() != "openid")
        .zip(&keys)
        .filter(|(_, key)| {
            !tenant
                .runtime
                .has_consent(&user.id, &tx.request.client_id, std::slice::from_ref(*key))
        })
        .map(|(s, _)| s)
        .collect();
    let asked: Vec<&String> = if asked.is_empty() {
        granted.iter().filter(|s| s.as_str() != "openid").collect()
    } else {
        asked
    };
    let scopes: Vec<(String, String)> = asked
        .into_iter()
        .map(|s| {
            let description = match s.as_str() {
                "profile" => "See your name".to_string(),
                "email" => "See your email address".to_string(),
                "offline_access" => "Keep you logged in between visits".to_string(),
                _ => api
                    .and_then(|a| a.scopes.iter().find(|d| &d.value == s))
                    .map_or_else(|| s.clone(), |d| d.description.clone()),
            };
            (s.clone(), description)
        })
        .collect();
    let form = ConsentForm {
        state: &state,
        csrf: &tx.csrf,
        app,
        user: &user.name,
        scopes: &scopes,
    };
    consent_page(&form, &tx.request.redirect_uri)
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
        Err(error) => return error_page_for(&error, App::of_sign_in(&tenant, &state)),
    };
    let app = App::by_id(&tenant, &tx.request.client_id);
    // The transaction ends here, once: a second post of the same form finds nothing.
    if tenant.runtime.transactions.finish(&state).is_none() {
        return error_page_for(&expired(), app);
    }
    let (Some(user), Some(session_id)) = (
        tx.user_id.as_deref().and_then(|id| tenant.user(id)),
        tx.session_id.as_ref(),
    ) else {
        return error_page_for(&expired(), app);
    };
    match form.get("decision").map(String::as_str) {
        Some("accept") => {
            tenant.runtime.grant_consent(
                &user.id,
                &tx.request.client_id,
                &tenant.consent_keys(&tx.request, user),
            );
            respond::success(&tenant, &tx.request, user, session_id)
        }
        _ => reply(
            OAuthError::access_denied("User did not authorize the request"),
            Channel::Browser(Some(&tx.request)),
        ),
    }
}
