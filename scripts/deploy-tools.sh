#!/usr/bin/env bash
# Installs the tools of the deploy check (scripts/deploy-check.sh) into .local when missing, from
# PyPI and the npm registry; after the first run everything works offline.
#
#   .local/venv          aws-sam-cli, cfn-lint, awscli (v1, the AWS CLI on PyPI),
#                        openapi-spec-validator: the same venv as scripts/check-template.sh
#   .local/checkov-venv  checkov, pinned: in a venv of its own because it pins boto3 and
#                        packaging to versions aws-sam-cli refuses
#   .local/a0deploy      auth0-deploy-cli, pinned (the a0deploy commands of docs/deploying.md)
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOV_VERSION=3.3.30
A0DEPLOY_VERSION=8.44.0
pip_flags=(--quiet --disable-pip-version-check)
fail() { echo "error: $*" >&2; exit 1; }
command -v python3 >/dev/null || fail "python3 is needed (apt-get install python3 python3-venv)"

. scripts/lib.sh
venv_tools sam=aws-sam-cli cfn-lint=cfn-lint aws=awscli openapi-spec-validator=openapi-spec-validator \
  || fail "pip could not install aws-sam-cli cfn-lint awscli openapi-spec-validator into .local/venv (PyPI reachable?)"
.local/venv/bin/pip check >/dev/null || fail ".local/venv has conflicting packages; remove it and run again"

checkov=.local/checkov-venv
if [ "$("$checkov/bin/checkov" --version 2>/dev/null)" != "$CHECKOV_VERSION" ]; then
  echo "Installing checkov $CHECKOV_VERSION into $checkov ..." >&2
  [ -x "$checkov/bin/python" ] || python3 -m venv "$checkov"
  "$checkov/bin/pip" install "${pip_flags[@]}" "checkov==$CHECKOV_VERSION" \
    || fail "pip could not install checkov==$CHECKOV_VERSION into $checkov (PyPI reachable?)"
fi

a0=.local/a0deploy
if [ ! -x "$a0/node_modules/.bin/a0deploy" ] \
  || [ "$(cd "$a0" && node -p 'require("auth0-deploy-cli/package.json").version' 2>/dev/null)" != "$A0DEPLOY_VERSION" ]; then
  command -v npm >/dev/null || fail "npm is needed for auth0-deploy-cli (apt-get install npm)"
  echo "Installing auth0-deploy-cli $A0DEPLOY_VERSION into $a0 ..." >&2
  mkdir -p "$a0"
  npm install --prefix "$a0" --no-audit --no-fund --loglevel=error --no-save "auth0-deploy-cli@$A0DEPLOY_VERSION" >&2 \
    || fail "npm could not install auth0-deploy-cli@$A0DEPLOY_VERSION into $a0 (npm registry reachable?)"
fi
