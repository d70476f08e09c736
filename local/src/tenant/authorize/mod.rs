//! `GET /authorize`: validates the request the way Auth0 does ([`validate`]), then answers at
//! once (SSO session and consent in place, or `prompt=none`), or sends the browser to the
//! login or consent page with a sign-in transaction bound to this browser.

pub mod validate;

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::auth_request::{AuthRequest, Prompt, ResponseMode};
use super::context::Tenant;
use super::cookies;
use super::error::OAuthError;
use super::pages::{App, error_page, error_page_for};
use super::respond::{self, Channel, reply};
use super::routes::{CONSENT, LOGIN};
use super::state::random_token;

pub async fn authorize(
    State(tenant): State<Arc<Tenant>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match validate::query_params(&query.unwrap_or_default()) {
        Ok(params) => params,
        Err(error) => return reply(error, Channel::Browser(None)),
    };
    let mut request = match validate::addressee(&tenant, &params) {
        Ok(request) => request,
        // Never sent to the request's redirect_uri (it is what failed), but a client the tenant
        // knows gets its name and the way back to its registered address on the page.
        Err(error) => {
            let app = params
                .get("client_id")
                .and_then(|id| App::by_id(&tenant, id));
            return error_page_for(&error, app);
        }
    };
    if let Err(error) = validate::complete(&tenant, &mut request, &params) {
        return reply(error, Channel::Browser(Some(&request)));
    }
    let to_client = Channel::Browser(Some(&request));
    let session = cookies::session(&headers).and_then(|id| tenant.runtime.session(&id));
    let user = session.as_ref().and_then(|s| tenant.user(&s.user_id));
    let consented = user.is_some_and(|u| tenant.has_consent(&request, u));
    // checkSession() runs in a hidden iframe, where no page can be shown (pages refuse to be
    // framed): answer with a message at once rather than leave it to time out.
    let interactive = user.is_none()
        || !consented
        || matches!(request.prompt, Some(Prompt::Login | Prompt::Consent));
    if request.mode == ResponseMode::WebMessage
        && request.prompt != Some(Prompt::None)
        && interactive
    {
        let description = "User interaction is required";
        let error = match (user, consented) {
            (None, _) => OAuthError::login_required(description),
            (Some(_), false) => OAuthError::consent_required(description),
            (Some(_), true) => OAuthError::interaction_required(description),
        };
        return reply(error, to_client);
    }
    match (&request.prompt, user, session) {
        (Some(Prompt::None), None, _) => {
            reply(OAuthError::login_required("Login required"), to_client)
        }
        (Some(Prompt::None), Some(_), _) if !consented => {
            reply(OAuthError::consent_required("Consent required"), to_client)
        }
        (Some(Prompt::None), Some(user), Some(session)) => {
            respond::success(&tenant, &request, user, &session.id)
        }
        (None, Some(user), Some(session)) if consented => {
            respond::success(&tenant, &request, user, &session.id)
        }
        (Some(Prompt::Consent) | None, Some(user), Some(session)) => begin(
            &tenant,
            &headers,
            request,
            Some((&user.id, &session.id)),
            CONSENT,
        ),
        _ => begin(&tenant, &headers, request, None, LOGIN),
    }
}

/// Starts a sign-in transaction bound to this browser and sends it to the login or consent page.
fn begin(
    tenant: &Tenant,
    headers: &HeaderMap,
    request: AuthRequest,
    signed_in: Option<(&str, &str)>,
    page: &str,
) -> Response {
    let existing = cookies::browser(headers);
    let browser = existing.clone().unwrap_or_else(|| random_token(24));
    let Ok(tx) = tenant.runtime.transactions.start(request, &browser) else {
        // Never evict another browser's live sign-in to make room.
        let mut response = error_page(
            &OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "Too many sign-ins are in progress. Try again in a few minutes.",
            )
            .page_only(),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return response;
    };
    if let Some((user_id, session_id)) = signed_in {
        tenant
            .runtime
            .transactions
            .set_user(&tx, user_id, session_id);
    }
    let mut response = Redirect::to(&format!("{page}?state={tx}")).into_response();
    if existing.is_none()
        && let Some(cookie) = cookies::set_browser(&browser, tenant.secure_cookies())
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
