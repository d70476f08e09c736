#!/usr/bin/env bash
# Builds the three functions for Lambda (arm64, release) with cargo-lambda, installed from PyPI
# (with zig) into .local/venv when missing, and prints each bootstrap's size and zipped size.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.local/venv
if [ ! -x "$venv/bin/cargo-lambda" ]; then
  echo "Installing cargo-lambda into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check cargo-lambda
fi
export PATH="$PWD/$venv/bin:$PATH"
cargo lambda build --release --arm64 -p contacts -p calendar -p authorizer
target="${CARGO_TARGET_DIR:-target}/lambda"
for f in contacts calendar authorizer; do
  python3 - "$target/$f/bootstrap" "$f" <<'PY'
import io, os, sys, zipfile
path, name = sys.argv[1], sys.argv[2]
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(path, "bootstrap")
print(f"{name:<11} bootstrap {os.path.getsize(path)/1e6:6.1f} MB   zipped {len(buf.getvalue())/1e6:5.1f} MB")
PY
done
