#!/usr/bin/env bash
# The whole test suite (README: `make test`): formatting and lints, then every test of the
# workspace, with DynamoDB Local started on a free port for the store and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

step() { printf '\n==> %s\n' "$*"; }

command -v java >/dev/null || { echo "error: Java 17+ is needed for DynamoDB Local (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "error: Chromium is needed for the browser tests (apt-get install chromium)" >&2; exit 1; }

step "documentation links (README.md, docs/, bench/RESULTS.md)"
python3 scripts/check-docs.py

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "template.yaml (sam validate --lint, cfn-lint)"
scripts/check-template.sh

step "cargo lambda build --release --arm64 (every crate of functions/)"
scripts/lambda-build.sh

# local/tests/lambda_watch.rs: built here, not during the parallel tests, so that cargo lambda
# watch's `cargo run` of each function finds it up to date.
step "cargo build of every crate of functions/ (debug, for cargo lambda watch)"
mapfile -t functions < <(function_crates)
cargo build --quiet "${functions[@]/#/-p=}"

step "sam build --beta-features (the deploy build, into .local/sam-build)"
scripts/sam-build.sh

step "the site's npm packages (auth0-js, playwright-core)"
scripts/site-deps.sh

step "DynamoDB Local"
start_dynamodb_local .local/dynamodb-local.log
export ORGANIZER_TEST_DYNAMODB="$DYNAMODB_ENDPOINT"

step "tests"
status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@" || status=$?
else
  cargo test --workspace --no-fail-fast "$@" || status=$?
fi

step "browser tests (site/tests, headless Chromium against the local stack)"
cargo build --quiet -p organizer-local
# A private copy for the browser tests: a build folder shared with other checkouts (as
# .ci/run's is) must not have its binary swapped while the tests run.
cp "${CARGO_TARGET_DIR:-target}/debug/organizer" .local/organizer-e2e
export ORGANIZER_BIN="$PWD/.local/organizer-e2e"
export E2E_ARTIFACTS="$PWD/.local/e2e-artifacts"
rm -rf "$E2E_ARTIFACTS"
(cd site && npm test --silent) || status=$?
echo "screenshots and the stack's log: $E2E_ARTIFACTS"

# Last, so that its check of the `cargo run -- seed` flags of docs/deploying.md finds the local
# tool built.
step "deploy check (template, parameters and rules, checkov, site bundle, the deploy commands of docs/deploying.md)"
scripts/deploy-check.sh || status=$?

exit "$status"
