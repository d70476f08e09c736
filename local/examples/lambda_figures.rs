//! `make figures` (scripts/lambda-figures.sh): a local cold-start proxy for the three functions.
//!
//! Each release binary (built for this machine; Lambda runs the arm64 build) is started as Lambda
//! starts a `provided.al2023` bootstrap, against a small Lambda Runtime API emulator served here:
//!
//! - **init**: from spawning the process to its first `GET /2018-06-01/runtime/invocation/next`
//!   (configuration, the JWKS fetch from the dev tenant's keys served here, the DynamoDB client);
//! - **first**: from handing out the first event to its `POST .../response` (the first token
//!   verification, the first DynamoDB query on a fresh connection);
//! - **warm**: the same for a second event in the same process.
//!
//! Several fresh processes per function; the median of each figure is printed. Prints, never
//! asserts. Needs DynamoDB Local at `ORGANIZER_FIGURES_DYNAMODB` (the script starts one).
//!
//! Usage: `cargo run -p organizer-local --example lambda_figures -- <release bin dir> [runs]`

use std::collections::HashMap;
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
use organizer_shared::signing::jwks_document;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};

/// How long one step may take before the run is abandoned (a wait, not a measurement).
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

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

struct Run {
    init: Duration,
    first: Duration,
    warm: Duration,
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

/// One fresh process of `binary`, with its own emulator.
async fn run_once(binary: &Path, env: &[(String, String)], event: &str) -> Result<Run, String> {
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

    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
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
        let (warm, _) = invoke(&event_tx, &mut reports, event).await?;
        Ok(Run { init, first, warm })
    }
    .await;
    let _ = child.start_kill();
    let output = child.wait_with_output().await;
    server.abort();
    result.map_err(|e| {
        let logs = output
            .map(|o| {
                String::from_utf8_lossy(&o.stdout).into_owned()
                    + &String::from_utf8_lossy(&o.stderr)
            })
            .unwrap_or_default();
        format!("{e}\n{logs}")
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
    let endpoint = std::env::var("ORGANIZER_FIGURES_DYNAMODB")
        .map_err(|_| "ORGANIZER_FIGURES_DYNAMODB (DynamoDB Local's URL) is not set; run scripts/lambda-figures.sh")?;
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
        "http://127.0.0.1:{}/",
        jwks_listener
            .local_addr()
            .map_err(|e| e.to_string())?
            .port()
    );
    let state = StateDir::open(scratch.join("state")).map_err(|e| e.to_string())?;
    let file = TenantFile::load(&repo.join("tenant.yaml")).map_err(|e| e.to_string())?;
    let tenant = Tenant::load(issuer.clone(), file, &state).map_err(|e| e.to_string())?;
    let jwks = jwks_document(tenant.keys.keys.iter()).to_string();
    let jwks_app = Router::new().route(
        "/.well-known/jwks.json",
        get(move || async move { ([("content-type", "application/json")], jwks) }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(jwks_listener, jwks_app).await;
    });
    let files =
        organizer_local::events::write(&tenant, &repo.join("events"), &scratch.join("events"))?;
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
    let (contacts_table, calendar_table) =
        organizer_local::fresh_seeded_tables(&endpoint, "figures", &owner).await?;

    let mut base: HashMap<&str, String> = HashMap::new();
    base.insert("PATH", std::env::var("PATH").unwrap_or_default());
    base.insert("ISSUER", issuer);
    base.insert("AUDIENCE", "organize".into());
    base.insert("ALLOWED_ORIGINS", "http://localhost:3000".into());
    base.insert("CONTACTS_TABLE", contacts_table);
    base.insert("CALENDAR_TABLE", calendar_table);
    base.insert("AWS_ENDPOINT_URL_DYNAMODB", endpoint);
    // No region or keys: for a local endpoint the functions' client supplies the same ones as
    // the client that created the tables (DynamoDB Local keeps one database per key and region).
    base.insert("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into());
    base.insert("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into());
    base.insert("RUST_LOG", "info".into());

    println!(
        "cold-start proxy: release binaries for this host from {}, {runs} fresh processes each, medians",
        bin_dir.display()
    );
    println!(
        "{:<11} {:>10} {:>10} {:>10}   event",
        "function", "init", "first", "warm"
    );
    for (function, event_name) in [
        ("contacts", "contacts-list.json"),
        ("calendar", "calendar-list.json"),
        ("authorizer", "authorizer-valid.json"),
    ] {
        let binary = bin_dir.join(function);
        if !binary.is_file() {
            return Err(format!("{} is missing: build it first", binary.display()));
        }
        let mut env: Vec<(String, String)> = base
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect();
        env.push(("AWS_LAMBDA_FUNCTION_NAME".into(), function.into()));
        let event = read(event_name)?;
        let (mut init, mut first, mut warm) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let run = run_once(&binary, &env, &event)
                .await
                .map_err(|e| format!("{function}: {e}"))?;
            init.push(run.init);
            first.push(run.first);
            warm.push(run.warm);
        }
        println!(
            "{function:<11} {:>10} {:>10} {:>10}   {}",
            ms(median(init)),
            ms(median(first)),
            ms(median(warm)),
            event_name
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
