//! `make figures` (scripts/lambda-figures.sh): a local cold-start proxy for the three functions.
//!
//! Each release binary (built for this machine; Lambda runs the arm64 build) is started as Lambda
//! starts a `provided.al2023` bootstrap, against a small Lambda Runtime API emulator served here:
//!
//! - **init**: from spawning the process to its first `GET /2018-06-01/runtime/invocation/next`
//!   (configuration, the signing keys, the DynamoDB client);
//! - **first**: from handing out the first event to its `POST .../response` (the first token
//!   verification, the first DynamoDB query on a new connection);
//! - **warm**: the same for a second event in the same process.
//!
//! The network is made to look like Lambda's, not like this machine's: the issuer's JWKS is
//! served over https and answered after `FIGURES_DELAY_MS` (80 ms, like a fetch from Auth0
//! over the internet), and DynamoDB Local is reached over https through a proxy that holds
//! each new connection for the same delay after its handshake (the first query's connection
//! set-up); later queries reuse the connection. Each function runs with its keys fetched at init, and with
//! `JWKS_SNAPSHOT` (no fetch at init; the snapshot's first use refreshes it in the background).
//!
//! With `FIGURES_NO_JITTER_BIN_DIR`, the same runs for binaries built with
//! `AWS_LC_SYS_NO_JITTER_ENTROPY=1`; with `FIGURES_BASELINE_BIN_DIR`, for older binaries (a
//! before/after in one run). Then each function's peak RSS (`VmHWM`) after 1,000 warm
//! invocations.
//!
//! Several fresh processes per function and variant; the median of each figure is printed.
//! Prints, never asserts. Needs DynamoDB Local at `ORGANIZER_FIGURES_DYNAMODB` and a TLS
//! certificate for localhost (`FIGURES_TLS_CERT`, `FIGURES_TLS_KEY`, and `FIGURES_TLS_CA_FILE`
//! for the functions' `SSL_CERT_FILE`): the script makes both.
//!
//! Usage: `cargo run -p organizer-local --example lambda_figures -- <release bin dir> [runs]`

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use organizer_local::tenant::Tenant;
use organizer_local::tenant::config::TenantFile;
use organizer_local::tenant::state::StateDir;
use organizer_shared::jwks::minimize_jwks;
use organizer_shared::signing::jwks_document;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How long one step may take before the run is abandoned (a wait, not a measurement).
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Warm invocations before the peak RSS is read.
const RSS_INVOCATIONS: usize = 1000;

/// What the emulator reports to the driver, with the instant it happened.
enum Report {
    Next(Instant),
    HandedOut(Instant),
    Response(Instant, Bytes),
    Error(Bytes),
}

struct Emulator {
    events: Mutex<mpsc::Receiver<String>>,
    reports: mpsc::UnboundedSender<Report>,
}

async fn next(State(emulator): State<Arc<Emulator>>) -> impl IntoResponse {
    let _ = emulator.reports.send(Report::Next(Instant::now()));
    let event = emulator.events.lock().await.recv().await;
    let Some(event) = event else {
        return (StatusCode::GONE, HeaderMap::new(), String::new());
    };
    let mut headers = HeaderMap::new();
    let id = uuid::Uuid::new_v4().to_string();
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        + 30_000;
    for (name, value) in [
        ("lambda-runtime-aws-request-id", id),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:eu-west-1:123456789012:function:figures".to_string(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000;Sampled=0".to_string(),
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    let _ = emulator.reports.send(Report::HandedOut(Instant::now()));
    (StatusCode::OK, headers, event)
}

async fn response(
    State(emulator): State<Arc<Emulator>>,
    UrlPath(_id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let _ = emulator
        .reports
        .send(Report::Response(Instant::now(), body));
    StatusCode::ACCEPTED
}

async fn error(
    State(emulator): State<Arc<Emulator>>,
    UrlPath(_id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let _ = emulator.reports.send(Report::Error(body));
    StatusCode::ACCEPTED
}

async fn init_error(State(emulator): State<Arc<Emulator>>, body: Bytes) -> StatusCode {
    let _ = emulator.reports.send(Report::Error(body));
    StatusCode::ACCEPTED
}

/// The issuer's JWKS over https: a minimal HTTP/1.1 answer (`Connection: close`) written
/// `delay` after the request arrived.
async fn serve_jwks(listener: TcpListener, tls: TlsAcceptor, jwks: Arc<String>, delay: Duration) {
    while let Ok((tcp, _)) = listener.accept().await {
        let (tls, jwks) = (tls.clone(), jwks.clone());
        tokio::spawn(async move {
            let Ok(mut stream) = tls.accept(tcp).await else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            tokio::time::sleep(delay).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{jwks}",
                jwks.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

/// DynamoDB over https: terminates TLS and forwards to DynamoDB Local, each new connection
/// held for `delay` after its handshake (the round trips of a first query's connection in
/// Lambda; the client's own TLS work, its random generator's seeding included, stays before).
async fn serve_dynamodb(
    listener: TcpListener,
    tls: TlsAcceptor,
    upstream: SocketAddr,
    delay: Duration,
) {
    while let Ok((tcp, _)) = listener.accept().await {
        let tls = tls.clone();
        tokio::spawn(async move {
            let Ok(mut stream) = tls.accept(tcp).await else {
                return;
            };
            tokio::time::sleep(delay).await;
            let Ok(mut upstream) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut stream, &mut upstream).await;
        });
    }
}

struct Run {
    init: Duration,
    first: Duration,
    warm: Duration,
    /// `VmHWM` of the process after its last invocation, in KiB.
    peak_rss_kb: Option<u64>,
}

async fn report(reports: &mut mpsc::UnboundedReceiver<Report>) -> Result<Report, String> {
    match tokio::time::timeout(STEP_TIMEOUT, reports.recv()).await {
        Ok(Some(Report::Error(body))) => Err(format!(
            "the function reported an error: {}",
            String::from_utf8_lossy(&body)
        )),
        Ok(Some(report)) => Ok(report),
        Ok(None) => Err("the emulator stopped".into()),
        Err(_) => Err(format!("nothing happened within {STEP_TIMEOUT:?}")),
    }
}

/// Hands out one event and waits for the answer: (handed out → response, the answer).
async fn invoke(
    events: &mpsc::Sender<String>,
    reports: &mut mpsc::UnboundedReceiver<Report>,
    event: &str,
) -> Result<(Duration, String), String> {
    events
        .send(event.to_string())
        .await
        .map_err(|_| "the emulator stopped")?;
    // The function asks for the next event (again) whenever it is ready: that is not news here.
    let out = loop {
        match report(reports).await? {
            Report::Next(_) => continue,
            Report::HandedOut(at) => break at,
            _ => return Err("expected the event to be handed out".into()),
        }
    };
    let (at, body) = loop {
        match report(reports).await? {
            Report::Next(_) => continue,
            Report::Response(at, body) => break (at, body),
            _ => return Err("expected a response".into()),
        }
    };
    Ok((
        at.duration_since(out),
        String::from_utf8_lossy(&body).into_owned(),
    ))
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One fresh process of `binary`, with its own emulator: a first invocation, then `warm` more.
async fn run_once(
    binary: &Path,
    env: &[(String, String)],
    event: &str,
    warm: usize,
) -> Result<Run, String> {
    let (event_tx, event_rx) = mpsc::channel(1);
    let (report_tx, mut reports) = mpsc::unbounded_channel();
    let emulator = Arc::new(Emulator {
        events: Mutex::new(event_rx),
        reports: report_tx,
    });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(emulator);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    // The function's logs (a JSON line per invocation) go to a file: a pipe nobody reads would
    // fill up and stop it.
    let log_path = std::env::temp_dir().join(format!(
        "organizer-figures-{}.log",
        uuid::Uuid::new_v4().simple()
    ));
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let pid = child.id();
    let result = async {
        let Report::Next(at) = report(&mut reports).await? else {
            return Err("expected a next request first".to_string());
        };
        let init = at.duration_since(started);
        let (first, answer) = invoke(&event_tx, &mut reports, event).await?;
        // Figures of a request that did the real work: a 200, or an authorizer's allow.
        let value: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
        let served = value["statusCode"] == 200 || value["isAuthorized"] == true;
        if !served {
            return Err(format!("the first invocation answered {answer}"));
        }
        let mut warms = Vec::with_capacity(warm);
        for _ in 0..warm {
            warms.push(invoke(&event_tx, &mut reports, event).await?.0);
        }
        Ok(Run {
            init,
            first,
            warm: median(warms),
            peak_rss_kb: pid.and_then(peak_rss_kb),
        })
    }
    .await;
    let _ = child.start_kill();
    let _ = child.wait().await;
    server.abort();
    let logs = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_file(&log_path);
    result.map_err(|e| {
        // The last lines say what went wrong.
        let tail: Vec<&str> = logs.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("{e}\n{}", tail.join("\n"))
    })
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> ExitCode {
    match figures().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn env_path(name: &str) -> Result<PathBuf, String> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .ok_or_else(|| format!("{name} is not set; run scripts/lambda-figures.sh"))
}

fn tls_acceptor() -> Result<TlsAcceptor, String> {
    let cert = env_path("FIGURES_TLS_CERT")?;
    let key = env_path("FIGURES_TLS_KEY")?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| format!("{}: {e}", key.display()))?;
    let config = ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| e.to_string())?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// One function and how it is configured for a row.
struct Row<'a> {
    function: &'a str,
    keys: &'a str,
    env: Vec<(String, String)>,
    event: String,
}

async fn measure(bin_dir: &Path, row: &Row<'_>, runs: usize) -> Result<Run, String> {
    let binary = bin_dir.join(row.function);
    if !binary.is_file() {
        return Err(format!("{} is missing: build it first", binary.display()));
    }
    let (mut init, mut first, mut warm) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let run = run_once(&binary, &row.env, &row.event, 1)
            .await
            .map_err(|e| format!("{} ({}): {e}", row.function, row.keys))?;
        init.push(run.init);
        first.push(run.first);
        warm.push(run.warm);
    }
    Ok(Run {
        init: median(init),
        first: median(first),
        warm: median(warm),
        peak_rss_kb: None,
    })
}

async fn print_table(bin_dir: &Path, rows: &[Row<'_>], runs: usize) -> Result<(), String> {
    println!(
        "{:<11} {:<16} {:>9} {:>9} {:>12} {:>8}",
        "function", "keys", "init", "first", "init+first", "warm"
    );
    for row in rows {
        let run = measure(bin_dir, row, runs).await?;
        println!(
            "{:<11} {:<16} {:>9} {:>9} {:>12} {:>8}",
            row.function,
            row.keys,
            ms(run.init),
            ms(run.first),
            ms(run.init + run.first),
            ms(run.warm)
        );
    }
    Ok(())
}

async fn figures() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let bin_dir = PathBuf::from(
        args.next()
            .ok_or("usage: lambda_figures <bin dir> [runs]")?,
    );
    let runs: usize = args
        .next()
        .map(|r| r.parse().map_err(|_| format!("not a number of runs: {r}")))
        .transpose()?
        .unwrap_or(7);
    let delay = Duration::from_millis(
        std::env::var("FIGURES_DELAY_MS")
            .ok()
            .map(|d| d.parse().map_err(|_| format!("FIGURES_DELAY_MS: {d}")))
            .transpose()?
            .unwrap_or(80),
    );
    let mut builds = vec![(
        "default (aws-lc-sys with its jitter entropy)".to_string(),
        bin_dir.clone(),
    )];
    if let Some(dir) = std::env::var_os("FIGURES_NO_JITTER_BIN_DIR") {
        builds.push(("AWS_LC_SYS_NO_JITTER_ENTROPY=1".into(), dir.into()));
    }
    if let Some(dir) = std::env::var_os("FIGURES_BASELINE_BIN_DIR") {
        builds.push(("baseline".into(), dir.into()));
    }
    let endpoint = std::env::var("ORGANIZER_FIGURES_DYNAMODB")
        .map_err(|_| "ORGANIZER_FIGURES_DYNAMODB (DynamoDB Local's URL) is not set; run scripts/lambda-figures.sh")?;
    let upstream: SocketAddr = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .map_err(|_| format!("ORGANIZER_FIGURES_DYNAMODB: not http://IP:PORT: {endpoint}"))?;
    let ca_file = env_path("FIGURES_TLS_CA_FILE")?;
    let tls = tls_acceptor()?;
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let scratch = std::env::temp_dir().join(format!(
        "organizer-figures-{}",
        uuid::Uuid::new_v4().simple()
    ));

    // The dev tenant's keys, served as the issuer's JWKS, and events with tokens it minted.
    let jwks_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let issuer = format!(
        "https://localhost:{}/",
        jwks_listener
            .local_addr()
            .map_err(|e| e.to_string())?
            .port()
    );
    let state = StateDir::open(scratch.join("state")).map_err(|e| e.to_string())?;
    let file = TenantFile::load(&repo.join("tenant.yaml")).map_err(|e| e.to_string())?;
    let tenant = Tenant::load(issuer.clone(), file, &state).map_err(|e| e.to_string())?;
    let jwks = jwks_document(tenant.keys.keys.iter()).to_string();
    let snapshot = minimize_jwks(jwks.as_bytes()).map_err(|e| e.to_string())?;
    tokio::spawn(serve_jwks(
        jwks_listener,
        tls.clone(),
        Arc::new(jwks),
        delay,
    ));
    let dynamodb_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let dynamodb = format!(
        "https://localhost:{}",
        dynamodb_listener
            .local_addr()
            .map_err(|e| e.to_string())?
            .port()
    );
    tokio::spawn(serve_dynamodb(dynamodb_listener, tls, upstream, delay));
    let files = organizer_local::events::write(&tenant, &scratch.join("events")).await?;
    let read = |name: &str| -> Result<String, String> {
        let path = files
            .iter()
            .find(|p| p.file_name().is_some_and(|f| f == name))
            .ok_or(format!("no event {name}"))?;
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    };

    // Tables of this run, seeded for the machine client.
    let owner = format!(
        "{}@clients",
        tenant
            .client_by_name("Organizer Machine")
            .ok_or("no machine client in tenant.yaml")?
            .id
    );
    let tables = organizer_local::fresh_seeded_tables(&endpoint, "figures", &owner).await?;

    let mut base: HashMap<&str, String> = HashMap::new();
    base.insert("PATH", std::env::var("PATH").unwrap_or_default());
    base.insert("ISSUER", issuer);
    base.insert("AUDIENCE", "organize".into());
    base.insert("ALLOWED_ORIGINS", "http://localhost:3000".into());
    for service in &organizer_shared::manifest::manifest().services {
        if let Some(table) = tables.get(&service.name) {
            base.insert(service.table.variable.as_str(), table.clone());
        }
    }
    base.insert("AWS_ENDPOINT_URL_DYNAMODB", dynamodb);
    // The machine's CA bundle and this run's CA: the functions trust the https endpoints
    // above, and load as many CA certificates as they would in Lambda.
    base.insert("SSL_CERT_FILE", ca_file.display().to_string());
    // No region or keys: for a local endpoint the functions' client supplies the same ones as
    // the client that created the tables (DynamoDB Local keeps one database per key and region).
    base.insert("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into());
    base.insert("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into());
    base.insert("RUST_LOG", "info".into());

    let mut rows = Vec::new();
    // Every service's function with its list event, and the authorizer.
    let functions = organizer_shared::manifest::manifest()
        .services
        .iter()
        .map(|s| (s.binary.as_str(), format!("{}-list.json", s.name)))
        .chain([("authorizer", "authorizer-valid.json".to_string())]);
    for (function, event_name) in functions {
        let event = read(&event_name)?;
        for (keys, with_snapshot) in [("fetched at init", false), ("JWKS_SNAPSHOT", true)] {
            let mut env: Vec<(String, String)> = base
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect();
            env.push(("AWS_LAMBDA_FUNCTION_NAME".into(), function.into()));
            if with_snapshot {
                env.push(("JWKS_SNAPSHOT".into(), snapshot.clone()));
            }
            rows.push(Row {
                function,
                keys,
                env,
                event: event.clone(),
            });
        }
    }

    println!(
        "cold-start proxy: release binaries for this host from {}, {runs} fresh processes each, medians",
        bin_dir.display()
    );
    println!(
        "network as in Lambda: the JWKS over https answered after +{} ms; DynamoDB over https, each new connection held +{} ms",
        delay.as_millis(),
        delay.as_millis()
    );
    for (label, dir) in &builds {
        println!("\nbuild: {label} ({})", dir.display());
        print_table(dir, &rows, runs).await?;
    }

    println!("\npeak RSS (VmHWM) after 1 + {RSS_INVOCATIONS} warm invocations, one process each:");
    for row in rows.iter().filter(|r| r.keys == "JWKS_SNAPSHOT") {
        let binary = bin_dir.join(row.function);
        let run = run_once(&binary, &row.env, &row.event, RSS_INVOCATIONS)
            .await
            .map_err(|e| format!("{}: {e}", row.function))?;
        println!(
            "{:<11} {:>8}   (warm invocation median {})",
            row.function,
            run.peak_rss_kb
                .map_or("?".into(), |kb| format!("{:.1} MB", kb as f64 / 1024.0)),
            ms(run.warm)
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
