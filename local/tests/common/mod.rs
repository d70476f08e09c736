//! Helpers of the integration tests.
//!
//! - here: the repository's files, fresh folders and state folders, free ports, and the local
//!   stack started on them (for the tests that need real sockets: flows through a browser's
//!   cookies, restarts, the API and the site);
//! - [`in_process`]: the dev tenant's router answering requests in process, without sockets
//!   (for what one request shows: the validation of parameters, answers without a session);
//! - [`oauth`]: building authorization requests and reading the tenant's answers;
//! - [`browser`]: a browser over real HTTP (cookies kept, redirects looked at one by one) and
//!   the sign-in it runs;
//! - [`api`]: the machine-to-machine client's tokens, and calls to the API.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod api;
pub mod browser;
pub mod fault_proxy;
pub mod in_process;
pub mod oauth;
pub mod scopes;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use organizer_local::gateway::TemplateOptions;
use organizer_local::gateway::template::Overrides;
use organizer_local::tenant::Tenant;
use organizer_local::tenant::config::TenantFile;
use organizer_local::tenant::state::StateDir;
use organizer_local::{GatewayOptions, RunningStack, StackOptions, StoreChoice, start};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A folder no other test uses.
pub fn temp_dir(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()))
}

/// A state folder of its own for one tenant, with a signing key, client credentials and the
/// default user already in it: a copy of one made once per build of the test binary. Making
/// them (an RSA key, an argon2 hash, files synced to disk) costs a tenant about 0.1 s, which
/// every test would pay otherwise. Tests of what a fresh state folder becomes use
/// [`temp_dir`].
pub fn fresh_state() -> PathBuf {
    let dir = temp_dir("organizer-test");
    copy_dir(state_template(), &dir);
    dir
}

/// The state folder [`fresh_state`] copies, made by loading the repository's tenant once. Its
/// name carries the test binary's build time, so a rebuild makes a new one; test processes
/// racing to make it each make their own and the first rename wins.
fn state_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary");
        let built = exe
            .metadata()
            .and_then(|m| m.modified())
            .expect("its build time")
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos();
        let name = exe.file_name().expect("its name").to_string_lossy();
        let template = std::env::temp_dir().join(format!("organizer-state-{name}-{built}"));
        if !template.exists() {
            let making = temp_dir("organizer-state-making");
            let state = StateDir::open(&making).expect("a state folder");
            let file = TenantFile::load(&repo().join("tenant.yaml")).expect("tenant.yaml loads");
            Tenant::load("http://localhost/".into(), file, &state).expect("the tenant loads");
            if std::fs::rename(&making, &template).is_err() {
                // Another test process made it first.
                let _ = std::fs::remove_dir_all(&making);
            }
        }
        template
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a fresh folder");
    for entry in std::fs::read_dir(from).expect("the template") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("its type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("a copy");
        }
    }
}

/// The repository's `tenant.yaml` changed by `edit`, written to a fresh folder; returns its path.
pub fn edited_tenant_file(edit: impl FnOnce(String) -> String) -> PathBuf {
    let yaml = std::fs::read_to_string(repo().join("tenant.yaml")).expect("tenant.yaml");
    let dir = temp_dir("organizer-tenant");
    std::fs::create_dir_all(&dir).expect("a fresh folder");
    let path = dir.join("tenant.yaml");
    std::fs::write(&path, edit(yaml)).expect("write tenant.yaml");
    path
}

/// The redirect URI of [`with_web_app`]'s client.
pub const WEB_APP_CALLBACK: &str = "http://127.0.0.1:8080/cb";

/// Adds a confidential web app ([`oauth::WEB_APP`]) on another origin, which is not an Allowed Web
/// Origin of anything, to a `tenant.yaml`, enabled for its database connection.
pub fn with_web_app(yaml: String) -> String {
    let yaml = yaml.replace(
        "    enabled_clients:\n",
        &format!("    enabled_clients:\n      - {}\n", oauth::WEB_APP),
    );
    yaml.replace(
        "\nclientGrants:",
        &format!(
            "  - name: {}\n    app_type: regular_web\n    callbacks:\n      - {WEB_APP_CALLBACK}\n    \
             grant_types:\n      - authorization_code\n      - implicit\n    token_endpoint_auth_method: client_secret_post\n\nclientGrants:",
            oauth::WEB_APP
        ),
    )
}

/// Adds a machine client registered for `client_secret_basic` ([`oauth::BASIC_MACHINE`]),
/// granted the same scopes as the repository's machine client, to a `tenant.yaml`.
pub fn with_basic_machine(yaml: String) -> String {
    yaml.replace(
        "\nclientGrants:",
        &format!(
            "  - name: {name}\n    app_type: non_interactive\n    grant_types:\n      - client_credentials\n    \
             token_endpoint_auth_method: client_secret_basic\n\nclientGrants:\n  - client_id: {name}\n    \
             audience: organize\n    scope:\n      - read:contacts\n",
            name = oauth::BASIC_MACHINE
        ),
    )
}

/// The stack with a given tenant file, state folder and tenant port (0: any free port).
pub async fn start_stack(tenant_file: &Path, state_dir: PathBuf, tenant_port: u16) -> RunningStack {
    start_stack_with(tenant_file, state_dir, tenant_port, gateway_options()).await
}

/// [`start_stack`] with the local API Gateway set up as `gateway` says.
pub async fn start_stack_with(
    tenant_file: &Path,
    state_dir: PathBuf,
    tenant_port: u16,
    gateway: GatewayOptions,
) -> RunningStack {
    start(StackOptions {
        tenant_port,
        api_port: 0,
        site_port: 0,
        extra_site_ports: vec![],
        session_check_seconds: organizer_local::site::DEFAULT_SESSION_CHECK_SECONDS,
        tenant_file: tenant_file.to_path_buf(),
        state_dir,
        site_dir: repo().join("site"),
        gateway,
        store: StoreChoice::Memory,
    })
    .await
    .expect("the local stack starts")
}

/// The local API Gateway running the repository's template as it is (`AuthorizerMode`
/// lambda), with the stage's throttling.
pub fn gateway_options() -> GatewayOptions {
    gateway_with(&[])
}

/// The repository's template with `--parameter-overrides` (`["AuthorizerMode=jwt"]`).
pub fn gateway_with(overrides: &[&str]) -> GatewayOptions {
    GatewayOptions {
        template: TemplateOptions {
            path: repo().join("template.yaml"),
            overrides: Overrides::parse(overrides).expect("overrides"),
        },
        ..GatewayOptions::default()
    }
}

/// The repository's stack on free ports with a fresh state folder.
pub async fn stack() -> RunningStack {
    stack_with_state(fresh_state(), 0).await
}

/// The repository's stack with `--parameter-overrides` (`["AuthorizerMode=none"]`).
pub async fn stack_in(overrides: &[&str]) -> RunningStack {
    start_stack_with(
        &repo().join("tenant.yaml"),
        fresh_state(),
        0,
        gateway_with(overrides),
    )
    .await
}

/// The repository's stack with a given state folder and tenant port (a restart keeps both).
pub async fn stack_with_state(state_dir: PathBuf, tenant_port: u16) -> RunningStack {
    start_stack(&repo().join("tenant.yaml"), state_dir, tenant_port).await
}

/// The repository's stack plus the web app of [`with_web_app`].
pub async fn stack_with_web_app() -> RunningStack {
    start_stack(&edited_tenant_file(with_web_app), fresh_state(), 0).await
}

/// A port that was free a moment ago (the issuer, and so `iss`, includes the port, so a
/// restarted tenant must come back on the same one; tests also hand ports to child processes).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("its address")
        .port()
}
