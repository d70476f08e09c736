//! `Tenant`: everything the dev tenant's endpoints share — its issuer, `tenant.yaml`, its
//! clients with the credentials it assigned, its signing keys, its users and what it
//! remembers between requests. Built once at start-up; every endpoint borrows it.
//!
//! The lookups endpoints need (a user by id, by `sub`, by email; whether a client may use a
//! grant) are methods here, so each rule is written once.

use std::sync::Arc;

use organizer_shared::{AuthConfig, JwksCache, TokenVerifier};
use serde::Serialize;

use super::auth_request::{AuthRequest, OIDC_SCOPES};
use super::config::{ClientSpec, ResourceServer, TenantFile};
use super::dpop::Dpop;
use super::error::OAuthError;
use super::session::{Runtime, SessionLifetimes};
use super::state::{KeyRing, StateDir, StateError};
use super::users::{User, UserFile};

/// A client of the tenant: its `tenant.yaml` entry and the credentials the tenant assigned.
pub struct Client {
    pub spec: ClientSpec,
    pub id: String,
    pub secret: String,
}

impl Client {
    /// Public clients (SPAs) have no secret to keep: `token_endpoint_auth_method: none`.
    pub fn is_confidential(&self) -> bool {
        self.spec.is_confidential()
    }

    /// Whether `tenant.yaml` lets this client use `grant_type` (`implicit`,
    /// `authorization_code`, `client_credentials`, ...).
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.spec.allows_grant(grant_type)
    }
}

pub struct Tenant {
    /// Exactly `http://localhost:PORT/`, as Auth0 writes issuers.
    pub issuer: String,
    pub file: TenantFile,
    pub clients: Vec<Client>,
    pub keys: KeyRing,
    /// The database connection's users, read at start-up.
    pub users: Vec<User>,
    /// Sessions, sign-ins in progress, consents, codes, failed logins.
    pub runtime: Runtime,
    /// Checks access tokens sent to `/userinfo` (audience: that endpoint).
    pub userinfo_verifier: Arc<TokenVerifier>,
    /// DPoP proofs (replay store, server nonces) and what they bind.
    pub dpop: Dpop,
}

impl Tenant {
    pub fn load(issuer: String, file: TenantFile, state: &StateDir) -> Result<Self, StateError> {
        let names: Vec<String> = file.clients.iter().map(|c| c.name.clone()).collect();
        let credentials = state.clients(&names)?;
        let clients = file
            .clients
            .iter()
            .filter_map(|spec| {
                credentials.get(&spec.name).map(|c| Client {
                    spec: spec.clone(),
                    id: c.client_id.clone(),
                    secret: c.client_secret.clone(),
                })
            })
            .collect();
        let users = UserFile::new(state.root())
            .load()
            .map_err(|e| StateError::Damaged {
                path: "users.json".into(),
                problem: e.to_string(),
            })?;
        let keys = state.keys()?;
        let userinfo_verifier = userinfo_verifier(&issuer, &keys)?;
        let runtime = Runtime::new(SessionLifetimes::from(&file.tenant));
        let dpop = Dpop::new(&issuer).map_err(|e| StateError::Damaged {
            path: "dpop nonce secret".into(),
            problem: e.to_string(),
        })?;
        Ok(Self {
            issuer,
            file,
            clients,
            keys,
            users,
            runtime,
            userinfo_verifier,
            dpop,
        })
    }

    pub fn client_by_id(&self, id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.id == id)
    }

    pub fn client_by_name(&self, name: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.spec.name == name)
    }

    /// The single-page application served at `origin`: the first `spa` client whose
    /// `web_origins` list it. The site's `config.json` and the start-up banner both name it.
    pub fn spa_client_for(&self, origin: &str) -> Option<&Client> {
        self.clients
            .iter()
            .find(|c| c.spec.app_type == "spa" && c.spec.web_origins.iter().any(|o| o == origin))
    }

    /// The user with this id (Auth0's `user_id` without the `auth0|` prefix).
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The user an access token's `sub` names.
    pub fn user_by_sub(&self, sub: &str) -> Option<&User> {
        self.users.iter().find(|u| u.sub() == sub)
    }

    /// The user with this email, already trimmed and lower-cased.
    pub fn user_by_email(&self, email: &str) -> Option<&User> {
        self.users.iter().find(|u| u.email == email)
    }

    /// The API (resource server) with this identifier.
    pub fn api(&self, identifier: &str) -> Option<&ResourceServer> {
        self.file.api(identifier)
    }

    /// What `user`'s roles allow on `api` (RBAC's permissions).
    pub fn permissions(&self, user: &User, api: &ResourceServer) -> Vec<String> {
        self.file.permissions(&user.roles, &api.identifier)
    }

    /// The scopes `user` gets for `request`: what was asked for, and when the API enforces
    /// RBAC (`enforce_policies`), only the API scopes the user's roles allow (OpenID scopes,
    /// and `offline_access`, are kept), as Auth0 issues them.
    pub fn granted_scopes(&self, request: &AuthRequest, user: &User) -> Vec<String> {
        let api = request.audience.as_deref().and_then(|a| self.api(a));
        match api {
            Some(api) if api.enforce_policies => {
                let allowed = self.permissions(user, api);
                request
                    .scopes
                    .iter()
                    .filter(|s| !api.has_scope(s) || allowed.contains(s))
                    .cloned()
                    .collect()
            }
            _ => request.scopes.clone(),
        }
    }

    /// The consent `user` must have given this client for `request`.
    pub fn consent_keys(&self, request: &AuthRequest, user: &User) -> Vec<String> {
        request.consent_keys(&self.granted_scopes(request, user))
    }

    /// Whether `user` has consented to everything `request` would give this client.
    pub fn has_consent(&self, request: &AuthRequest, user: &User) -> bool {
        self.runtime.has_consent(
            &user.id,
            &request.client_id,
            &self.consent_keys(request, user),
        )
    }

    pub fn scopes_supported(&self) -> Vec<String> {
        let mut scopes: Vec<String> = OIDC_SCOPES.iter().map(|s| s.to_string()).collect();
        for api in &self.file.resource_servers {
            scopes.extend(api.scopes.iter().map(|s| s.value.clone()));
        }
        scopes
    }

    /// Whether the tenant's cookies get `Secure`: when it is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// Signs claims with the active key.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, OAuthError> {
        self.keys.active().sign(claims).map_err(|e| {
            tracing::error!(event = "signing_failed", error = %e, "signing failed");
            OAuthError::server_error("the token could not be signed")
        })
    }
}

/// `/userinfo` checks tokens with the tenant's own keys, loaded in process (no HTTP fetch).
fn userinfo_verifier(issuer: &str, keys: &KeyRing) -> Result<Arc<TokenVerifier>, StateError> {
    let config = AuthConfig::for_issuer(issuer.to_string(), format!("{issuer}userinfo"));
    let damaged = |e: String| StateError::Damaged {
        path: "keys".into(),
        problem: e,
    };
    let cache = JwksCache::new(&config).map_err(|e| damaged(e.to_string()))?;
    cache
        .load(
            organizer_shared::signing::jwks_document(keys.keys.iter())
                .to_string()
                .as_bytes(),
        )
        .map_err(|e| damaged(e.to_string()))?;
    Ok(Arc::new(TokenVerifier::new(&config, cache)))
}
