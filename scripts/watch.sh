#!/usr/bin/env bash
# `make watch` (docs/local-gateway.md): the local stack with the template's
# functions under `cargo lambda watch` instead of in process. Edit a handler, watch rebuilds
# it, and requests from the SPA still pass through the template's authorizer.
#
#   - DynamoDB: AWS_ENDPOINT_URL_DYNAMODB if set, else DynamoDB Local started here (in memory);
#     the functions under watch are their own processes and read the stack's tables there;
#   - one `cargo lambda watch` per function the template's API invokes (`organizer functions`),
#     on ports from WATCH_PORT (9001) up, each with the environment the template gives it
#     (`organizer function-env`, written to .local/watch/<Function>.env);
#   - then the stack, sending each function's events to its watch (`--invoke-url`).
# ARGS go to the stack (e.g. ARGS="--parameter-overrides AuthorizerMode=jwt"). Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
venv_tools cargo-lambda=cargo-lambda
mkdir -p .local/watch

endpoint="${AWS_ENDPOINT_URL_DYNAMODB:-}"
if [ -z "$endpoint" ]; then
  start_dynamodb_local .local/watch/dynamodb-local.log
  endpoint=$DYNAMODB_ENDPOINT
fi

echo "==> cargo build (the local tool, and the functions watch will run)" >&2
mapfile -t functions < <(function_crates)
cargo build --quiet -p organizer-local "${functions[@]/#/-p=}"
bin="${CARGO_TARGET_DIR:-target}/debug/organizer"
# shellcheck disable=SC2206 # ARGS are words
args=(${ARGS:-})
# The overrides the stack is given shape the functions' list and environment too.
overrides=()
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[$i]}" = --parameter-overrides ]; then
    overrides+=(--parameter-overrides)
    for ((j = i + 1; j < ${#args[@]}; j++)); do
      case "${args[$j]}" in --*) break ;; *) overrides+=("${args[$j]}") ;; esac
    done
  fi
done

groups=()
stop_all() {
  for g in "${groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
  [ -n "${DYNAMODB_PID:-}" ] && kill "$DYNAMODB_PID" 2>/dev/null || true
}
trap stop_all EXIT

port=${WATCH_PORT:-9001}
invoke=()
while read -r id binary code_uri; do
  [ "$code_uri" != - ] || { echo "error: $id has no CodeUri in the template" >&2; exit 1; }
  "$bin" function-env "$id" --endpoint-url "$endpoint" "${overrides[@]}" >".local/watch/$id.env"
  echo "==> cargo lambda watch $binary (${code_uri}) on 127.0.0.1:$port; log .local/watch/$id.log" >&2
  setsid cargo lambda watch --manifest-path "$code_uri/Cargo.toml" --invoke-address 127.0.0.1 \
    --invoke-port "$port" --env-file ".local/watch/$id.env" >".local/watch/$id.log" 2>&1 &
  groups+=($!)
  invoke+=(--invoke-url "$id=http://127.0.0.1:$port")
  port=$((port + 1))
done < <("$bin" functions "${overrides[@]}")

echo "==> the local stack, its functions under cargo lambda watch" >&2
"$bin" serve --store dynamodb --endpoint-url "$endpoint" "${invoke[@]}" "${args[@]}"
