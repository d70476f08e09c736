//! `tenant.yaml`: the parts of the Auth0 Deploy CLI format this project uses.
//!
//! Unknown keys are ignored (the file may carry settings only a real tenant uses); what the
//! dev tenant relies on is checked when the file is loaded, with a message that says where.

use std::path::Path;

use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TenantFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid Deploy CLI YAML: {source}")]
    Parse {
        path: String,
        source: serde_norway::Error,
    },
    #[error("{path}: {problem}")]
    Invalid { path: String, problem: String },
}

#[derive(Debug, Clone, Deserialize)]
pub struct TenantFile {
    /// Tenant settings (`tenant:`), with Auth0's defaults when absent.
    #[serde(default)]
    pub tenant: TenantSettings,
    #[serde(rename = "resourceServers", default)]
    pub resource_servers: Vec<ResourceServer>,
    #[serde(default)]
    pub clients: Vec<ClientSpec>,
    #[serde(rename = "clientGrants", default)]
    pub client_grants: Vec<ClientGrant>,
    #[serde(default)]
    pub databases: Vec<Database>,
    /// RBAC roles (assigned to users in the dev tenant's state folder: `users add --role`).
    #[serde(default)]
    pub roles: Vec<Role>,
}

/// The `tenant:` section, as the Deploy CLI names Auth0's tenant settings.
#[derive(Debug, Clone, Deserialize)]
pub struct TenantSettings {
    /// Hours a session lasts from sign-in, however often used. Auth0's default: 168 (7 days).
    #[serde(default = "week_in_hours")]
    pub session_lifetime: f64,
    /// Hours a session lasts without use. Auth0's default: 72 (3 days).
    #[serde(default = "three_days_in_hours")]
    pub idle_session_lifetime: f64,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            session_lifetime: week_in_hours(),
            idle_session_lifetime: three_days_in_hours(),
        }
    }
}

fn week_in_hours() -> f64 {
    168.0
}
fn three_days_in_hours() -> f64 {
    72.0
}

#[derive(Debug, Clone, Deserialize)]
pub struct ResourceServer {
    pub name: String,
    pub identifier: String,
    #[serde(default = "rs256")]
    pub signing_alg: String,
    #[serde(default)]
    pub scopes: Vec<Scope>,
    #[serde(default = "day")]
    pub token_lifetime: u64,
    #[serde(default = "two_hours")]
    pub token_lifetime_for_web: u64,
    /// RBAC: a user's token gets only the requested scopes their roles allow.
    #[serde(default)]
    pub enforce_policies: bool,
    /// `access_token` (default) or `access_token_authz` (adds `permissions`: everything the
    /// user's roles allow for this API).
    #[serde(default = "access_token_dialect")]
    pub token_dialect: String,
    /// Whether refresh tokens (`offline_access`) may be issued for this API.
    #[serde(default)]
    pub allow_offline_access: bool,
    /// Sender-constrained tokens (Auth0's "Token Sender-Constraining"). Absent or `null`: the
    /// API has no method, and its tokens are never bound (a proof sent is ignored).
    #[serde(default)]
    pub proof_of_possession: Option<ProofOfPossession>,
}

/// A resource server's `proof_of_possession:` (Deploy CLI 8.29+, Management API).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ProofOfPossession {
    /// `dpop`, or `none` (no method). Auth0's `mtls` is refused: the dev tenant has no TLS.
    pub mechanism: String,
    /// Whether the API's tokens must be sender-constrained: a token request without a proof is
    /// then refused. Default false: a proof, when sent, binds the token.
    #[serde(default)]
    pub required: bool,
    /// Which clients `required` applies to: `all_clients` (Auth0's default) or
    /// `public_clients` (confidential clients may then still get Bearer tokens).
    #[serde(default = "all_clients")]
    pub required_for: String,
}

fn all_clients() -> String {
    "all_clients".into()
}

/// What an API asks of a client's tokens, in the terms of Auth0's table ("Configure Sender
/// Constraining"): no method, a method (tokens bound when a proof comes), or binding required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderConstraint {
    None,
    Allowed,
    Required,
}

impl ResourceServer {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s.value == scope)
    }

    /// Whether tokens carry the user's `permissions` (RBAC's "add permissions").
    pub fn adds_permissions(&self) -> bool {
        self.token_dialect == "access_token_authz"
    }

    /// What this API asks of the tokens of a client (`confidential` or public).
    pub fn sender_constraint(&self, confidential: bool) -> SenderConstraint {
        match &self.proof_of_possession {
            Some(pop) if pop.mechanism == "dpop" => {
                let applies = pop.required_for == "all_clients" || !confidential;
                if pop.required && applies {
                    SenderConstraint::Required
                } else {
                    SenderConstraint::Allowed
                }
            }
            _ => SenderConstraint::None,
        }
    }
}

/// A role, in the Deploy CLI's `roles:` format: a name and permissions on APIs.
#[derive(Debug, Clone, Deserialize)]
pub struct Role {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Permission {
    pub permission_name: String,
    pub resource_server_identifier: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Scope {
    pub value: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClientSpec {
    pub name: String,
    #[serde(default)]
    pub app_type: String,
    #[serde(default)]
    pub callbacks: Vec<String>,
    #[serde(default)]
    pub allowed_logout_urls: Vec<String>,
    #[serde(default)]
    pub web_origins: Vec<String>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// Refresh-token settings, in the Deploy CLI's names; Auth0's defaults when absent.
    #[serde(default)]
    pub refresh_token: RefreshTokenSettings,
    /// Whether every token of this client must be sender-constrained (Auth0's "Require Sender
    /// Constraining"): a token request without a DPoP proof is refused. Default false.
    #[serde(default)]
    pub require_proof_of_possession: bool,
    /// Auth0's free-form client metadata; `spa_flow` (`implicit` or `code`) chooses the sign-in
    /// flow the local stack's site runs for this client.
    #[serde(default)]
    pub client_metadata: std::collections::BTreeMap<String, String>,
}

/// A client's `refresh_token:` settings (Auth0's defaults for a new SPA when absent).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct RefreshTokenSettings {
    /// `rotating` (every use answers a new token) or `non-rotating`.
    pub rotation_type: String,
    /// `expiring` or `non-expiring`.
    pub expiration_type: String,
    /// Seconds after a use during which the previous token may be exchanged again without
    /// counting as reuse. Default 0.
    pub leeway: u64,
    /// Absolute lifetime of a family of tokens, in seconds; rotation does not extend it.
    /// Default 2,592,000 (30 days).
    pub token_lifetime: u64,
    /// Lifetime of a token without use, in seconds; each exchange starts it again.
    /// Default 1,296,000 (15 days).
    pub idle_token_lifetime: u64,
    pub infinite_token_lifetime: bool,
    pub infinite_idle_token_lifetime: bool,
}

impl Default for RefreshTokenSettings {
    fn default() -> Self {
        Self {
            rotation_type: "rotating".into(),
            expiration_type: "expiring".into(),
            leeway: 0,
            token_lifetime: 2_592_000,
            idle_token_lifetime: 1_296_000,
            infinite_token_lifetime: false,
            infinite_idle_token_lifetime: false,
        }
    }
}

impl RefreshTokenSettings {
    pub fn rotates(&self) -> bool {
        self.rotation_type == "rotating"
    }
}

/// The `client_metadata` key of an SPA client that chooses its app's flow.
pub const SPA_FLOW_KEY: &str = "spa_flow";
/// The sign-in flows the SPA runs (`config.json`'s `flow`).
pub const SPA_FLOWS: [&str; 2] = ["implicit", "code"];

impl ClientSpec {
    /// Public clients (SPAs) have no secret to keep: `app_type: spa` or
    /// `token_endpoint_auth_method: none`.
    pub fn is_confidential(&self) -> bool {
        self.auth_method() != "none"
    }

    /// How the client authenticates at the token endpoint: `token_endpoint_auth_method`, or
    /// Auth0's default (`none` for SPAs, `client_secret_post` otherwise).
    pub fn auth_method(&self) -> &str {
        match self.token_endpoint_auth_method.as_deref() {
            Some(method) => method,
            None if self.app_type == "spa" => "none",
            None => "client_secret_post",
        }
    }

    /// The sign-in flow of this SPA client's app: `client_metadata.spa_flow`, `implicit` by
    /// default.
    pub fn spa_flow(&self) -> &str {
        self.client_metadata
            .get(SPA_FLOW_KEY)
            .map_or("implicit", String::as_str)
    }

    /// Whether `grant_types` lists `grant_type`.
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClientGrant {
    /// The client's *name*, as the Deploy CLI writes it.
    pub client_id: String,
    pub audience: String,
    #[serde(default)]
    pub scope: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Database {
    pub name: String,
    #[serde(default)]
    pub enabled_clients: Vec<String>,
}

fn access_token_dialect() -> String {
    "access_token".into()
}
fn rs256() -> String {
    "RS256".into()
}
fn day() -> u64 {
    86_400
}
fn two_hours() -> u64 {
    7_200
}

/// A resource server's `proof_of_possession:`, as Auth0 accepts it and the dev tenant can honour.
fn check_proof_of_possession(api: &str, pop: &ProofOfPossession) -> Result<(), String> {
    match pop.mechanism.as_str() {
        "dpop" | "none" => {}
        "mtls" => {
            return Err(format!(
                "resource server {api}: proof_of_possession.mechanism \"mtls\" is not supported by the dev tenant (it serves no TLS); use dpop or none"
            ));
        }
        other => {
            return Err(format!(
                "resource server {api}: proof_of_possession.mechanism {other:?} is not one of dpop, none"
            ));
        }
    }
    if !matches!(pop.required_for.as_str(), "all_clients" | "public_clients") {
        return Err(format!(
            "resource server {api}: proof_of_possession.required_for {:?} is not one of all_clients, public_clients",
            pop.required_for
        ));
    }
    if pop.required && pop.mechanism == "none" {
        return Err(format!(
            "resource server {api}: proof_of_possession.required needs a mechanism (dpop), not none"
        ));
    }
    Ok(())
}

impl TenantFile {
    pub fn load(path: &Path) -> Result<Self, TenantFileError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TenantFileError::Read {
            path: display.clone(),
            source,
        })?;
        let file: TenantFile =
            serde_norway::from_str(&text).map_err(|source| TenantFileError::Parse {
                path: display.clone(),
                source,
            })?;
        file.check().map_err(|problem| TenantFileError::Invalid {
            path: display,
            problem,
        })?;
        Ok(file)
    }

    fn check(&self) -> Result<(), String> {
        if self.resource_servers.is_empty() {
            return Err(
                "resourceServers lists no API: the local stack serves the first one (organize)"
                    .into(),
            );
        }
        for (name, hours) in [
            ("session_lifetime", self.tenant.session_lifetime),
            ("idle_session_lifetime", self.tenant.idle_session_lifetime),
        ] {
            // At most ten years: a Duration of more overflows nothing, but nobody means it.
            if !(hours.is_finite() && hours > 0.0 && hours <= 87_600.0) {
                return Err(format!(
                    "tenant.{name}: {hours} is not a number of hours above 0"
                ));
            }
        }
        for api in &self.resource_servers {
            if api.signing_alg != "RS256" {
                return Err(format!(
                    "resource server {}: only signing_alg RS256 is supported",
                    api.identifier
                ));
            }
        }
        for (i, c) in self.clients.iter().enumerate() {
            if self.clients[..i].iter().any(|o| o.name == c.name) {
                return Err(format!("two clients are named {:?}", c.name));
            }
            if !matches!(
                c.auth_method(),
                "none" | "client_secret_post" | "client_secret_basic"
            ) {
                return Err(format!(
                    "client {:?}: token_endpoint_auth_method {:?} is not supported (none, client_secret_post, client_secret_basic)",
                    c.name,
                    c.auth_method()
                ));
            }
            if c.app_type == "spa" && c.auth_method() != "none" {
                return Err(format!(
                    "client {:?}: a spa cannot keep a secret; use token_endpoint_auth_method: none",
                    c.name
                ));
            }
            if !SPA_FLOWS.contains(&c.spa_flow()) {
                return Err(format!(
                    "client {:?}: client_metadata.{SPA_FLOW_KEY} {:?} is not one of {SPA_FLOWS:?}",
                    c.name,
                    c.spa_flow()
                ));
            }
            let rt = &c.refresh_token;
            if !matches!(rt.rotation_type.as_str(), "rotating" | "non-rotating")
                || !matches!(rt.expiration_type.as_str(), "expiring" | "non-expiring")
            {
                return Err(format!(
                    "client {:?}: refresh_token rotation_type must be rotating or non-rotating, expiration_type expiring or non-expiring",
                    c.name
                ));
            }
            // As Auth0: refresh tokens in a browser always rotate and always expire.
            if !c.is_confidential()
                && c.allows_grant("refresh_token")
                && (!rt.rotates()
                    || rt.expiration_type != "expiring"
                    || rt.infinite_token_lifetime
                    || rt.infinite_idle_token_lifetime)
            {
                return Err(format!(
                    "client {:?}: a public client's refresh tokens must rotate and expire (rotation_type: rotating, expiration_type: expiring)",
                    c.name
                ));
            }
            if !c.is_confidential() && c.allows_grant("client_credentials") {
                return Err(format!(
                    "client {:?} is public (no secret) and cannot use client_credentials",
                    c.name
                ));
            }
            for url in c
                .callbacks
                .iter()
                .chain(&c.allowed_logout_urls)
                .chain(&c.web_origins)
            {
                // Printable ASCII only: these URLs end up in Location headers verbatim.
                if !(url.starts_with("http://") || url.starts_with("https://"))
                    || !url.bytes().all(|b| b.is_ascii_graphic())
                {
                    return Err(format!(
                        "client {:?}: {url:?} is not an http(s) URL",
                        c.name
                    ));
                }
            }
        }
        for api in &self.resource_servers {
            if let Some(pop) = &api.proof_of_possession {
                check_proof_of_possession(&api.identifier, pop)?;
            }
            if !matches!(
                api.token_dialect.as_str(),
                "access_token" | "access_token_authz"
            ) {
                return Err(format!(
                    "resource server {}: token_dialect {:?} is not supported (access_token, access_token_authz)",
                    api.identifier, api.token_dialect
                ));
            }
        }
        for (i, role) in self.roles.iter().enumerate() {
            if self.roles[..i].iter().any(|r| r.name == role.name) {
                return Err(format!("two roles are named {:?}", role.name));
            }
            for p in &role.permissions {
                let known = self
                    .api(&p.resource_server_identifier)
                    .is_some_and(|api| api.has_scope(&p.permission_name));
                if !known {
                    return Err(format!(
                        "role {:?}: permission {:?} is not a scope of API {:?}",
                        role.name, p.permission_name, p.resource_server_identifier
                    ));
                }
            }
        }
        for d in &self.databases {
            for name in &d.enabled_clients {
                if !self.clients.iter().any(|c| &c.name == name) {
                    return Err(format!(
                        "database {:?}: enabled_clients names an unknown client {name:?}",
                        d.name
                    ));
                }
            }
        }
        for g in &self.client_grants {
            if !self.clients.iter().any(|c| c.name == g.client_id) {
                return Err(format!("client grant for unknown client {:?}", g.client_id));
            }
            let Some(api) = self
                .resource_servers
                .iter()
                .find(|r| r.identifier == g.audience)
            else {
                return Err(format!("client grant to unknown audience {:?}", g.audience));
            };
            for s in &g.scope {
                if !api.scopes.iter().any(|d| &d.value == s) {
                    return Err(format!(
                        "client grant for {:?}: scope {s:?} is not defined on {}",
                        g.client_id, api.identifier
                    ));
                }
            }
        }
        Ok(())
    }

    /// The logical API the local stack serves: the first resource server of the file (its
    /// identifier is the audience and realm of the local API; `organize` in this project).
    pub fn logical_api(&self) -> Option<&ResourceServer> {
        self.resource_servers.first()
    }

    pub fn api(&self, identifier: &str) -> Option<&ResourceServer> {
        self.resource_servers
            .iter()
            .find(|r| r.identifier == identifier)
    }

    /// What the roles named `roles` allow on API `identifier` (RBAC's permissions).
    pub fn permissions(&self, roles: &[String], identifier: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for role in self.roles.iter().filter(|r| roles.contains(&r.name)) {
            for p in &role.permissions {
                if p.resource_server_identifier == identifier && !out.contains(&p.permission_name) {
                    out.push(p.permission_name.clone());
                }
            }
        }
        out
    }

    /// Whether a database connection of the file lists this client (by name) in
    /// `enabled_clients`: only then may the client sign users in.
    pub fn connection_enabled_for(&self, client_name: &str) -> bool {
        self.databases
            .iter()
            .any(|d| d.enabled_clients.iter().any(|c| c == client_name))
    }

    pub fn grant(&self, client_name: &str, audience: &str) -> Option<&ClientGrant> {
        self.client_grants
            .iter()
            .find(|g| g.client_id == client_name && g.audience == audience)
    }
}
