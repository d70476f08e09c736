#!/usr/bin/env bash
# Validates template.yaml with `sam validate --lint` and `cfn-lint`, then translates it and checks
# the HTTP API's body (scripts/check-template-api.py, with openapi-spec-validator). The tools are
# installed from PyPI into the project-local virtualenv .local/venv when missing (offline after).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
venv_tools sam=aws-sam-cli cfn-lint=cfn-lint openapi-spec-validator=openapi-spec-validator
venv=.local/venv
export SAM_CLI_TELEMETRY=0
"$venv/bin/sam" validate --lint --template-file template.yaml
"$venv/bin/cfn-lint" template.yaml
AWS_DEFAULT_REGION=us-east-1 "$venv/bin/python" scripts/check-template-api.py template.yaml
echo "template.yaml: sam validate --lint, cfn-lint and the API body check passed"
