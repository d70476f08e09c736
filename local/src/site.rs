//! The single-page app from `site/`, as CloudFront would serve it from S3: the files of
//! `site/public/`, auth0-js and auth0-spa-js (with its token worker) from `site/node_modules`
//! under `/vendor/` (the install step puts them there in AWS), and a `config.json` made for the
//! site's own origin.
//!
//! The config is generated because the dev tenant assigns client ids and tests pick ports: the
//! site on `http://localhost:3000` gets the SPA client whose `web_origins` list that origin, so
//! two sites on two ports are two applications of one tenant (single sign-on, single logout).
//! Which sign-in flow a site's app runs is the client's `client_metadata.spa_flow` in
//! `tenant.yaml` (`implicit`, the default, or `code`): a real Auth0 client property, so the
//! Deploy CLI imports it unchanged.
//!
//! `config.json`'s `services` is what the app draws its panels, forms and scopes from: the
//! manifest's public part (`Manifest::public_json`, the same `organizer services --json`
//! prints for the AWS bundle), so that the app holds no fact of any service.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use organizer_shared::manifest::manifest;
use serde_json::{Value, json};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::tenant::Tenant;

/// Where auth0-js lands after `npm ci --prefix site` (see `scripts/site-deps.sh`).
pub const AUTH0_JS: &str = "node_modules/auth0-js/dist/auth0.min.js";

/// Where auth0-spa-js lands (the code + PKCE flow), with the token worker it loads for its
/// in-memory cache: served from the site, because the CSP allows no `blob:` worker.
pub const AUTH0_SPA_JS: &str = "node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.production.js";
pub const AUTH0_SPA_JS_WORKER: &str =
    "node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.worker.production.js";

/// Auth0's advice: poll `checkSession` no more often than every 15 minutes.
pub const DEFAULT_SESSION_CHECK_SECONDS: u32 = 900;

/// What one site serves: its files and the `config.json` for its origin.
#[derive(Debug, Clone)]
pub struct Site {
    pub origin: String,
    pub site_dir: PathBuf,
    /// `None` when no SPA client of the tenant lists this origin in `web_origins`.
    pub config: Option<Value>,
    pub content_security_policy: String,
}

impl Site {
    /// The site at `origin` for `tenant`, calling the API at `api_url`; the app runs the flow
    /// of the client's `client_metadata.spa_flow`.
    pub fn new(
        origin: &str,
        site_dir: &Path,
        tenant: &Tenant,
        api_url: &str,
        session_check_seconds: u32,
    ) -> Self {
        let issuer = tenant.issuer.clone();
        let tenant_url = issuer.trim_end_matches('/').to_string();
        let api = tenant.file.logical_api();
        let config = tenant.spa_client_for(origin).map(|client| {
            let mut scope = vec!["openid", "profile", "email"];
            if let Some(api) = api {
                scope.extend(api.scopes.iter().map(|s| s.value.as_str()));
            }
            let flow = client.spec.spa_flow();
            json!({
                "clientName": client.spec.name,
                "flow": flow,
                // Tokens in memory only; `localstorage` is the operator's choice (docs/spa.md#configjson).
                "cacheLocation": "memory",
                "domain": tenant_url,
                "clientID": client.id,
                "audience": api.map(|a| a.identifier.as_str()),
                "scope": scope.join(" "),
                "redirectUri": format!("{origin}/callback.html"),
                "logoutReturnTo": origin,
                "apiBaseUrl": api_url,
                "sessionCheckSeconds": session_check_seconds,
                "services": manifest().public_json(),
                // auth0-js expects https://<domain>/ as issuer; the dev tenant is http.
                "overrides": {
                    "__token_issuer": issuer,
                    "__jwks_uri": format!("{tenant_url}/.well-known/jwks.json"),
                },
            })
        });
        // Scripts (and auth0-spa-js's token worker) and styles only from the site itself; the
        // token leaves only for the tenant (the silent iframe, the token endpoint) and the API.
        let content_security_policy = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self' {tenant_url} {api_url}; frame-src {tenant_url}; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"
        );
        Site {
            origin: origin.to_string(),
            site_dir: site_dir.to_path_buf(),
            config,
            content_security_policy,
        }
    }

    /// The API's DPoP mode (the template's `Dpop` parameter: `off`, `allowed`, `required`) in
    /// `config.json`: the code app then binds its tokens to a key (auth0-spa-js's `useDpop`),
    /// and the implicit app, which cannot, says so when DPoP is required.
    pub fn with_dpop(mut self, mode: &str) -> Self {
        if let Some(config) = self.config.as_mut() {
            config["dpop"] = json!(mode);
        }
        self
    }

    pub fn auth0_js_installed(&self) -> bool {
        [AUTH0_JS, AUTH0_SPA_JS, AUTH0_SPA_JS_WORKER]
            .iter()
            .all(|file| self.site_dir.join(file).is_file())
    }
}

async fn config_json(State(site): State<Arc<Site>>) -> Response {
    match &site.config {
        Some(config) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(config.clone()),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(json!({
                "error": "not_configured",
                "error_description": format!(
                    "no SPA client in tenant.yaml lists {} in web_origins", site.origin
                ),
            })),
        )
            .into_response(),
    }
}

/// No file of the site has a name over 255 bytes or a path over 1 KiB: such a request is a
/// plain 404, not the I/O error (ENAMETOOLONG) the file server would answer with a 500.
async fn refuse_impossible_paths(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.len() > 1024 || path.split('/').any(|segment| segment.len() > 255) {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

pub fn router(site: Site) -> Router {
    let public = site.site_dir.join("public");
    let auth0_js = site.site_dir.join(AUTH0_JS);
    let spa_js = site.site_dir.join(AUTH0_SPA_JS);
    let spa_js_worker = site.site_dir.join(AUTH0_SPA_JS_WORKER);
    let csp = HeaderValue::from_str(&site.content_security_policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
    Router::new()
        .route("/config.json", get(config_json))
        .route_service("/vendor/auth0.min.js", ServeFile::new(auth0_js))
        .route_service("/vendor/auth0-spa-js.production.js", ServeFile::new(spa_js))
        .route_service(
            "/vendor/auth0-spa-js.worker.production.js",
            ServeFile::new(spa_js_worker),
        )
        .fallback_service(ServeDir::new(public).append_index_html_on_directories(true))
        .with_state(Arc::new(site))
        .layer(middleware::from_fn(refuse_impossible_paths))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
}
