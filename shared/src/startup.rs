//! Start-up of the three functions: the typed error that stops a function before it serves
//! anything, and the JWKS warm-up they all run.
//!
//! Start-up errors are a different phase from request errors: a bad configuration must stop
//! the function at once with a message that names the variable and an example, instead of
//! failing every request later.

use std::process::ExitCode;

use thiserror::Error;

use crate::config::ConfigError;
use crate::jwks::JwksError;
use crate::token::TokenVerifier;

/// Why a function cannot start.
#[derive(Debug, Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot build the JWKS client: {0}")]
    Jwks(#[from] JwksError),
}

impl StartupError {
    /// Prints the error for the person starting the function and logs it; the exit code to
    /// return from `main`.
    pub fn exit(&self) -> ExitCode {
        eprintln!("{self}");
        tracing::error!(error = %self, "cannot start");
        ExitCode::FAILURE
    }
}

/// Loads the signing keys before the first request, so it does not wait for them. A failure
/// is only logged: the first request retries, and answers 503 while no key was ever loaded.
/// With a JWKS snapshot (`JWKS_SNAPSHOT`) the keys are there already: nothing is fetched now,
/// and their first use refreshes them in the background.
pub async fn warm_up(verifier: &TokenVerifier) {
    if verifier.keys().serving_snapshot() {
        return;
    }
    if let Err(error) = verifier.keys().refresh().await {
        tracing::warn!(%error, "JWKS not loaded at start-up; will retry on the first request");
    }
}
