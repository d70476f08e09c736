//! `make bench-http`'s DPoP rows (scripts/bench-http.sh): GET /contacts with a bearer token and
//! with a DPoP-bound token and a fresh proof per request, from one load generator, alternating,
//! so the ratio compares like with like. wrk cannot make them: every DPoP request needs its own
//! ES256 proof (a Lua script cannot sign), so the proofs are signed here before the clock
//! starts (signing is the client's cost, not the API's) and sent over `connections` keep-alive
//! connections.
//!
//! Both tokens are the machine client's (client credentials): the DPoP one is asked for with a
//! proof, so the tenant's `organize` API must have `proof_of_possession` (the script gives the
//! stack such a copy of tenant.yaml) and the API must take both (`Dpop=allowed`).
//!
//! Usage: `cargo run --release -p organizer-local --example dpop_load -- TENANT_URL API_URL
//! CLIENT_ID CLIENT_SECRET [REQUESTS] [CONNECTIONS] [ROUNDS]`. Prints, never asserts.

// A benchmark that hits an error has nothing to report: failing loudly is right.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use organizer_shared::testing::DpopKey;
use serde_json::Value;

async fn token(
    client: &reqwest::Client,
    tenant: &str,
    id: &str,
    secret: &str,
    key: Option<&DpopKey>,
) -> String {
    let url = format!("{tenant}/oauth/token");
    let mut request = client.post(&url).form(&[
        ("grant_type", "client_credentials"),
        ("audience", "organize"),
        ("client_id", id),
        ("client_secret", secret),
    ]);
    if let Some(key) = key {
        request = request.header("dpop", key.proof("POST", &url));
    }
    let body: Value = request.send().await.unwrap().json().await.unwrap();
    let expected = if key.is_some() { "DPoP" } else { "Bearer" };
    assert_eq!(body["token_type"], expected, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// Sends one request per header set over `connections` tasks; the 200s per second, and how
/// many answers were not 200.
async fn run(
    client: &reqwest::Client,
    url: &str,
    headers: Vec<(String, Option<String>)>,
    connections: usize,
) -> (f64, usize) {
    let headers = Arc::new(headers);
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (client, url, headers, next, failed) = (
            client.clone(),
            url.to_string(),
            headers.clone(),
            next.clone(),
            failed.clone(),
        );
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((authorization, proof)) = headers.get(i) else {
                    break;
                };
                let mut request = client.get(&url).header("authorization", authorization);
                if let Some(proof) = proof {
                    request = request.header("dpop", proof);
                }
                let response = request.send().await.unwrap();
                if response.status() != 200 {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                std::hint::black_box(response.bytes().await.unwrap());
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let failed = failed.load(Ordering::Relaxed);
    let ok = headers.len() - failed;
    (ok as f64 / start.elapsed().as_secs_f64(), failed)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [tenant, api, id, secret] = [0, 1, 2, 3].map(|i| {
        args.get(i)
            .cloned()
            .expect("usage: dpop_load TENANT_URL API_URL CLIENT_ID CLIENT_SECRET [REQUESTS] [CONNECTIONS] [ROUNDS]")
    });
    let number = |i: usize, default: usize| args.get(i).map_or(default, |v| v.parse().unwrap());
    // 20,000 a row: three rounds of proofs within their 60 s stay under the local stack's
    // in-memory replay store's 100,000 live entries (beyond, it refuses with 503).
    let (requests, connections, rounds) = (number(4, 20_000), number(5, 32), number(6, 3));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    let url = format!("{api}/contacts");
    let key = DpopKey::es256();
    let bearer = token(&client, &tenant, &id, &secret, None).await;
    let bound = token(&client, &tenant, &id, &secret, Some(&key)).await;
    let (mut best_bearer, mut best_dpop, mut failures) = (0f64, 0f64, 0);
    for round in 1..=rounds {
        let plain = vec![(format!("Bearer {bearer}"), None); requests];
        let (rate, failed) = run(&client, &url, plain, connections).await;
        eprintln!("round {round}  bearer {rate:>10.0} req/s  not 200: {failed}");
        failures += failed;
        best_bearer = best_bearer.max(rate);
        // Proofs live 60 s: signed just before their round.
        let signed = Instant::now();
        let proofs: Vec<_> = (0..requests)
            .map(|_| {
                (
                    format!("DPoP {bound}"),
                    Some(key.proof_for("GET", &url, &bound)),
                )
            })
            .collect();
        eprintln!(
            "round {round}  {requests} proofs signed in {:?}",
            signed.elapsed()
        );
        let (rate, failed) = run(&client, &url, proofs, connections).await;
        eprintln!("round {round}  dpop   {rate:>10.0} req/s  not 200: {failed}");
        failures += failed;
        best_dpop = best_dpop.max(rate);
    }
    println!("bearer {best_bearer:.0}");
    println!("dpop {best_dpop:.0}");
    println!("failed {failures}");
}
