#!/usr/bin/env bash
# The edit loop (README: `make check`): the docs' links, formatting, lints, and every test that
# needs neither DynamoDB Local nor Chromium nor cargo-lambda, in a minute or two once built.
# `make test` stays the whole suite. Tests that need DynamoDB Local have "dynamodb" in their name.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "documentation links (README.md, docs/, bench/RESULTS.md)"
python3 scripts/check-docs.py

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

# The site's auth0-js is served by the local stack's tests (npm, quick once installed).
scripts/site-deps.sh

step "tests (without DynamoDB Local, cargo-lambda or Chromium)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast -E 'not (test(/dynamodb/) | binary(lambda_watch))' "$@"
else
  cargo test --workspace --no-fail-fast "$@" -- --skip dynamodb --skip cargo_lambda_watch
fi
