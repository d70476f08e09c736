#!/usr/bin/env bash
# `make figures`: prints, never asserts (docs/local-lambda.md, "Figures"):
#  1. the zipped size of each release arm64 `bootstrap` (scripts/lambda-build.sh; goal <= 4 MB);
#  2. a local cold-start proxy: each release binary built for this host, started against a
#     Lambda Runtime API emulator (local/examples/lambda_figures.rs) with DynamoDB Local, the
#     network made to look like Lambda's (JWKS and DynamoDB over https, each delayed by
#     DELAY_MS, 80): init, first and warm invocation, with the keys fetched at init and with
#     JWKS_SNAPSHOT, median of RUNS (7) fresh processes;
#  3. the same for binaries built with AWS_LC_SYS_NO_JITTER_ENTROPY=1 (JITTER=0 skips this; the
#     first time it builds the functions again in $CARGO_TARGET_DIR/no-jitter);
#  4. each function's peak RSS after 1,000 warm invocations (goal <= 20 MB).
# BASELINE=dir adds the same runs for the functions' binaries in dir
# (older builds: a before/after from one run).
# Needs what `make test` needs (Java 17 for DynamoDB Local; cargo-lambda is installed on
# demand) and openssl (the emulator's certificate for localhost).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
runs="${RUNS:-7}" delay="${DELAY_MS:-80}" jitter="${JITTER:-1}"
target="${CARGO_TARGET_DIR:-target}"
command -v openssl >/dev/null || { echo "error: openssl is needed (apt-get install openssl)" >&2; exit 1; }
work=$(mktemp -d)
cleanup_work() { rm -rf "$work"; }

printf '==> release arm64 bootstraps (cargo lambda build --release --arm64)\n'
scripts/lambda-build.sh

# Builds PACKAGES for this host into TARGET_DIR and copies them to OUT. Another checkout
# sharing the target folder may put its own binaries there at any time: copy ours, have cargo
# (fresh, so quick) point the folder at ours again, and compare.
build_copy() { # TARGET_DIR OUT PACKAGE...
  local dir=$1 out=$2 attempt p same
  shift 2
  mkdir -p "$out"
  for attempt in 1 2 3; do
    CARGO_TARGET_DIR="$dir" cargo build --release --quiet "${@/#/-p=}"
    for p in "$@"; do cp "$dir/release/$p" "$out/"; done
    CARGO_TARGET_DIR="$dir" cargo build --release --quiet "${@/#/-p=}"
    same=1
    for p in "$@"; do cmp -s "$dir/release/$p" "$out/$p" || same=0; done
    [ "$same" = 1 ] && return 0
  done
}
host_build() { # TARGET_DIR OUT
  local services
  mapfile -t services < <(service_crates)
  build_copy "$1" "$2" "${services[@]}"
  build_copy "$1" "$2" authorizer   # alone: without the DynamoDB SDK (lambda-build.sh)
}
printf '\n==> release binaries for this host (%s)\n' "$(rustc -vV | sed -n 's/^host: //p')"
host_build "$target" "$work/bin"
extra=()
[ -n "${BASELINE:-}" ] && extra+=(FIGURES_BASELINE_BIN_DIR="$BASELINE")
if [ "$jitter" != 0 ]; then
  printf '\n==> the same with AWS_LC_SYS_NO_JITTER_ENTROPY=1 (in %s)\n' "$target/no-jitter"
  AWS_LC_SYS_NO_JITTER_ENTROPY=1 host_build "$target/no-jitter" "$work/bin-no-jitter"
  extra+=(FIGURES_NO_JITTER_BIN_DIR="$work/bin-no-jitter")
fi

printf '\n==> a certificate for localhost, trusted by the functions beside the system CAs\n'
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=organizer figures CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout "$work/localhost.key" -out "$work/localhost.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
  >"$work/localhost.ext"
openssl x509 -req -days 2 -in "$work/localhost.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
  -CAcreateserial -extfile "$work/localhost.ext" -out "$work/localhost.pem" 2>/dev/null
# As many CAs as Lambda's image has (al2023's bundle is about the size of Debian's).
for bundle in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
  [ -f "$bundle" ] && { cat "$bundle" >"$work/ca-bundle.pem"; break; }
done
cat "$work/ca.pem" >>"$work/ca-bundle.pem"

printf '\n==> DynamoDB Local\n'
start_dynamodb_local .local/dynamodb-local-figures.log
trap 'kill "$DYNAMODB_PID" 2>/dev/null || true; wait "$DYNAMODB_PID" 2>/dev/null || true; cleanup_work' EXIT

printf '\n==> cold-start proxy\n'
env ORGANIZER_FIGURES_DYNAMODB="$DYNAMODB_ENDPOINT" FIGURES_DELAY_MS="$delay" \
  FIGURES_TLS_CERT="$work/localhost.pem" FIGURES_TLS_KEY="$work/localhost.key" \
  FIGURES_TLS_CA_FILE="$work/ca-bundle.pem" "${extra[@]}" \
  cargo run --quiet -p organizer-local --example lambda_figures -- "$work/bin" "$runs"
printf '\nload average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
