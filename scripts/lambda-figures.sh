#!/usr/bin/env bash
# `make figures`: prints, never asserts, two figures per function (README, "Lambda figures"):
#  1. the zipped size of its release arm64 `bootstrap` (scripts/lambda-build.sh; goal <= 4 MB);
#  2. a local cold-start proxy: its release binary built for this host, started against a Lambda
#     Runtime API emulator (local/examples/lambda_figures.rs) with DynamoDB Local: init (process
#     start to the first `next`), first and warm invocation, median of RUNS fresh processes.
# Needs what `make test` needs (Java 17 for DynamoDB Local; cargo-lambda is installed on demand).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-7}"

printf '==> release arm64 bootstraps (cargo lambda build --release --arm64)\n'
scripts/lambda-build.sh

printf '\n==> release binaries for this host (%s)\n' "$(rustc -vV | sed -n 's/^host: //p')"
cargo build --release --quiet -p contacts -p calendar -p authorizer

printf '\n==> DynamoDB Local\n'
command -v java >/dev/null || { echo "error: Java 17+ is needed for DynamoDB Local (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
ddb_dir=$(scripts/dynamodb-local.sh)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p .local
java -Djava.library.path="$ddb_dir/DynamoDBLocal_lib" -jar "$ddb_dir/DynamoDBLocal.jar" \
  -inMemory -port "$port" >.local/dynamodb-local-figures.log 2>&1 &
ddb_pid=$!
trap 'kill "$ddb_pid" 2>/dev/null || true; wait "$ddb_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$ddb_pid" 2>/dev/null || { cat .local/dynamodb-local-figures.log >&2; echo "error: DynamoDB Local exited" >&2; exit 1; }
  sleep 0.5
done
echo "DynamoDB Local on http://127.0.0.1:$port"

printf '\n==> cold-start proxy\n'
ORGANIZER_FIGURES_DYNAMODB="http://127.0.0.1:$port" \
  cargo run --quiet -p organizer-local --example lambda_figures -- \
  "${CARGO_TARGET_DIR:-target}/release" "$runs"
