#!/usr/bin/env bash
# Validates template.yaml with `sam validate --lint` and `cfn-lint`, both installed from PyPI
# into the project-local virtualenv .local/venv when missing (offline after that).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.local/venv
if [ ! -x "$venv/bin/sam" ] || [ ! -x "$venv/bin/cfn-lint" ]; then
  echo "Installing aws-sam-cli and cfn-lint into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check aws-sam-cli cfn-lint
fi
export SAM_CLI_TELEMETRY=0
"$venv/bin/sam" validate --lint --template-file template.yaml
"$venv/bin/cfn-lint" template.yaml
AWS_DEFAULT_REGION=us-east-1 "$venv/bin/python" scripts/check-template-api.py template.yaml
echo "template.yaml: sam validate --lint and cfn-lint passed"
