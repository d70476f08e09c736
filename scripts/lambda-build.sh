#!/usr/bin/env bash
# Builds every function (the crates of functions/) for Lambda (arm64, release) with cargo-lambda, installed from PyPI
# (with zig) into .local/venv when missing, and prints each bootstrap's size and zipped size.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
venv_tools cargo-lambda=cargo-lambda
# aws-lc-sys without its CPU jitter entropy source: it seeds aws-lc's random generator from the
# OS alone (getrandom, plus RDRAND/RNDR where the CPU has it), as AWS-LC does by itself in VMs
# that tell snapshots apart. Measured by make figures: the seeding otherwise adds about 20 ms
# to the first TLS handshake of a cold start (docs/local-lambda.md, "Figures").
export AWS_LC_SYS_NO_JITTER_ENTROPY=1
mapfile -t services < <(service_crates)
cargo lambda build --release --arm64 "${services[@]/#/-p=}"
# The authorizer alone, as sam build builds it: built with the others, cargo would unify the
# shared crate's features and link the DynamoDB SDK into it too.
cargo lambda build --release --arm64 -p authorizer
target="${CARGO_TARGET_DIR:-target}/lambda"
for f in $(function_crates); do
  python3 - "$target/$f/bootstrap" "$f" <<'PY'
import io, os, sys, zipfile
path, name = sys.argv[1], sys.argv[2]
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(path, "bootstrap")
print(f"{name:<11} bootstrap {os.path.getsize(path)/1e6:6.1f} MB   zipped {len(buf.getvalue())/1e6:5.1f} MB")
PY
done
