//! The checks every sign-in page and form makes on the transaction it belongs to.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::Tenant;
use super::authorize::same_browser;
use super::pages::error_page;
use super::session::Transaction;

/// The transaction named by `state`: known and unexpired, started by this browser, and, for a
/// posted form (`csrf` given), sent by the page that carries its CSRF token. Otherwise the
/// error page to answer with.
pub fn transaction_for(
    tenant: &Tenant,
    headers: &HeaderMap,
    state: &str,
    csrf: Option<&str>,
) -> Result<Transaction, Box<Response>> {
    let Some(tx) = tenant.runtime.transaction(state) else {
        return Err(Box::new(error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "This sign-in has expired or is unknown: start again from the application.",
        )));
    };
    if !same_browser(headers, &tx.browser) {
        return Err(Box::new(error_page(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "This sign-in was started in another browser (or its cookies were cleared): start again from the application.",
        )));
    }
    if let Some(sent) = csrf
        && aws_lc_rs::constant_time::verify_slices_are_equal(sent.as_bytes(), tx.csrf.as_bytes())
            .is_err()
    {
        return Err(Box::new(error_page(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "The form was not sent by this page (CSRF check failed). Reload and try again.",
        )));
    }
    Ok(tx)
}
