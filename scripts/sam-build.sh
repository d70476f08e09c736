#!/usr/bin/env bash
# The deploy build, as `sam build --beta-features` runs it before `sam deploy` (docs/deploying.md,
# Step 2): each function built by SAM's rust-cargolambda workflow from its CodeUri.
# Into .local/sam-build, so the tree stays clean; checks that every function of template.yaml
# has its bootstrap there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
venv=.local/venv
[ -x "$venv/bin/sam" ] || scripts/check-template.sh >/dev/null
[ -x "$venv/bin/cargo-lambda" ] || scripts/lambda-build.sh >/dev/null
export PATH="$PWD/$venv/bin:$PATH" SAM_CLI_TELEMETRY=0
out=.local/sam-build
rm -rf "$out"
# As the deploy steps of docs/deploying.md, and make lambda-build: aws-lc without jitter entropy.
AWS_LC_SYS_NO_JITTER_ENTROPY=1 sam build --beta-features --build-dir "$out" --cache-dir .local/sam-cache 2>&1 \
  | grep -v -E '^\s+(Compiling|Downloaded|Downloading) ' || { echo "error: sam build failed" >&2; exit 1; }
functions=$(template_functions)
[ -n "$functions" ] || { echo "error: template.yaml has no AWS::Serverless::Function" >&2; exit 1; }
for f in $functions; do
  [ -x "$out/$f/bootstrap" ] || { echo "error: sam build made no $out/$f/bootstrap" >&2; exit 1; }
  file "$out/$f/bootstrap" 2>/dev/null | grep -q 'ARM aarch64' || [ ! -x "$(command -v file)" ] \
    || { echo "error: $out/$f/bootstrap is not an arm64 binary" >&2; exit 1; }
done
echo "sam build: the bootstraps of" $functions "are in $out"
