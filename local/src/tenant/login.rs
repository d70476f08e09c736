//! The login page of the database connection: email and password, CSRF-protected, throttled
//! per account and per address.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::auth_request::Prompt;
use super::context::Tenant;
use super::cookies;
use super::error::OAuthError;
use super::forms::transaction_for;
use super::pages::{error_page, form_page, login_form};
use super::respond;
use super::routes::CONSENT;
use super::session::FAILURE_WINDOW;
use super::users::{User, hash_password};

fn client_name<'t>(tenant: &'t Tenant, client_id: &str) -> &'t str {
    tenant
        .client_by_id(client_id)
        .map_or("the application", |c| c.spec.name.as_str())
}

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
    form_page(
        StatusCode::OK,
        "Sign in",
        &login_form(
            &state,
            &tx.csrf,
            client_name(&tenant, &tx.request.client_id),
            "",
            None,
        ),
        &tx.request.redirect_uri,
    )
}

pub async fn submit(
    State(tenant): State<Arc<Tenant>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let state = form.get("state").cloned().unwrap_or_default();
    let csrf = form.get("csrf").map(String::as_str).unwrap_or("");
    let tx = match transaction_for(&tenant, &headers, &state, Some(csrf)) {
        Ok(tx) => tx,
        Err(error) => return error_page(&error),
    };
    let email = form
        .get("email")
        .map(|e| e.trim().to_lowercase())
        .unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let client = client_name(&tenant, &tx.request.client_id).to_string();
    let again = |status: StatusCode, message: &str| {
        form_page(
            status,
            "Sign in",
            &login_form(&state, &tx.csrf, &client, &email, Some(message)),
            &tx.request.redirect_uri,
        )
    };
    let account_key = format!("account:{email}");
    let address_key = format!("address:{}", peer.ip());
    if tenant.runtime.is_throttled(&account_key) || tenant.runtime.is_throttled(&address_key) {
        let minutes = FAILURE_WINDOW.as_secs() / 60;
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many failed attempts. Wait {minutes} minutes before trying again."),
        );
    }
    let user: Option<User> = tenant.user_by_email(&email).cloned();
    // Hashing runs off the async workers; an unknown email costs the same as a wrong password.
    let matches = tokio::task::spawn_blocking(move || match &user {
        Some(u) => u.password_matches(&password).then(|| u.clone()),
        None => {
            let _ = hash_password(&password);
            None
        }
    })
    .await
    .ok()
    .flatten();
    let Some(user) = matches else {
        tenant.runtime.record_failure(&account_key);
        tenant.runtime.record_failure(&address_key);
        return again(StatusCode::UNAUTHORIZED, "Wrong email or password.");
    };
    tenant.runtime.clear_failures(&account_key);
    let session = tenant.runtime.new_session(&user.id);
    tenant
        .runtime
        .set_transaction_user(&state, &user.id, &session.id);
    let consented =
        tenant
            .runtime
            .has_consent(&user.id, &tx.request.client_id, &tx.request.consent_keys());
    let mut response = if consented && tx.request.prompt != Some(Prompt::Consent) {
        match tenant.runtime.finish_transaction(&state) {
            Some(_) => respond::success(&tenant, &tx.request, &user, &session.id),
            None => error_page(
                &OAuthError::invalid_request("This sign-in has already completed.").page_only(),
            ),
        }
    } else {
        Redirect::to(&format!("{CONSENT}?state={state}")).into_response()
    };
    if let Some(cookie) = cookies::set_session(&session.id, tenant.secure_cookies()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
