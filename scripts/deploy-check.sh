#!/usr/bin/env bash
# The deploy check (`make deploy-check`, and a step of `make test`): everything about the deploy
# path that runs offline (docs/deploying.md). Installs its tools into .local when
# missing (scripts/deploy-tools.sh; offline after), then runs scripts/deploy-check.py, which
# prints each check's result and exits 1 when one fails. Arguments: names of checks to run alone
# (the functions of deploy-check.py, e.g. `scripts/deploy-check.sh checkov site_bundle`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deploy-tools.sh
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
exec .local/venv/bin/python scripts/deploy-check.py "$@"
