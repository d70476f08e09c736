//! `make bench`: figures for the hot path, printed, never asserted.
//!
//! 1. Token verification of distinct valid RS256 tokens on one core (warm JWKS cache), as
//!    ns/op and as a ratio to `openssl speed rsa2048`'s RSA-2048 verify rate measured in the
//!    same run (target: at least 0.85x).
//! 2. A warm `GET /contacts` handler call on the in-memory store (verification included).

// A benchmark that hits an error has nothing to report: failing loudly is right.
#![allow(clippy::expect_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use contacts::{ContactsApi, handle};
use organizer_shared::api::{ApiContext, Cors};
use organizer_shared::routes::Service;
use organizer_shared::store::memory::MemoryContactStore;
use organizer_shared::store::{ContactStore, sample};
use organizer_shared::testing::{EventBuilder, TEST_AUDIENCE, TestIssuer};

const FIXTURE: &str = include_str!("../tests/fixtures/apigw-v2-get-contacts.json");
const DISTINCT_TOKENS: usize = 4000;
/// Each measurement runs this long, three times, alternating with OpenSSL so both see the same
/// machine; the best round of each is reported (the usual way to factor out a noisy host).
const RUN_FOR: Duration = Duration::from_secs(1);
const ROUNDS: usize = 3;

fn openssl_verify_per_second() -> Option<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", "3", "-mr", "rsa2048"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // Machine-readable line: +F2:<index>:<bits>:<sign/s>:<verify/s>
    let line = text.lines().find(|l| l.starts_with("+F2:"))?;
    line.rsplit(':').next()?.trim().parse().ok()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let issuer = TestIssuer::new();
    let verifier = issuer.verifier();
    eprintln!("minting {DISTINCT_TOKENS} distinct tokens ...");
    let tokens: Vec<String> = (0..DISTINCT_TOKENS)
        .map(|i| {
            issuer.token(
                &format!("auth0|user-{i}"),
                "openid read:contacts read:calendar",
            )
        })
        .collect();

    runtime.block_on(async {
        for t in &tokens {
            verifier.verify(t).await.expect("valid token");
        }
    });
    let mut verify_ns = f64::INFINITY;
    let mut openssl: Option<f64> = None;
    for round in 1..=ROUNDS {
        eprintln!(
            "round {round}/{ROUNDS}: token verification for {RUN_FOR:?}, then openssl speed rsa2048 ..."
        );
        let (ops, elapsed) = runtime.block_on(async {
            let start = Instant::now();
            let mut ops = 0usize;
            while start.elapsed() < RUN_FOR {
                for t in &tokens {
                    std::hint::black_box(verifier.verify(t).await.expect("valid token"));
                }
                ops += tokens.len();
            }
            (ops, start.elapsed())
        });
        verify_ns = verify_ns.min(elapsed.as_nanos() as f64 / ops as f64);
        if let Some(rate) = openssl_verify_per_second() {
            openssl = Some(openssl.map_or(rate, |best| best.max(rate)));
        }
    }
    let verify_rate = 1e9 / verify_ns;

    eprintln!("measuring warm GET /contacts handler calls ...");
    let store = Arc::new(MemoryContactStore::default());
    let handler_ns = runtime.block_on(async {
        for (i, _) in tokens.iter().enumerate().take(200) {
            let owner = format!("auth0|user-{i}");
            for c in sample::contacts(&owner) {
                store
                    .create_contact(&owner, &c, None)
                    .await
                    .expect("create");
            }
        }
        let api = ContactsApi {
            context: ApiContext::new(
                Service::Contacts,
                verifier.clone(),
                Cors::new(["http://localhost:3000"]),
                TEST_AUDIENCE,
            ),
            store,
        };
        let mut total = Duration::ZERO;
        let mut calls = 0usize;
        while total < RUN_FOR {
            let requests: Vec<_> = tokens
                .iter()
                .map(|t| EventBuilder::from_fixture(FIXTURE).bearer(t).build())
                .collect();
            let start = Instant::now();
            for request in requests {
                let response = handle(&api, request).await;
                assert_eq!(response.status(), 200);
                std::hint::black_box(response);
            }
            total += start.elapsed();
            calls += tokens.len();
        }
        total.as_nanos() as f64 / calls as f64
    });

    println!();
    println!("best of {ROUNDS} one-second rounds each, ours and OpenSSL's alternating:");
    println!(
        "token verification (RS256, distinct tokens, 1 core): {verify_ns:>9.0} ns/op  {verify_rate:>9.0} ops/s"
    );
    match openssl {
        Some(reference) => {
            let reference_ns = 1e9 / reference;
            println!(
                "openssl speed rsa2048 verify (reference):          {reference_ns:>9.0} ns/op  {reference:>9.0} ops/s"
            );
            println!(
                "ratio to OpenSSL RSA-2048 verify:                  {:>9.2}x  (target >= 0.85x)",
                verify_rate / reference
            );
        }
        None => println!(
            "openssl speed rsa2048: not available (install openssl to get the reference ratio)"
        ),
    }
    println!(
        "warm GET /contacts handler call (in-memory store):  {handler_ns:>9.0} ns/op  {:>9.0} req/s",
        1e9 / handler_ns
    );
}
