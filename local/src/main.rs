//! `organizer`: the project's command-line tool, run with `cargo run -- <command>`.
//!
//! - (no command) or `serve`: the offline local stack — dev tenant, API and site;
//! - `seed`: creates the DynamoDB tables when missing and loads sample data for one user;
//! - `keys rotate`: adds a new signing key to the dev tenant, keeping the previous one published;
//! - `jwks-snapshot`: prints a tenant's signing keys for the functions' `JWKS_SNAPSHOT`;
//! - `services --json`: the services as the SPA gets them, config.json's `services` (for
//!   `scripts/site-bundle.sh`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use organizer_local::gateway::TemplateOptions;
use organizer_local::gateway::definition::Security;
use organizer_local::gateway::template::Overrides;
use organizer_local::tenant::Tenant;
use organizer_local::tenant::config::TenantFile;
use organizer_local::tenant::state::StateDir;
use organizer_local::tenant::users::{
    DEFAULT_EMAIL, DEFAULT_PASSWORD, READER_EMAIL, READER_PASSWORD, UserFile,
};
use organizer_local::{GatewayOptions, SiteOptions, StackOptions, StoreChoice};
use organizer_shared::logging;
use organizer_shared::store::dynamo;

#[derive(Parser)]
#[command(
    name = "organizer",
    version,
    about = "Organizer: contacts and calendar behind one logical API"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no command, the local stack runs with these options.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the offline local stack: dev tenant, API and site (the default).
    Serve(ServeArgs),
    /// Create the DynamoDB tables when missing, then load sample contacts and events for a user.
    Seed {
        /// The user who owns the data: the `sub` of their access tokens.
        #[arg(long, default_value = "auth0|demo")]
        user: String,
        #[command(flatten)]
        dynamo: DynamoArgs,
        /// Only load data; fail if a table is missing instead of creating it.
        #[arg(long)]
        no_create: bool,
    },
    /// The dev tenant's users (restart the local stack to pick up changes).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Write ready-to-invoke copies of events/*.json with fresh tokens (for cargo lambda invoke).
    Events {
        #[arg(long, default_value = ".local/events")]
        out: PathBuf,
        /// The issuer the tokens name: the dev tenant's, as the functions are configured.
        #[arg(long, default_value = "http://localhost:4000/")]
        issuer: String,
        #[arg(long, env = "ORGANIZER_TENANT_FILE", default_value = "tenant.yaml")]
        tenant_file: PathBuf,
        #[arg(long, env = "ORGANIZER_STATE_DIR", default_value = ".state")]
        state_dir: PathBuf,
        /// The template whose API Gateway builds the events of each authorizer mode
        /// (into <out>/lambda/ and <out>/jwt/).
        #[arg(long, env = "ORGANIZER_TEMPLATE", default_value = "template.yaml")]
        template: PathBuf,
        #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
        parameter_overrides: Vec<String>,
    },
    /// Access tokens for load tests: one per made-up user, signed by the dev tenant's key.
    Tokens {
        /// How many users (and tokens).
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        count: u32,
        /// The issuer the tokens name: the running dev tenant's.
        #[arg(long, default_value = "http://localhost:4000/")]
        issuer: String,
        /// Seconds the tokens stay valid.
        #[arg(long, default_value_t = 3600)]
        lifetime: u64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, env = "ORGANIZER_TENANT_FILE", default_value = "tenant.yaml")]
        tenant_file: PathBuf,
        #[arg(long, env = "ORGANIZER_STATE_DIR", default_value = ".state")]
        state_dir: PathBuf,
    },
    /// List the functions the template's API invokes: logical id, binary and CodeUri, one per
    /// line (what `make watch` starts under cargo lambda watch).
    Functions {
        #[arg(long, env = "ORGANIZER_TEMPLATE", default_value = "template.yaml")]
        template: PathBuf,
        #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
        parameter_overrides: Vec<String>,
    },
    /// Print the environment template.yaml gives a function (as the local gateway computes
    /// it, with the local DynamoDB tables), for `cargo lambda watch --env-file`.
    FunctionEnv {
        /// The function's logical id in the template, e.g. ContactsFunction.
        function: String,
        #[arg(long, env = "ORGANIZER_TEMPLATE", default_value = "template.yaml")]
        template: PathBuf,
        /// As for the local stack: Key=Value ...
        #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
        parameter_overrides: Vec<String>,
        /// The dev tenant's port: the issuer is http://localhost:<port>/.
        #[arg(long, env = "TENANT_PORT", default_value_t = 4000)]
        tenant_port: u16,
        #[arg(long, env = "SITE_PORT", default_value_t = 3000)]
        site_port: u16,
        #[arg(long, env = "SECOND_SITE_PORT", default_value_t = 3002)]
        second_site_port: u16,
        #[command(flatten)]
        dynamo: DynamoArgs,
        #[arg(long, env = "ORGANIZER_TENANT_FILE", default_value = "tenant.yaml")]
        tenant_file: PathBuf,
        #[arg(long, env = "ORGANIZER_STATE_DIR", default_value = ".state")]
        state_dir: PathBuf,
    },
    /// The dev tenant's signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The services of services.yaml as the SPA gets them (config.json's "services"): one
    /// line each, or with --json exactly the array config.json holds (scripts/site-bundle.sh).
    Services {
        /// Print the JSON array, as config.json holds it.
        #[arg(long)]
        json: bool,
    },
    /// Print a tenant's signing keys, minimized, for the functions' JWKS_SNAPSHOT.
    JwksSnapshot {
        /// The tenant's issuer, e.g. https://my-tenant.eu.auth0.com/
        #[arg(long)]
        issuer: String,
        /// Where the keys are, when not at the issuer's /.well-known/jwks.json.
        #[arg(long)]
        jwks_uri: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new active key; the previous key stays in the JWKS until it is retired.
    Rotate {
        /// How many keys to keep published, the new one included.
        #[arg(long, default_value_t = 2)]
        keep: usize,
        #[arg(long, env = "ORGANIZER_STATE_DIR", default_value = ".state")]
        state_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Add a user to the database connection (password hashed with argon2id).
    Add {
        #[arg(long)]
        email: String,
        /// At least 8 characters. Prefer ORGANIZER_PASSWORD to keep it out of shell history.
        #[arg(long, env = "ORGANIZER_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        name: Option<String>,
        /// A role of tenant.yaml's `roles:` (repeat for more), e.g. "Organizer Editor". With
        /// RBAC on, a user without a role gets no API scope.
        #[arg(long = "role")]
        roles: Vec<String>,
        #[arg(long, env = "ORGANIZER_TENANT_FILE", default_value = "tenant.yaml")]
        tenant_file: PathBuf,
        #[arg(long, env = "ORGANIZER_STATE_DIR", default_value = ".state")]
        state_dir: PathBuf,
    },
}

#[derive(Args)]
struct DynamoArgs {
    /// DynamoDB endpoint, e.g. DynamoDB Local. Defaults to AWS_ENDPOINT_URL_DYNAMODB, else AWS.
    #[arg(long, env = "AWS_ENDPOINT_URL_DYNAMODB")]
    endpoint_url: Option<String>,
    /// A service's table: SERVICE=NAME, e.g. contacts=my-contacts (repeat for more). Without
    /// it, each service's variable of services.yaml (CONTACTS_TABLE, …), else its default name.
    #[arg(long = "table", value_name = "SERVICE=NAME", value_parser = table_arg)]
    tables: Vec<(String, String)>,
    /// The deployed stack's outputs as `aws cloudformation describe-stacks --query
    /// 'Stacks[0].Outputs'` prints them: each service's table is the output named after its
    /// table resource (ContactsTable, …). `--table` wins over it.
    #[arg(long, value_name = "FILE")]
    stack_outputs: Option<PathBuf>,
}

fn table_arg(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((service, name))
            if organizer_shared::manifest::service(service).is_some() && !name.is_empty() =>
        {
            Ok((service.to_string(), name.to_string()))
        }
        _ => Err(format!(
            "{text:?} is not SERVICE=TABLE with a service of services.yaml ({})",
            organizer_shared::manifest::manifest()
                .services
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

impl DynamoArgs {
    /// Each service's table: `--table`, else `--stack-outputs`, else its variable, else (left
    /// out) the default.
    fn tables(&self) -> Result<BTreeMap<String, String>, String> {
        let mut tables = BTreeMap::new();
        for service in &organizer_shared::manifest::manifest().services {
            if let Ok(name) = std::env::var(&service.table.variable)
                && !name.is_empty()
            {
                tables.insert(service.name.clone(), name);
            }
        }
        if let Some(file) = &self.stack_outputs {
            tables.extend(stack_output_tables(file)?);
        }
        tables.extend(self.tables.iter().cloned());
        Ok(tables)
    }
}

/// Each service's table named in a stack's outputs (`[{"OutputKey", "OutputValue"}, …]`).
fn stack_output_tables(file: &Path) -> Result<BTreeMap<String, String>, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        output_key: String,
        output_value: String,
    }
    let example = "aws cloudformation describe-stacks --stack-name \"$STACK\" --query \
                   'Stacks[0].Outputs' > outputs.json";
    let text = std::fs::read_to_string(file).map_err(|e| {
        format!(
            "--stack-outputs {}: {e} (make it with: {example})",
            file.display()
        )
    })?;
    let outputs: Vec<Output> = serde_json::from_str(&text).map_err(|e| {
        format!(
            "--stack-outputs {}: not a list of OutputKey/OutputValue ({e}); make it with: {example}",
            file.display()
        )
    })?;
    let mut tables = BTreeMap::new();
    for service in &organizer_shared::manifest::manifest().services {
        let key = &service.table.resource;
        let output = outputs
            .iter()
            .find(|o| o.output_key == *key)
            .ok_or_else(|| {
                format!(
                    "--stack-outputs {}: no output {key} ({}'s table); is it this project's stack, \
                 deployed from the current template.yaml?",
                    file.display(),
                    service.name
                )
            })?;
        tables.insert(service.name.clone(), output.output_value.clone());
    }
    Ok(tables)
}

#[derive(Args)]
struct ServeArgs {
    #[arg(long, env = "TENANT_PORT", default_value_t = 4000)]
    tenant_port: u16,
    #[arg(long, env = "API_PORT", default_value_t = 3001)]
    api_port: u16,
    #[arg(long, env = "SITE_PORT", default_value_t = 3000)]
    site_port: u16,
    /// The same site as a second application (the second SPA client of tenant.yaml), for
    /// single sign-on and single logout across applications. 0 picks a free port.
    #[arg(long, env = "SECOND_SITE_PORT", default_value_t = 3002)]
    second_site_port: u16,
    /// How often the SPA polls checkSession (config.json). Auth0 advises 15 minutes; make it
    /// shorter only to watch single logout happen.
    #[arg(long, env = "SESSION_CHECK_SECONDS", default_value_t = organizer_local::site::DEFAULT_SESSION_CHECK_SECONDS, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    session_check_seconds: u32,
    /// How often the terminal shows the functions' metrics (requests, latency, denials by
    /// reason: the EMF documents CloudWatch would get), while requests come in. 0: never.
    #[arg(long, env = "FIGURES_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=3_600))]
    figures_seconds: u32,
    /// `memory` (default, seeded at start) or `dynamodb` (Local or AWS; see --endpoint-url).
    #[arg(long, default_value = "memory", value_parser = ["memory", "dynamodb"])]
    store: String,
    #[command(flatten)]
    dynamo: DynamoArgs,
    #[arg(long, env = "ORGANIZER_TENANT_FILE", default_value = "tenant.yaml")]
    tenant_file: PathBuf,
    /// Keys and client ids of the dev tenant (gitignored).
    #[arg(long, env = "ORGANIZER_STATE_DIR", default_value = ".state")]
    state_dir: PathBuf,
    #[arg(long, default_value = "site")]
    site_dir: PathBuf,
    /// The host of the sites' origins: localhost (the tenant's site) or 127.0.0.1 (another
    /// site, as an app on its own domain is to Auth0: the tenant's cookie is then a
    /// third-party cookie in the silent iframe). tenant.yaml must list those origins.
    #[arg(long, env = "SITE_HOST", default_value = "localhost", value_parser = ["localhost", "127.0.0.1"])]
    site_host: String,
    /// The SAM template whose HTTP API the local API Gateway runs: routes, authorizers, CORS,
    /// throttling and the functions' environment.
    #[arg(long, env = "ORGANIZER_TEMPLATE", default_value = "template.yaml")]
    template: PathBuf,
    /// The template's parameters, as `sam deploy` takes them: Key=Value ... (e.g.
    /// AuthorizerMode=jwt). Each is checked against the template's constraints.
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
    parameter_overrides: Vec<String>,
    /// Invoke a function through a Lambda Invoke API instead of in this process, e.g.
    /// ContactsFunction=http://127.0.0.1:9001 (cargo lambda watch); a bare URL serves all.
    #[arg(long = "invoke-url", value_name = "[FUNCTION=]URL", value_parser = GatewayOptions::parse_invoke_url)]
    invoke_urls: Vec<(Option<String>, String)>,
    /// Serve every request however fast they come, instead of the stage's throttling
    /// (the template's ApiThrottlingRateLimit/BurstLimit): for benchmarks.
    #[arg(long)]
    no_throttling: bool,
}

/// The local stack serves many requests at once on a few threads; glibc's allocator spent a
/// fifth of its CPU under load (docs/benchmarks.md). The Lambda functions, one request at a
/// time each, keep the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Seed {
            user,
            dynamo,
            no_create,
        }) => seed(user, dynamo, no_create).await,
        Some(Command::Users {
            command:
                UsersCommand::Add {
                    email,
                    password,
                    name,
                    roles,
                    tenant_file,
                    state_dir,
                },
        }) => {
            let added = TenantFile::load(&tenant_file)
                .map_err(|e| e.to_string())
                .and_then(|file| {
                    let known: Vec<&str> = file.roles.iter().map(|r| r.name.as_str()).collect();
                    match roles.iter().find(|r| !known.contains(&r.as_str())) {
                        Some(unknown) => Err(format!(
                            "{unknown:?} is not a role of {}: use one of {known:?}",
                            tenant_file.display()
                        )),
                        None => Ok(()),
                    }
                })
                .and_then(|()| StateDir::open(&state_dir).map_err(|e| e.to_string()))
                .and_then(|s| {
                    UserFile::new(s.root())
                        .add(&email, &password, name.as_deref(), &roles)
                        .map_err(|e| e.to_string())
                });
            match added {
                Ok(user) => {
                    let roles = if user.roles.is_empty() {
                        "no role: with RBAC on, their tokens carry no API scope".to_string()
                    } else {
                        format!("roles: {}", user.roles.join(", "))
                    };
                    println!(
                        "added {} ({}, {roles}); restart the local stack to sign in with it",
                        user.email,
                        user.sub()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Events {
            out,
            issuer,
            tenant_file,
            state_dir,
            template,
            parameter_overrides,
        }) => {
            let loaded = TenantFile::load(&tenant_file)
                .map_err(|e| e.to_string())
                .and_then(|file| {
                    let state = StateDir::open(&state_dir).map_err(|e| e.to_string())?;
                    Tenant::load(issuer, file, &state).map_err(|e| e.to_string())
                })
                .and_then(|tenant| {
                    let overrides = Overrides::parse(&parameter_overrides)?;
                    Ok((tenant, overrides))
                });
            let loaded = match loaded {
                Ok((tenant, overrides)) => organizer_local::events::write(&tenant, &out)
                    .await
                    .map(|files| (tenant, files, overrides)),
                Err(e) => Err(e),
            };
            let result = match loaded {
                Ok((tenant, files, overrides)) => {
                    let options = TemplateOptions {
                        path: template,
                        overrides,
                    };
                    organizer_local::events::write_modes(
                        &tenant,
                        &files,
                        &out,
                        &options,
                        &["lambda", "jwt"],
                    )
                    .await
                    .map(|modes| (files, modes))
                }
                Err(e) => Err(e),
            };
            match result {
                Ok((files, modes)) => {
                    for f in &files {
                        println!("{}", f.display());
                    }
                    for m in &modes {
                        match &m.outcome {
                            Ok(path) => println!("{}", path.display()),
                            Err(answer) => eprintln!(
                                "{}/{}: none, API Gateway answers {answer} itself",
                                m.mode, m.name
                            ),
                        }
                    }
                    eprintln!(
                        "wrote {} events, and {} as API Gateway sends them in lambda/ and jwt/; \
                         tokens expire, run this again when they do",
                        files.len(),
                        modes.iter().filter(|m| m.outcome.is_ok()).count()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Tokens {
            count,
            issuer,
            lifetime,
            out,
            tenant_file,
            state_dir,
        }) => {
            eprintln!("signing {count} tokens ...");
            let result = TenantFile::load(&tenant_file)
                .map_err(|e| e.to_string())
                .and_then(|file| {
                    let state = StateDir::open(&state_dir).map_err(|e| e.to_string())?;
                    Tenant::load(issuer, file, &state).map_err(|e| e.to_string())
                })
                .and_then(|tenant| {
                    organizer_local::load::write_tokens(&tenant, count as usize, lifetime, &out)
                });
            match result {
                Ok(audience) => {
                    eprintln!("wrote {count} tokens for {audience} to {}", out.display());
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Functions {
            template,
            parameter_overrides,
        }) => {
            let listed = Overrides::parse(&parameter_overrides).and_then(|overrides| {
                let template = TemplateOptions {
                    path: template,
                    overrides,
                };
                // The issuer only has to be one: the list does not depend on it.
                let local = [("Issuer", "http://localhost:4000/".to_string())];
                organizer_local::gateway::load(&template, &local, &[], "http://localhost:3001")
                    .map_err(|e| e.to_string())
            });
            match listed {
                Ok(loaded) => {
                    for f in loaded.api.invoked_functions() {
                        println!(
                            "{} {} {}",
                            f.id,
                            f.binary.as_deref().unwrap_or("-"),
                            f.code_uri.as_deref().unwrap_or("-")
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::FunctionEnv {
            function,
            template,
            parameter_overrides,
            tenant_port,
            site_port,
            second_site_port,
            dynamo,
            tenant_file,
            state_dir,
        }) => {
            let result = Overrides::parse(&parameter_overrides).and_then(|overrides| {
                let template = TemplateOptions {
                    path: template,
                    overrides,
                };
                let file = TenantFile::load(&tenant_file).map_err(|e| e.to_string())?;
                let state = StateDir::open(&state_dir).map_err(|e| e.to_string())?;
                let tenant = Tenant::load(format!("http://localhost:{tenant_port}/"), file, &state)
                    .map_err(|e| e.to_string())?;
                let sites = [
                    format!("http://localhost:{site_port}"),
                    format!("http://localhost:{second_site_port}"),
                ];
                let local = organizer_local::local_parameters(&tenant, &sites, &template)
                    .map_err(|e| e.to_string())?;
                let loaded =
                    organizer_local::gateway::load(&template, &local, &[], "http://localhost:3001")
                        .map_err(|e| e.to_string())?;
                let def = loaded.api.functions.get(&function).ok_or_else(|| {
                    format!(
                        "the template has no function {function} (it has: {})",
                        loaded.api.function_ids()
                    )
                })?;
                let store = StoreChoice::Dynamo {
                    tables: dynamo.tables()?,
                    endpoint: dynamo.endpoint_url,
                };
                Ok(organizer_local::lambda_watch::env_file(
                    &organizer_local::lambda_watch::environment(def, &store),
                ))
            });
            match result {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Services { json }) => {
            let manifest = organizer_shared::manifest::manifest();
            if json {
                let services = manifest.public_json();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&services).unwrap_or_default()
                );
            } else {
                for s in &manifest.services {
                    println!(
                        "{} {} {} (at most {} {})",
                        s.name, s.scopes.read.name, s.scopes.write.name, s.quota, s.many
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Some(Command::JwksSnapshot { issuer, jwks_uri }) => {
            match organizer_local::jwks_snapshot::snapshot(&issuer, jwks_uri.as_deref()).await {
                Ok(snapshot) => {
                    println!("{snapshot}");
                    eprintln!("{} bytes: give them as JWKS_SNAPSHOT", snapshot.len());
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Keys {
            command: KeysCommand::Rotate { keep, state_dir },
        }) => match StateDir::open(&state_dir).and_then(|s| s.rotate_keys(keep)) {
            Ok((kid, retired)) => {
                println!(
                    "new signing key {kid}; retired: {}",
                    if retired.is_empty() {
                        "none".into()
                    } else {
                        retired.join(", ")
                    }
                );
                println!("restart the local stack to sign with it");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn serve(args: ServeArgs) -> ExitCode {
    logging::init_json_logs();
    let store = if args.store == "dynamodb" {
        let tables = match args.dynamo.tables() {
            Ok(tables) => tables,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        };
        StoreChoice::Dynamo {
            tables,
            endpoint: args.dynamo.endpoint_url,
        }
    } else {
        StoreChoice::Memory
    };
    let overrides = match Overrides::parse(&args.parameter_overrides) {
        Ok(overrides) => overrides,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let options = StackOptions {
        gateway: GatewayOptions {
            template: TemplateOptions {
                path: args.template,
                overrides,
            },
            throttling: !args.no_throttling,
            invoke_urls: args.invoke_urls,
        },
        tenant_port: args.tenant_port,
        api_port: args.api_port,
        site_port: args.site_port,
        extra_site_ports: vec![args.second_site_port],
        session_check_seconds: args.session_check_seconds,
        tenant_file: args.tenant_file,
        state_dir: args.state_dir,
        site_dir: args.site_dir,
        store,
    };
    let options_template = options.gateway.template.path.clone();
    let args_figures_seconds = args.figures_seconds;
    eprintln!("starting the local stack (first run generates the tenant's signing key) ...");
    let site_options = SiteOptions {
        host: args.site_host,
    };
    let stack = match organizer_local::start_with(options, site_options).await {
        Ok(stack) => stack,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!();
    println!("  dev tenant  {}/   (issuer)", stack.tenant_url);
    let mode = stack
        .parameters
        .iter()
        .find(|(k, _)| k == "AuthorizerMode")
        .map(|(_, v)| format!(", AuthorizerMode={v}"))
        .unwrap_or_default();
    println!(
        "  API         {}   (the HTTP API of {}{mode})",
        stack.api_url,
        options_template.display()
    );
    for route in &stack.gateway.api().routes {
        let security = match &route.security {
            Security::Open => "no authorizer".to_string(),
            Security::Lambda { authorizer } => format!("{authorizer} (Lambda)"),
            Security::Jwt { authorizer, scopes } => {
                format!("{authorizer} (JWT, any of: {})", scopes.join(" "))
            }
        };
        println!(
            "              {:<24} -> {:<18} {security}",
            route.key, route.function
        );
    }
    for (n, url) in stack.site_urls.iter().enumerate() {
        let about = match stack.tenant.spa_client_for(url) {
            Some(c) => format!("{}, {} flow", c.spec.name, c.spec.spa_flow()),
            None => "no SPA client lists this origin".to_string(),
        };
        let label = if n == 0 {
            "site".to_string()
        } else {
            format!("site {}", n + 1)
        };
        println!("  {label:<11} {url}   ({about})");
    }
    for (email, password) in [
        (DEFAULT_EMAIL, DEFAULT_PASSWORD),
        (READER_EMAIL, READER_PASSWORD),
    ] {
        if let Some(demo) = stack
            .tenant
            .users
            .iter()
            .find(|u| u.email == email && u.password_matches(password))
        {
            println!(
                "  test user   {:<24} password {:<28} {}  (dev tenant only)",
                demo.email,
                password,
                demo.roles.join(", "),
            );
        }
    }
    for client in &stack.tenant.clients {
        let kind = if client.is_confidential() {
            "secret in .state/clients.json"
        } else {
            "public"
        };
        println!(
            "  client      {:<28} {}  ({kind})",
            client.spec.name, client.id
        );
    }
    println!();
    println!(
        "  try: curl -s {}/oauth/token -d grant_type=client_credentials -d audience=organize \\",
        stack.tenant_url
    );
    println!("         -d client_id=<machine client id> -d client_secret=<its secret>");
    if args_figures_seconds > 0 {
        let every = std::time::Duration::from_secs(u64::from(args_figures_seconds));
        println!(
            "  figures     every {args_figures_seconds} s while requests come in: requests, latency, denials by reason (as CloudWatch would get them)"
        );
        stack.figures.clone().print_every(every);
    }
    println!();
    println!("Ctrl-C stops everything.");
    wait_for_stop().await;
    eprintln!("stopping ...");
    stack.stop().await;
    ExitCode::SUCCESS
}

/// Ctrl-C, or a polite SIGTERM from a process manager.
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn seed(user: String, args: DynamoArgs, no_create: bool) -> ExitCode {
    let tables = match args.tables() {
        Ok(tables) => tables,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let client = dynamo::client(args.endpoint_url.as_deref()).await;
    let target = args
        .endpoint_url
        .as_deref()
        .unwrap_or("AWS (default endpoint)")
        .to_string();
    let count = organizer_shared::manifest::manifest().services.len();
    let mut step = 0;
    let seeded =
        organizer_local::linked::seed_tables(&client, &tables, &user, no_create, &mut |what| {
            step += 1;
            eprintln!(
                "[{step}/{count}] {what} at {target}: {} and loading sample data for {user} ...",
                if no_create {
                    "existing"
                } else {
                    "creating when missing"
                }
            );
        })
        .await;
    match seeded {
        Ok(counts) => {
            let said: Vec<String> = counts
                .iter()
                .map(|(service, n)| format!("{n} {service}"))
                .collect();
            println!(
                "loaded sample items for {user}: {} (a service the user already has items in is left as it is)",
                said.join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!("       is DynamoDB reachable? e.g. --endpoint-url http://localhost:8000");
            ExitCode::FAILURE
        }
    }
}
