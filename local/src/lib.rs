//! The offline local stack: the dev tenant, the API (the local API Gateway, running the HTTP
//! API of `template.yaml`) and the static site, started together by `cargo run` and stopped
//! together by Ctrl-C. Tests start the same stack on free ports.

pub mod events;
pub mod figures;
pub mod gateway;
pub mod jwks_snapshot;
pub mod lambda_watch;
pub mod linked;
pub mod load;
pub mod server;
pub mod site;
pub mod tenant;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use organizer_shared::manifest::{ServiceSpec, manifest};
use organizer_shared::store::dynamo;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use gateway::functions::{Remote, Target};
use gateway::template::TemplateError;
use gateway::{Gateway, TemplateOptions};
use linked::Stores;
use tenant::Tenant;
use tenant::config::TenantFile;
use tenant::state::StateDir;

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// In memory, seeded at start-up (the default).
    Memory,
    /// DynamoDB (Local or AWS): tables created and seeded when missing.
    Dynamo {
        endpoint: Option<String>,
        /// Table names by service; a service not listed uses the manifest's default name.
        tables: BTreeMap<String, String>,
    },
}

impl StoreChoice {
    /// The DynamoDB table of `service`: the one given, else the manifest's default.
    pub fn table(&self, service: &ServiceSpec) -> String {
        match self {
            Self::Dynamo { tables, .. } => tables.get(&service.name).cloned(),
            Self::Memory => None,
        }
        .unwrap_or_else(|| service.table.default.clone())
    }
}

#[derive(Debug, Clone)]
pub struct StackOptions {
    pub tenant_port: u16,
    pub api_port: u16,
    pub site_port: u16,
    /// More ports serving the same site, each as its own application: the SPA client whose
    /// `web_origins` list `http://localhost:<port>` (single sign-on across applications).
    pub extra_site_ports: Vec<u16>,
    /// How often the SPA polls `checkSession` (its `config.json`); tests make it short.
    pub session_check_seconds: u32,
    pub tenant_file: PathBuf,
    pub state_dir: PathBuf,
    pub site_dir: PathBuf,
    pub store: StoreChoice,
    pub gateway: GatewayOptions,
}

/// How the local API Gateway runs the template's API.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// The template and `--parameter-overrides`.
    pub template: TemplateOptions,
    /// The stage's throttling as the template sets it (the default); off for benchmarks.
    pub throttling: bool,
    /// Functions invoked through a Lambda Invoke API (`cargo lambda watch`) instead of in
    /// this process: `(Some(logical id), endpoint)` for one, `(None, endpoint)` for all.
    pub invoke_urls: Vec<(Option<String>, String)>,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            template: TemplateOptions::default(),
            throttling: true,
            invoke_urls: Vec::new(),
        }
    }
}

impl GatewayOptions {
    /// `--invoke-url FunctionId=URL` (one function) or `--invoke-url URL` (every function).
    pub fn parse_invoke_url(text: &str) -> Result<(Option<String>, String), String> {
        let (id, url) = match text.split_once('=') {
            Some((id, url)) => (Some(id.to_string()), url),
            None => (None, text),
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "--invoke-url {text:?}: expected FunctionId=http://127.0.0.1:<port> or an http URL"
            ));
        }
        Ok((id, url.trim_end_matches('/').to_string()))
    }
}

/// How the sites are reached, apart from [`StackOptions`] so that callers who need only the
/// defaults keep building `StackOptions` as they are.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// The host of the sites' origins: `localhost` (the default, the same site as the tenant) or
    /// `127.0.0.1`, another site than the tenant's `localhost`, as an app on its own domain is
    /// to Auth0 (third-party cookies). Every site listens on 127.0.0.1 either way.
    pub host: String,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            host: "localhost".into(),
        }
    }
}

#[derive(Debug, Error)]
pub enum StartError {
    #[error("cannot listen on port {port}: {source} (choose another with --{flag})")]
    Bind {
        port: u16,
        flag: &'static str,
        source: std::io::Error,
    },
    #[error(transparent)]
    TenantFile(#[from] tenant::config::TenantFileError),
    #[error(transparent)]
    State(#[from] tenant::state::StateError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("store: {0}")]
    Store(String),
    #[error("{0}")]
    Other(String),
}

/// A running stack; dropping it does not stop it, [`RunningStack::stop`] does.
pub struct RunningStack {
    pub tenant_url: String,
    pub api_url: String,
    pub site_url: String,
    /// `site_url` first, then one per extra site port.
    pub site_urls: Vec<String>,
    pub tenant: Arc<Tenant>,
    /// The local API Gateway serving `api_url`.
    pub gateway: Arc<Gateway>,
    /// The template's parameters as the gateway runs them (defaults, the stack's own values
    /// and the overrides).
    pub parameters: Vec<(String, String)>,
    /// The metrics of the functions in process ([`figures::LocalFigures`]).
    pub figures: Arc<figures::LocalFigures>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningStack {
    /// Stops the servers and waits for them to finish their requests.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn bind(port: u16, flag: &'static str) -> Result<(TcpListener, u16), StartError> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .map_err(|source| StartError::Bind { port, flag, source })?;
    let port = listener
        .local_addr()
        .map_err(|source| StartError::Bind { port, flag, source })?
        .port();
    Ok((listener, port))
}

/// Serves `app` until `stop` (see [`server`]: a header-read timeout, graceful shutdown).
fn serve(listener: TcpListener, app: Router, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    server::spawn(listener, app, stop, server::ServeOptions::default())
}

/// Like [`serve`], with the peer address available to handlers (login throttling).
fn serve_with_peer(
    listener: TcpListener,
    app: Router,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let options = server::ServeOptions {
        peer_address: true,
        ..server::ServeOptions::default()
    };
    server::spawn(listener, app, stop, options)
}

/// Starts the tenant, the API and the site. Ports of 0 pick free ports.
pub async fn start(options: StackOptions) -> Result<RunningStack, StartError> {
    start_with(options, SiteOptions::default()).await
}

/// [`start`], with the sites' origins on `site.host`.
pub async fn start_with(
    options: StackOptions,
    site_options: SiteOptions,
) -> Result<RunningStack, StartError> {
    if !matches!(site_options.host.as_str(), "localhost" | "127.0.0.1") {
        return Err(StartError::Other(format!(
            "the site host is {:?}: use localhost or 127.0.0.1 (the sites listen on 127.0.0.1)",
            site_options.host
        )));
    }
    let (tenant_listener, tenant_port) = bind(options.tenant_port, "tenant-port").await?;
    let (api_listener, api_port) = bind(options.api_port, "api-port").await?;
    let mut site_listeners = vec![bind(options.site_port, "site-port").await?];
    for port in &options.extra_site_ports {
        site_listeners.push(bind(*port, "second-site-port").await?);
    }
    let tenant_url = format!("http://localhost:{tenant_port}");
    let api_url = format!("http://localhost:{api_port}");
    let site_urls: Vec<String> = site_listeners
        .iter()
        .map(|(_, port)| format!("http://{}:{port}", site_options.host))
        .collect();
    let site_url = site_urls[0].clone();

    let file = TenantFile::load(&options.tenant_file)?;
    let state = StateDir::open(&options.state_dir)?;
    let tenant = Arc::new(Tenant::load(format!("{tenant_url}/"), file, &state)?);

    // Sample data for every user, and for every machine-to-machine client so that a
    // client-credentials token has something to read too.
    let mut owners: Vec<String> = tenant.users.iter().map(|u| u.sub()).collect();
    owners.extend(
        tenant
            .clients
            .iter()
            .filter(|c| c.allows_grant("client_credentials"))
            .map(|c| format!("{}@clients", c.id)),
    );
    let mut stores = Stores::new(&options.store, owners).await;
    let figures = Arc::new(figures::LocalFigures::default());
    // Measuring knobs, not settings: bench-http compares the API with metrics shown on the
    // terminal (the default), written as Lambda writes them (`stdout`: one EMF line per
    // invocation on the stack's stdout, no figures) and without any (`off`).
    let knob = std::env::var("ORGANIZER_METRICS").unwrap_or_default();
    if knob != "stdout" {
        stores.metrics = Some(figures.clone());
    }
    stores.metrics_off = knob == "off";
    linked::prepare(&stores).await.map_err(StartError::Store)?;

    let local = local_parameters(&tenant, &site_urls, &options.gateway.template)?;
    let loaded = gateway::load(&options.gateway.template, &local, &[], &api_url)?;
    if matches!(options.store, StoreChoice::Memory) && !options.gateway.invoke_urls.is_empty() {
        tracing::warn!(
            event = "invoke_url_store",
            "functions behind --invoke-url run in their own processes: they read DynamoDB, not \
             the local stack's in-memory store; use --store dynamodb with the same tables"
        );
    }
    let mut targets = HashMap::new();
    for function in loaded.api.invoked_functions() {
        let remote = options
            .gateway
            .invoke_urls
            .iter()
            .find(|(id, _)| id.as_deref() == Some(function.id.as_str()))
            .or_else(|| {
                options
                    .gateway
                    .invoke_urls
                    .iter()
                    .find(|(id, _)| id.is_none())
            });
        let target = match remote {
            Some((_, url)) => Target::Remote(Remote::new(
                url,
                function.binary.as_deref().unwrap_or(&function.name),
            )),
            None => linked::in_process(function, &stores)
                .await
                .map_err(StartError::Other)?,
        };
        targets.insert(function.id.clone(), target);
    }
    for (id, _) in &options.gateway.invoke_urls {
        if let Some(id) = id
            && !loaded.api.functions.contains_key(id)
        {
            return Err(StartError::Other(format!(
                "--invoke-url {id}=…: the template has no function {id} (it has: {})",
                loaded.api.function_ids()
            )));
        }
    }
    let parameters: Vec<(String, String)> = loaded
        .parameters
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let gateway = Arc::new(
        Gateway::new(
            loaded.api,
            &targets,
            HashMap::new(),
            options.gateway.throttling,
        )
        .map_err(StartError::Other)?,
    );

    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = vec![
        serve_with_peer(
            tenant_listener,
            tenant::router(tenant.clone()),
            stop_rx.clone(),
        ),
        serve_with_peer(
            api_listener,
            Router::new()
                .fallback(gateway::proxy)
                .with_state(gateway.clone()),
            stop_rx.clone(),
        ),
    ];
    for ((listener, _), origin) in site_listeners.into_iter().zip(&site_urls) {
        let site = site::Site::new(
            origin,
            &options.site_dir,
            &tenant,
            &api_url,
            options.session_check_seconds,
        )
        .with_dpop(
            parameters
                .iter()
                .find(|(k, _)| k == "Dpop")
                .map_or("off", |(_, v)| v.as_str()),
        );
        if site.config.is_none() {
            tracing::warn!(
                event = "site_origin_unlisted",
                %origin,
                "no SPA client in the tenant file lists this origin in web_origins; its config.json answers 404"
            );
        }
        if !site.auth0_js_installed() {
            tracing::warn!(
                event = "site_deps_missing",
                path = %options.site_dir.join("node_modules").display(),
                "auth0-js or auth0-spa-js is not installed: run scripts/site-deps.sh (make run does)"
            );
        }
        tasks.push(serve(listener, site::router(site), stop_rx.clone()));
    }
    Ok(RunningStack {
        tenant_url,
        api_url,
        site_url,
        site_urls,
        tenant,
        gateway,
        parameters,
        figures,
        stop,
        tasks,
    })
}

/// The template parameters the local stack sets for itself, unless the overrides set them: the
/// dev tenant as `Issuer`, its logical API as `Audience`, and the sites' origins as
/// `AllowedOrigins`.
/// The origins are the sites' and those the tenant's clients list.
pub fn local_parameters(
    tenant: &Tenant,
    site_urls: &[String],
    template: &TemplateOptions,
) -> Result<Vec<(&'static str, String)>, StartError> {
    let audience = tenant
        .file
        .logical_api()
        .map(|api| api.identifier.clone())
        .ok_or_else(|| StartError::Other("tenant.yaml lists no API".into()))?;
    let mut origins: Vec<String> = site_urls.to_vec();
    for client in &tenant.clients {
        for origin in client
            .spec
            .allowed_origins
            .iter()
            .chain(&client.spec.web_origins)
        {
            if !origins.contains(origin) {
                origins.push(origin.clone());
            }
        }
    }
    let mut local = vec![
        ("Audience", audience),
        ("AllowedOrigins", origins.join(",")),
    ];
    let overrides = &template.overrides;
    if overrides.get("Auth0Domain").is_none() && overrides.get("Issuer").is_none() {
        local.push(("Issuer", tenant.issuer.clone()));
    }
    Ok(local)
}

/// A new table on DynamoDB at `endpoint` for every service, named `<prefix>-<service>-<random>`,
/// seeded with the sample data of `owner`: what a test or a measurement needs to run the
/// functions against tables of its own. Returns their names, by service.
pub async fn fresh_seeded_tables(
    endpoint: &str,
    prefix: &str,
    owner: &str,
) -> Result<BTreeMap<String, String>, String> {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let tables: BTreeMap<String, String> = manifest()
        .services
        .iter()
        .map(|s| (s.name.clone(), format!("{prefix}-{}-{suffix}", s.name)))
        .collect();
    let client = dynamo::client(Some(endpoint)).await;
    linked::seed_tables(&client, &tables, owner, false, &mut |_| {})
        .await
        .map_err(|e| format!("{e} (DynamoDB at {endpoint})"))?;
    Ok(tables)
}
