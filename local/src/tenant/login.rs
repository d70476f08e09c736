//! The login page of the database connection: email and password, CSRF-protected, throttled
//! per account and per address.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::Tenant;
use super::forms::transaction_for;
use super::pages::{form_page, login_form};
use super::respond;
use super::session::{FAILURE_WINDOW, SESSION_COOKIE};

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
    let tx = match transaction_for(
        &tenant,
        &headers,
        q.get("state").map_or("", String::as_str),
        None,
    ) {
        Ok(tx) => tx,
        Err(page) => return *page,
    };
    let state = q.get("state").cloned().unwrap_or_default();
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
        Err(page) => return *page,
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
    let user = tenant.users.iter().find(|u| u.email == email).cloned();
    // Hashing runs off the async workers; an unknown email costs the same as a wrong password.
    let matches = tokio::task::spawn_blocking(move || match &user {
        Some(u) => u.password_matches(&password).then(|| u.clone()),
        None => {
            let _ = super::users::hash_password(&password);
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
    let mut response =
        if tenant
            .runtime
            .has_consent(&user.id, &tx.request.client_id, &tx.request.consent_keys())
            && tx.request.prompt != Some(super::authorize::Prompt::Consent)
        {
            match tenant.runtime.finish_transaction(&state) {
                Some(_) => respond::success(&tenant, &tx.request, &user, &session.id),
                None => super::pages::error_page(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "This sign-in has already completed.",
                ),
            }
        } else {
            Redirect::to(&format!("/consent?state={state}")).into_response()
        };
    let secure = if tenant.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax{secure}",
        session.id
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
