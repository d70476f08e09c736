//! The checks every sign-in page and form makes on the transaction it belongs to.

use axum::http::{HeaderMap, StatusCode};

use super::context::Tenant;
use super::cookies::same_browser;
use super::error::OAuthError;
use super::transactions::Transaction;

/// The answer for a transaction that is unknown, expired or already finished.
pub fn expired() -> OAuthError {
    OAuthError::invalid_request(
        "This sign-in has expired or is unknown: start again from the application.",
    )
    .page_only()
}

/// The transaction named by `state`: known and unexpired, started by this browser, and, for a
/// posted form (`csrf` given), sent by the page that carries its CSRF token. Otherwise the
/// error to show as a page.
pub fn transaction_for(
    tenant: &Tenant,
    headers: &HeaderMap,
    state: &str,
    csrf: Option<&str>,
) -> Result<Transaction, OAuthError> {
    let tx = tenant.runtime.transactions.get(state).ok_or_else(expired)?;
    if !same_browser(headers, &tx.browser) {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "This sign-in was started in another browser (or its cookies were cleared): start again from the application.",
        )
        .page_only());
    }
    if let Some(sent) = csrf
        && aws_lc_rs::constant_time::verify_slices_are_equal(sent.as_bytes(), tx.csrf.as_bytes())
            .is_err()
    {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "invalid_request",
            "The form was not sent by this page (CSRF check failed). Reload and try again.",
        )
        .page_only());
    }
    Ok(tx)
}
