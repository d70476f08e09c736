//! `organizer`: the project's command-line tool, run with `cargo run -- <command>`.
//!
//! - `seed`: creates the DynamoDB tables when missing and loads sample data for one user.
//!
//! The offline local stack (dev tenant, API and site in one command) is tracked in issue 3.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use organizer_shared::store::dynamo::{
    self, DEFAULT_CALENDAR_TABLE, DEFAULT_CONTACTS_TABLE, DynamoContactStore, DynamoEventStore,
    TableSpec,
};
use organizer_shared::store::sample;

#[derive(Parser)]
#[command(
    name = "organizer",
    version,
    about = "Organizer: contacts and calendar behind one logical API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the DynamoDB tables when missing, then load sample contacts and events for a user.
    Seed {
        /// The user who owns the data: the `sub` of their access tokens.
        #[arg(long, default_value = "auth0|demo")]
        user: String,
        /// DynamoDB endpoint, e.g. DynamoDB Local. Defaults to AWS_ENDPOINT_URL_DYNAMODB, else AWS.
        #[arg(long, env = "AWS_ENDPOINT_URL_DYNAMODB")]
        endpoint_url: Option<String>,
        #[arg(long, env = "CONTACTS_TABLE", default_value = DEFAULT_CONTACTS_TABLE)]
        contacts_table: String,
        #[arg(long, env = "CALENDAR_TABLE", default_value = DEFAULT_CALENDAR_TABLE)]
        calendar_table: String,
        /// Only load data; fail if a table is missing instead of creating it.
        #[arg(long)]
        no_create: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Seed {
            user,
            endpoint_url,
            contacts_table,
            calendar_table,
            no_create,
        } => {
            let client = dynamo::client(endpoint_url.as_deref()).await;
            let target = endpoint_url.as_deref().unwrap_or("AWS (default endpoint)");
            if !no_create {
                for spec in [
                    TableSpec::contacts(&contacts_table),
                    TableSpec::calendar(&calendar_table),
                ] {
                    eprintln!("[1/2] table {} at {target} ...", spec.name);
                    match dynamo::ensure_table(&client, &spec).await {
                        Ok(true) => eprintln!("      created"),
                        Ok(false) => eprintln!("      exists"),
                        Err(error) => {
                            eprintln!("error: cannot create table {}: {error}", spec.name);
                            eprintln!(
                                "       is DynamoDB reachable? e.g. --endpoint-url http://localhost:8000"
                            );
                            return ExitCode::FAILURE;
                        }
                    }
                }
            }
            eprintln!("[2/2] loading sample data for {user} ...");
            let contacts = DynamoContactStore::new(client.clone(), contacts_table);
            let events = DynamoEventStore::new(client, calendar_table);
            match sample::seed(&user, &contacts, &events).await {
                Ok((c, e)) => {
                    println!("seeded {c} contacts and {e} events for {user}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: seeding failed: {error}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
