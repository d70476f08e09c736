//! Start-up configuration read from the environment.
//!
//! Every function fails fast at start-up when its configuration is missing or wrong, with a
//! message that names the variable and shows an example, instead of failing every request later.

use std::time::Duration;

use thiserror::Error;

/// A configuration problem found at start-up. The message names the variable and an example.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("configuration error: {variable}: {problem} (example: {variable}={example})")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
    pub example: &'static str,
}

impl ConfigError {
    fn new(variable: &'static str, problem: impl Into<String>, example: &'static str) -> Self {
        Self {
            variable,
            problem: problem.into(),
            example,
        }
    }
}

/// Where configuration values come from; the process environment in production, a map in tests.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_string())
    }
}

/// The audience when `AUDIENCE` is not set: the identifier of this project's logical API, as
/// `tenant.yaml` and `template.yaml` name it.
pub const DEFAULT_AUDIENCE: &str = "organize";

/// The most leeway we allow for clock skew: RFC 8725 asks for a small window, Auth0's SDKs use 60 s.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// The shortest JWKS cooldown the configuration accepts.
pub const MIN_COOLDOWN: Duration = Duration::from_secs(5);

/// How access tokens are verified: who issues them, for which API, and where the keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Expected `iss`, compared byte for byte (Auth0 issuers end with a slash).
    pub issuer: String,
    /// Expected member of `aud`. Defaults to `organize`, the logical API's identifier.
    pub audience: String,
    /// Where the signing keys are published. Defaults to issuer + `.well-known/jwks.json`.
    pub jwks_uri: String,
    /// Clock-skew allowance for `exp`, `nbf` and `iat`. Defaults to 30 s, at most 60 s.
    pub leeway: Duration,
    /// How long an unknown `kid` waits before it may trigger another JWKS fetch. Defaults to 30 s.
    pub jwks_cooldown: Duration,
    /// Keys older than this are refreshed in the background. Defaults to 10 minutes.
    pub jwks_max_age: Duration,
    /// A JWKS given at deploy time (`JWKS_SNAPSHOT`), checked when the `JwksCache` is built (a
    /// bad one stops start-up, naming the variable): its keys serve the first requests without
    /// waiting on the network, and are refreshed from `jwks_uri` on first use (see
    /// [`crate::jwks`]). Defaults to none: keys are fetched at start-up.
    pub jwks_snapshot: Option<String>,
}

/// An example of `JWKS_SNAPSHOT`, for error messages.
pub const SNAPSHOT_EXAMPLE: &str = r#"{"keys":[{"kty":"RSA","kid":"<kid>","use":"sig","alg":"RS256","n":"<modulus>","e":"AQAB"}]}"#;

impl AuthConfig {
    /// Reads `AUTH0_DOMAIN` or `ISSUER`, `AUDIENCE`, `JWKS_URI`, `TOKEN_LEEWAY_SECONDS`,
    /// `JWKS_COOLDOWN_SECONDS`, `JWKS_MAX_AGE_SECONDS` and `JWKS_SNAPSHOT`.
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let issuer = match (non_empty(env, "ISSUER"), non_empty(env, "AUTH0_DOMAIN")) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "ISSUER",
                    "set either ISSUER or AUTH0_DOMAIN, not both",
                    "http://localhost:4000/",
                ));
            }
            (Some(issuer), None) => parse_issuer(&issuer)?,
            (None, Some(domain)) => issuer_from_domain(&domain)?,
            (None, None) => {
                return Err(ConfigError::new(
                    "AUTH0_DOMAIN",
                    "missing: set AUTH0_DOMAIN to your Auth0 tenant's domain, or ISSUER to a full issuer URL",
                    "my-tenant.eu.auth0.com",
                ));
            }
        };
        let audience = non_empty(env, "AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_string());
        let jwks_uri = match non_empty(env, "JWKS_URI") {
            Some(uri) => {
                if !is_acceptable_url(&uri) {
                    return Err(ConfigError::new(
                        "JWKS_URI",
                        "must be an https URL (http only for localhost)",
                        "https://my-tenant.eu.auth0.com/.well-known/jwks.json",
                    ));
                }
                uri
            }
            // Derived from the issuer, which passed the same rule.
            None => default_jwks_uri(&issuer),
        };
        let leeway = seconds(env, "TOKEN_LEEWAY_SECONDS", 30, "30")?;
        if leeway > MAX_LEEWAY {
            return Err(ConfigError::new(
                "TOKEN_LEEWAY_SECONDS",
                "at most 60 seconds",
                "30",
            ));
        }
        Ok(Self {
            issuer,
            audience,
            jwks_uri,
            leeway,
            jwks_cooldown: {
                let cooldown = seconds(env, "JWKS_COOLDOWN_SECONDS", 30, "30")?;
                // Without a floor, made-up kids could make us fetch the JWKS back to back.
                if cooldown < MIN_COOLDOWN {
                    return Err(ConfigError::new(
                        "JWKS_COOLDOWN_SECONDS",
                        "at least 5 seconds",
                        "30",
                    ));
                }
                cooldown
            },
            jwks_max_age: seconds(env, "JWKS_MAX_AGE_SECONDS", 600, "600")?,
            jwks_snapshot: non_empty(env, "JWKS_SNAPSHOT"),
        })
    }

    /// A configuration for a given issuer with every other value at its default.
    pub fn for_issuer(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        let issuer = issuer.into();
        Self {
            jwks_uri: default_jwks_uri(&issuer),
            issuer,
            audience: audience.into(),
            leeway: Duration::from_secs(30),
            jwks_cooldown: Duration::from_secs(30),
            jwks_max_age: Duration::from_secs(600),
            jwks_snapshot: None,
        }
    }
}

/// Auth0 publishes its keys at issuer + `.well-known/jwks.json` (its issuers end with '/').
fn default_jwks_uri(issuer: &str) -> String {
    let sep = if issuer.ends_with('/') { "" } else { "/" };
    format!("{issuer}{sep}.well-known/jwks.json")
}

/// Keys fetched over plain http could be swapped by anyone on the path: http is allowed only
/// for a tenant on this machine (the dev tenant).
pub fn is_acceptable_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, port)) => (format!("[{addr}]"), port.strip_prefix(':').unwrap_or(port)),
            None => return false,
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host.to_string(), port),
            None => (authority.to_string(), ""),
        },
    };
    let host = host.as_str();
    if !port.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

fn non_empty(env: &impl Env, name: &str) -> Option<String> {
    env.get(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A full issuer URL: https, or http for a tenant on this machine only — the JWKS URL is
/// derived from it, and keys fetched over plain http from elsewhere could be swapped on the way.
fn parse_issuer(issuer: &str) -> Result<String, ConfigError> {
    let example = "https://my-tenant.eu.auth0.com/";
    if !is_acceptable_url(issuer) {
        return Err(ConfigError::new(
            "ISSUER",
            "must be an https URL (http only for localhost, 127.0.0.1 or [::1])",
            example,
        ));
    }
    Ok(issuer.to_string())
}

fn issuer_from_domain(domain: &str) -> Result<String, ConfigError> {
    let example = "my-tenant.eu.auth0.com";
    let host = domain.trim_end_matches('/');
    if host.contains("://") {
        return Err(ConfigError::new(
            "AUTH0_DOMAIN",
            "a domain without scheme (use ISSUER for a full URL)",
            example,
        ));
    }
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    if !valid {
        return Err(ConfigError::new(
            "AUTH0_DOMAIN",
            format!("not a host name: {host:?}"),
            example,
        ));
    }
    Ok(format!("https://{host}/"))
}

fn seconds(
    env: &impl Env,
    name: &'static str,
    default: u64,
    example: &'static str,
) -> Result<Duration, ConfigError> {
    match non_empty(env, name) {
        None => Ok(Duration::from_secs(default)),
        Some(v) => v.parse::<u64>().map(Duration::from_secs).map_err(|_| {
            ConfigError::new(
                name,
                format!("not a whole number of seconds: {v:?}"),
                example,
            )
        }),
    }
}

/// Reads an optional variable, or its default.
pub fn var_or(env: &impl Env, name: &str, default: &str) -> String {
    non_empty(env, name).unwrap_or_else(|| default.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_becomes_https_issuer_with_slash() {
        let c = AuthConfig::from_env(&[("AUTH0_DOMAIN", "t.eu.auth0.com")]).unwrap();
        assert_eq!(c.issuer, "https://t.eu.auth0.com/");
        assert_eq!(c.audience, "organize");
        assert_eq!(c.jwks_uri, "https://t.eu.auth0.com/.well-known/jwks.json");
        assert_eq!(c.leeway, Duration::from_secs(30));
    }

    #[test]
    fn issuer_is_kept_exactly() {
        let c = AuthConfig::from_env(&[("ISSUER", "http://localhost:4000/"), ("AUDIENCE", "x")])
            .unwrap();
        assert_eq!(c.issuer, "http://localhost:4000/");
        assert_eq!(c.audience, "x");
        assert_eq!(c.jwks_uri, "http://localhost:4000/.well-known/jwks.json");
        for local in [
            "http://127.0.0.1:4000/",
            "http://[::1]:4000/",
            "http://localhost/",
        ] {
            assert!(
                AuthConfig::from_env(&[("ISSUER", local), ("X", "")]).is_ok(),
                "{local}"
            );
        }
        // No slash is added to the issuer itself: `iss` must match what was configured.
        let c = AuthConfig::from_env(&[("ISSUER", "https://idp.example"), ("X", "")]).unwrap();
        assert_eq!(c.issuer, "https://idp.example");
        assert_eq!(c.jwks_uri, "https://idp.example/.well-known/jwks.json");
    }

    #[test]
    fn missing_issuer_names_the_variable_and_an_example() {
        let e = AuthConfig::from_env(&[("AUDIENCE", "organize")]).unwrap_err();
        assert_eq!(e.variable, "AUTH0_DOMAIN");
        let msg = e.to_string();
        assert!(msg.contains("AUTH0_DOMAIN=my-tenant.eu.auth0.com"), "{msg}");
    }

    #[test]
    fn a_jwks_snapshot_is_read() {
        let c = AuthConfig::from_env(&[
            ("ISSUER", "http://localhost:4000/"),
            ("JWKS_SNAPSHOT", "{}"),
        ])
        .unwrap();
        assert_eq!(c.jwks_snapshot.as_deref(), Some("{}"));
        let none =
            AuthConfig::from_env(&[("ISSUER", "http://localhost:4000/"), ("JWKS_SNAPSHOT", " ")])
                .unwrap();
        assert_eq!(none.jwks_snapshot, None);
    }

    #[test]
    fn bad_values_are_rejected_at_start_up() {
        for (env, var) in [
            ([("ISSUER", "localhost:4000/"), ("X", "")], "ISSUER"),
            (
                [("AUTH0_DOMAIN", "https://t.auth0.com"), ("X", "")],
                "AUTH0_DOMAIN",
            ),
            (
                [("AUTH0_DOMAIN", "t.auth0.com/x y"), ("X", "")],
                "AUTH0_DOMAIN",
            ),
            (
                [
                    ("AUTH0_DOMAIN", "t.auth0.com"),
                    ("TOKEN_LEEWAY_SECONDS", "61"),
                ],
                "TOKEN_LEEWAY_SECONDS",
            ),
            (
                [
                    ("AUTH0_DOMAIN", "t.auth0.com"),
                    ("TOKEN_LEEWAY_SECONDS", "-1"),
                ],
                "TOKEN_LEEWAY_SECONDS",
            ),
            (
                [
                    ("AUTH0_DOMAIN", "t.auth0.com"),
                    ("JWKS_URI", "file:///etc/passwd"),
                ],
                "JWKS_URI",
            ),
            (
                [("AUTH0_DOMAIN", "t.auth0.com"), ("ISSUER", "http://a/")],
                "ISSUER",
            ),
            // Plain http is for a tenant on this machine only, for the issuer as for JWKS_URI.
            ([("ISSUER", "http://idp.example/"), ("X", "")], "ISSUER"),
            (
                [("ISSUER", "http://localhost.evil.example/"), ("X", "")],
                "ISSUER",
            ),
            (
                [("ISSUER", "http://127.0.0.1.nip.io:4000/"), ("X", "")],
                "ISSUER",
            ),
            ([("ISSUER", "ftp://localhost/"), ("X", "")], "ISSUER"),
        ] {
            assert_eq!(
                AuthConfig::from_env(&env).unwrap_err().variable,
                var,
                "{env:?}"
            );
        }
    }
}
