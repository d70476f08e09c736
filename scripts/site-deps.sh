#!/usr/bin/env bash
# Installs the site's npm packages (auth0-js and @auth0/auth0-spa-js, which the site serves under
# /vendor/, and playwright-core for the browser tests) into site/node_modules, from
# site/package-lock.json.
# Quiet and quick when they are already there.
set -euo pipefail
cd "$(dirname "$0")/../site"
command -v npm >/dev/null || { echo "error: npm is needed for the site (apt-get install npm)" >&2; exit 1; }
stamp=node_modules/.package-lock.json
if [ ! -f node_modules/auth0-js/dist/auth0.min.js ] || [ ! -f node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.production.js ] || [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "Installing the site's npm packages into site/node_modules ..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
