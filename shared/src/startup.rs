//! Start-up of the three functions: the typed error that stops a function before it serves
//! anything, and the JWKS warm-up they all run.
//!
//! Start-up errors are a different phase from request errors: a bad configuration must stop
//! the function at once with a message that names the variable and an example, instead of
//! failing every request later.

use std::process::ExitCode;

use thiserror::Error;

use crate::config::{ConfigError, SNAPSHOT_EXAMPLE};
use crate::jwks::JwksError;
use crate::token::TokenVerifier;

/// Why a function cannot start.
#[derive(Debug, Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot build the JWKS client: {0}")]
    Jwks(JwksError),
}

/// A bad `JWKS_SNAPSHOT` is a configuration error naming the variable, with an example; any
/// other JWKS error at start-up is the client's.
impl From<JwksError> for StartupError {
    fn from(error: JwksError) -> Self {
        match error {
            JwksError::Snapshot(why) => StartupError::Config(ConfigError {
                variable: "JWKS_SNAPSHOT",
                problem: format!(
                    "not a usable JWKS ({why}); make one with `organizer jwks-snapshot --issuer https://TENANT/`, or leave it empty to fetch the keys at start-up"
                ),
                example: SNAPSHOT_EXAMPLE,
            }),
            other => StartupError::Jwks(other),
        }
    }
}

impl StartupError {
    /// Prints the error for the person starting the function and logs it; the exit code to
    /// return from `main`.
    pub fn exit(&self) -> ExitCode {
        eprintln!("{self}");
        tracing::error!(event = "startup_failed", error = %self, "cannot start");
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
        tracing::warn!(event = "jwks_not_loaded", %error, "JWKS not loaded at start-up; will retry on the first request");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuthConfig;

    #[test]
    fn a_bad_jwks_snapshot_stops_start_up_naming_the_variable() {
        let jwks = crate::signing::jwks_document([crate::testing::shared_key()]).to_string();
        let good = AuthConfig::from_env(&[
            ("ISSUER", "http://localhost:4000/"),
            ("JWKS_SNAPSHOT", &jwks),
        ])
        .unwrap();
        assert!(
            TokenVerifier::from_config(&good)
                .unwrap()
                .keys()
                .serving_snapshot()
        );
        for bad in [
            "not json",
            r#"{"keys":[]}"#,
            r#"{"keys":[{"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"}]}"#,
            r#"[{"kty":"RSA"}]"#,
        ] {
            let config = AuthConfig::from_env(&[
                ("ISSUER", "http://localhost:4000/"),
                ("JWKS_SNAPSHOT", bad),
            ])
            .unwrap();
            let error = StartupError::from(TokenVerifier::from_config(&config).err().unwrap());
            let StartupError::Config(config_error) = &error else {
                panic!("{bad}: {error}");
            };
            assert_eq!(config_error.variable, "JWKS_SNAPSHOT", "{bad}");
            let msg = error.to_string();
            assert!(
                msg.contains(r#"JWKS_SNAPSHOT={"keys":[{"kty":"RSA""#),
                "{msg}"
            );
            assert!(msg.contains("jwks-snapshot"), "{msg}");
        }
    }
}
