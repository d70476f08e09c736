//! Starting the local stack in tests: free ports, a fresh state folder, the repository's files.
#![allow(dead_code, clippy::expect_used)]

use std::path::{Path, PathBuf};

use organizer_local::{RunningStack, StackOptions, StoreChoice, start};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A folder no other test uses.
pub fn temp_dir(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()))
}

/// The stack with a given tenant file, state folder and tenant port (0: any free port).
pub async fn start_stack(tenant_file: &Path, state_dir: PathBuf, tenant_port: u16) -> RunningStack {
    start(StackOptions {
        tenant_port,
        api_port: 0,
        site_port: 0,
        extra_site_ports: vec![],
        session_check_seconds: organizer_local::site::DEFAULT_SESSION_CHECK_SECONDS,
        tenant_file: tenant_file.to_path_buf(),
        state_dir,
        site_dir: repo().join("site"),
        store: StoreChoice::Memory,
    })
    .await
    .expect("the local stack starts")
}

/// The repository's stack on free ports with a fresh state folder.
pub async fn stack() -> RunningStack {
    start_stack(&repo().join("tenant.yaml"), temp_dir("organizer-test"), 0).await
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
