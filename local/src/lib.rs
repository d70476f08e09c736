//! The offline local stack: the dev tenant, the API (API Gateway stand-in) and the static site,
//! started together by `cargo run` and stopped together by Ctrl-C. Tests start the same stack
//! on free ports.

pub mod api_gateway;
pub mod events;
pub mod jwks_snapshot;
pub mod load;
pub mod server;
pub mod site;
pub mod tenant;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use calendar::CalendarApi;
use contacts::ContactsApi;
use organizer_shared::api::{ApiContext, Cors};
use organizer_shared::routes::Service;
use organizer_shared::store::dynamo::{self, DynamoContactStore, DynamoEventStore, TableSpec};
use organizer_shared::store::memory::{MemoryContactStore, MemoryEventStore};
use organizer_shared::store::{ContactStore, EventStore, sample};
use organizer_shared::{AuthConfig, TokenVerifier};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use api_gateway::LocalApi;
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
        contacts_table: String,
        calendar_table: String,
    },
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

    let (contacts_store, events_store) = stores(&options.store).await?;
    // Sample data for every user, and for every machine-to-machine client so that a
    // client-credentials token has something to read too.
    for user in &tenant.users {
        sample::seed(&user.sub(), contacts_store.as_ref(), events_store.as_ref())
            .await
            .map_err(|e| StartError::Store(e.to_string()))?;
    }
    for client in tenant
        .clients
        .iter()
        .filter(|c| c.allows_grant("client_credentials"))
    {
        sample::seed(
            &format!("{}@clients", client.id),
            contacts_store.as_ref(),
            events_store.as_ref(),
        )
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    }

    // The API verifies tokens exactly as in AWS: keys fetched over HTTP from the tenant's JWKS,
    // for the logical API of tenant.yaml (its identifier is the audience and the realm).
    let audience = tenant
        .file
        .logical_api()
        .map(|api| api.identifier.clone())
        .ok_or_else(|| StartError::Other("tenant.yaml lists no API".into()))?;
    let auth = AuthConfig::for_issuer(tenant.issuer.clone(), audience.clone());
    let verifier =
        TokenVerifier::from_config(&auth).map_err(|e| StartError::Other(e.to_string()))?;
    let mut origins: Vec<String> = site_urls.clone();
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
    let cors = Cors::new(origins);
    let api = Arc::new(LocalApi {
        contacts: ContactsApi {
            context: ApiContext::new(Service::Contacts, verifier.clone(), cors.clone(), &audience),
            store: contacts_store,
        },
        calendar: CalendarApi {
            context: ApiContext::new(Service::Calendar, verifier, cors, &audience),
            store: events_store,
        },
    });

    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = vec![
        serve_with_peer(
            tenant_listener,
            tenant::router(tenant.clone()),
            stop_rx.clone(),
        ),
        serve(
            api_listener,
            Router::new().fallback(api_gateway::proxy).with_state(api),
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
        );
        if site.config.is_none() {
            tracing::warn!(
                %origin,
                "no SPA client in the tenant file lists this origin in web_origins; its config.json answers 404"
            );
        }
        if !site.auth0_js_installed() {
            tracing::warn!(
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
        stop,
        tasks,
    })
}

/// Two new tables on DynamoDB at `endpoint`, named `<prefix>-contacts-<random>` and
/// `<prefix>-calendar-<random>`, seeded with the sample data of `owner`: what a test or a
/// measurement needs to run the functions against tables of its own. Returns their names.
pub async fn fresh_seeded_tables(
    endpoint: &str,
    prefix: &str,
    owner: &str,
) -> Result<(String, String), String> {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let contacts_table = format!("{prefix}-contacts-{suffix}");
    let calendar_table = format!("{prefix}-calendar-{suffix}");
    let client = dynamo::client(Some(endpoint)).await;
    for spec in [
        TableSpec::contacts(&contacts_table),
        TableSpec::calendar(&calendar_table),
    ] {
        dynamo::ensure_table(&client, &spec)
            .await
            .map_err(|e| format!("table {} at {endpoint}: {e}", spec.name))?;
    }
    sample::seed(
        owner,
        &DynamoContactStore::new(client.clone(), contacts_table.clone()),
        &DynamoEventStore::new(client, calendar_table.clone()),
    )
    .await
    .map_err(|e| format!("seeding {owner} at {endpoint}: {e}"))?;
    Ok((contacts_table, calendar_table))
}

async fn stores(
    choice: &StoreChoice,
) -> Result<(Arc<dyn ContactStore>, Arc<dyn EventStore>), StartError> {
    Ok(match choice {
        StoreChoice::Memory => (
            Arc::new(MemoryContactStore::default()),
            Arc::new(MemoryEventStore::default()),
        ),
        StoreChoice::Dynamo {
            endpoint,
            contacts_table,
            calendar_table,
        } => {
            let client = dynamo::client(endpoint.as_deref()).await;
            for spec in [
                TableSpec::contacts(contacts_table),
                TableSpec::calendar(calendar_table),
            ] {
                dynamo::ensure_table(&client, &spec)
                    .await
                    .map_err(|e| StartError::Store(e.to_string()))?;
            }
            (
                Arc::new(DynamoContactStore::new(
                    client.clone(),
                    contacts_table.clone(),
                )),
                Arc::new(DynamoEventStore::new(client, calendar_table.clone())),
            )
        }
    })
}
