#!/usr/bin/env bash
# `make soak`: the local stack (release build, in-memory store, request logging at info) under
# load, not a test: it prints, never asserts. For DURATION (60 s) at CONNECTIONS (64), requests
# alternate GET /contacts and GET /calendar with tokens rotating among USERS (1,000) users;
# prints req/s, p99, the count of non-2xx answers, and the stack's RSS before and after.
# Needs wrk (apt-get install wrk) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
duration="${DURATION:-60}" connections="${CONNECTIONS:-64}" users="${USERS:-1000}"
command -v wrk >/dev/null || { echo "error: wrk is needed for the soak (apt-get install wrk)" >&2; exit 1; }
target="${CARGO_TARGET_DIR:-target}"

echo "==> cargo build --release -p organizer-local" >&2
cargo build --release --quiet -p organizer-local
work=$(mktemp -d)
# A copy: the build folder may be shared, and another build must not swap the binary mid-run.
cp "$target/release/organizer" "$work/organizer"
bin="$work/organizer"
tenant_port=$(free_port) api_port=$(free_port) site_port=$(free_port) site2_port=$(free_port)
"$bin" serve --tenant-port "$tenant_port" --api-port "$api_port" --site-port "$site_port" \
  --second-site-port "$site2_port" --state-dir "$work/state" --no-throttling >"$work/stack.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
# Ready when the tenant serves its keys: the ports are bound before the tenant has loaded (or,
# on a first run, made) its signing key, and minting tokens before that would race it.
for _ in $(seq 1 100); do
  curl -sf -m 2 -o /dev/null "http://localhost:$tenant_port/.well-known/jwks.json" && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/stack.log" >&2; echo "error: the stack exited" >&2; exit 1; }
  sleep 0.2
done
kill -0 "$pid" 2>/dev/null || { cat "$work/stack.log" >&2; echo "error: the stack exited" >&2; exit 1; }
"$bin" tokens --count "$users" --issuer "http://localhost:$tenant_port/" --state-dir "$work/state" \
  --out "$work/tokens.txt"
# The port answered; make sure it is this stack (free ports can be taken by someone else
# between choosing and binding) and that a token works, before measuring anything.
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(head -1 "$work/tokens.txt")" \
  "http://localhost:$api_port/contacts")
if [ "$status" != 200 ] || ! kill -0 "$pid" 2>/dev/null; then
  cat "$work/stack.log" >&2
  echo "error: the stack on port $api_port answered $status to a valid token; not measuring" >&2
  exit 1
fi

rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
# A warm-up, so "before" is the stack as it serves, not as it started: under 64 connections
# the allocator's per-thread caches and the connections' buffers grow for the first 20-30 s
# and then stay flat (measured over 180 s: 30.8 MB after 12 s, 33.2 MB at 30 s, 32.4 MB at
# 180 s), so a shorter warm-up would count that one-off growth as a leak.
echo "==> warm-up: wrk -t2 -c$connections -d20s" >&2
wrk -t2 -c"$connections" -d20s -s scripts/soak.lua "http://localhost:$api_port" -- "$work/tokens.txt" >/dev/null
before=$(rss)
# RSS every 10 s during the run, so a slow leak shows as a trend, not only as two numbers.
( while sleep 10; do rss >>"$work/rss.txt" 2>/dev/null || exit 0; done ) &
sampler=$!
echo "==> wrk -t2 -c$connections -d${duration}s, $users users" >&2
out=$(wrk -t2 -c"$connections" -d"${duration}s" --latency -s scripts/soak.lua "http://localhost:$api_port" -- "$work/tokens.txt")
after=$(rss)
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
echo "$out" >&2
requests=$(echo "$out" | awk '/requests in/ {print $1}')
rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
non2xx=$(echo "$out" | awk '/Non-2xx or 3xx responses/ {print $5}')
errors=$(echo "$out" | awk '/Socket errors/ {print}')
printf '\nsoak: %s s, %s connections, tokens of %s users, request logging on (info)\n' "$duration" "$connections" "$users"
printf '  requests       %s\n' "$requests"
printf '  req/s          %s\n' "$rps"
printf '  p99            %s\n' "$p99"
printf '  non-2xx        %s\n' "${non2xx:-0}"
[ -n "$errors" ] && printf '  %s\n' "$errors"
python3 - "$before" "$after" "$work/rss.txt" <<'PY'
import sys
before, after = (int(x) for x in sys.argv[1:3])
try:
    samples = [int(line) for line in open(sys.argv[3]) if line.strip()]
except FileNotFoundError:
    samples = []
print(f"  RSS before     {before / 1024:.1f} MB   (after a 20 s warm-up)")
if samples:
    print("  RSS every 10 s " + " ".join(f"{s / 1024:.1f}" for s in samples) + " MB")
print(f"  RSS after      {after / 1024:.1f} MB   ({(after - before) / before * 100:+.1f} %, goal < +10 %)")
PY
