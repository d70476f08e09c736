#!/usr/bin/env bash
# `make figures`: prints, never asserts, two figures per function (README, "Lambda figures"):
#  1. the zipped size of its release arm64 `bootstrap` (scripts/lambda-build.sh; goal <= 4 MB);
#  2. a local cold-start proxy: its release binary built for this host, started against a Lambda
#     Runtime API emulator (local/examples/lambda_figures.rs) with DynamoDB Local: init (process
#     start to the first `next`), first and warm invocation, median of RUNS fresh processes.
# Needs what `make test` needs (Java 17 for DynamoDB Local; cargo-lambda is installed on demand).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
runs="${RUNS:-7}"

printf '==> release arm64 bootstraps (cargo lambda build --release --arm64)\n'
scripts/lambda-build.sh

printf '\n==> release binaries for this host (%s)\n' "$(rustc -vV | sed -n 's/^host: //p')"
cargo build --release --quiet -p contacts -p calendar
cargo build --release --quiet -p authorizer   # alone: without the DynamoDB SDK (lambda-build.sh)

printf '\n==> DynamoDB Local\n'
start_dynamodb_local .local/dynamodb-local-figures.log

printf '\n==> cold-start proxy\n'
ORGANIZER_FIGURES_DYNAMODB="$DYNAMODB_ENDPOINT" \
  cargo run --quiet -p organizer-local --example lambda_figures -- \
  "${CARGO_TARGET_DIR:-target}/release" "$runs"
