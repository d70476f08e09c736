//! The login page of the database connection: email and password, CSRF-protected, throttled
//! per account and per address.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::auth_request::Prompt;
use super::context::Tenant;
use super::cookies;
use super::error::OAuthError;
use super::forms::transaction_for;
use super::pages::{App, LoginForm, error_page_for, login_page};
use super::respond;
use super::routes::CONSENT;
use super::throttle::Refusal;
use super::users::{User, hash_password};

/// The login page again, refusing the attempt with the code Auth0's login answers
/// (`too_many_attempts`, HTTP 429) and `Retry-After` where waiting helps.
fn refused(again: &impl Fn(StatusCode, &str, &str) -> Response, refusal: &Refusal) -> Response {
    let (message, retry_after) = match refusal {
        Refusal::Blocked => (
            "Your account has been blocked after multiple consecutive failed \
             login attempts from this address. Other addresses can still log in; the \
             development tenant lifts the block when the local stack restarts."
                .to_string(),
            None,
        ),
        Refusal::Throttled { retry_after } => (
            format!(
                "Too many failed logins from this address. Try again in {} minutes.",
                retry_after.as_secs().div_ceil(60).max(1)
            ),
            Some(retry_after.as_secs().max(1)),
        ),
        Refusal::Busy => (
            "Too many logins are being checked right now. Try again in a \
             moment."
                .to_string(),
            Some(1),
        ),
    };
    let mut response = again(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", &message);
    if let Some(seconds) = retry_after
        && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The application a sign-in is for (a sign-in in progress names a known client).
fn app_of<'t>(tenant: &'t Tenant, client_id: &str) -> App<'t> {
    App::by_id(tenant, client_id).unwrap_or(App {
        name: "the application",
        home: None,
    })
}

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
    let form = LoginForm {
        state: &state,
        csrf: &tx.csrf,
        app: app_of(&tenant, &tx.request.client_id),
        email: "",
        error: None,
    };
    login_page(StatusCode::OK, &form, &tx.request.redirect_uri)
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
        Err(error) => return error_page_for(&error, App::of_sign_in(&tenant, &state)),
    };
    let email = form
        .get("email")
        .map(|e| e.trim().to_lowercase())
        .unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let app = app_of(&tenant, &tx.request.client_id);
    let again = |status: StatusCode, code: &str, message: &str| {
        let form = LoginForm {
            state: &state,
            csrf: &tx.csrf,
            app,
            email: &email,
            error: Some((code, message)),
        };
        login_page(status, &form, &tx.request.redirect_uri)
    };
    let attempt = match tenant.runtime.throttle.begin(&email, peer.ip()) {
        Ok(attempt) => attempt,
        Err(refusal) => return refused(&again, &refusal),
    };
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
    // A failed attempt was counted before hashing; dropping it leaves it counted.
    let Some(user) = matches else {
        drop(attempt);
        return again(
            StatusCode::UNAUTHORIZED,
            "invalid_user_password",
            "Wrong email or password.",
        );
    };
    attempt.succeeded();
    let session = tenant.runtime.new_session(&user.id);
    tenant
        .runtime
        .transactions
        .set_user(&state, &user.id, &session.id);
    let consented = tenant.has_consent(&tx.request, &user);
    let mut response = if consented && tx.request.prompt != Some(Prompt::Consent) {
        match tenant.runtime.transactions.finish(&state) {
            Some(_) => respond::success(&tenant, &tx.request, &user, &session.id),
            None => error_page_for(
                &OAuthError::invalid_request("This login has already completed.").page_only(),
                Some(app),
            ),
        }
    } else {
        Redirect::to(&format!("{CONSENT}?state={state}")).into_response()
    };
    if let Some(cookie) = cookies::set_session(&session.id) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
