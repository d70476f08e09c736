# Shell helpers the scripts share (source it: `. scripts/lib.sh`), so each chore is written once:
#
#   venv_tools CMD=PACKAGE ...   the project's Python environment, .local/venv, with these
#                                commands installed from PyPI when missing; puts it on PATH
#   start_dynamodb_local LOG     DynamoDB Local (installed by scripts/dynamodb-local.sh) on a free
#                                port, in memory; sets DYNAMODB_ENDPOINT and DYNAMODB_PID and
#                                stops it when the calling script exits
#   free_port                    prints a free TCP port on 127.0.0.1

venv_tools() {
  local venv=.local/venv missing=()
  for spec in "$@"; do
    [ -x "$venv/bin/${spec%%=*}" ] || missing+=("${spec#*=}")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    command -v python3 >/dev/null || { echo "error: python3 is needed (apt-get install python3 python3-venv)" >&2; return 1; }
    echo "Installing ${missing[*]} into $venv ..." >&2
    [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${missing[@]}"
  fi
  export PATH="$PWD/$venv/bin:$PATH"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_dynamodb_local() {
  local log=$1 dir port
  command -v java >/dev/null || { echo "error: Java 17+ is needed for DynamoDB Local (apt-get install openjdk-17-jre-headless)" >&2; return 1; }
  dir=$(scripts/dynamodb-local.sh)
  port=$(free_port)
  mkdir -p "$(dirname "$log")"
  java -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
    -inMemory -port "$port" >"$log" 2>&1 &
  DYNAMODB_PID=$!
  trap 'kill "$DYNAMODB_PID" 2>/dev/null || true; wait "$DYNAMODB_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    kill -0 "$DYNAMODB_PID" 2>/dev/null || { cat "$log" >&2; echo "error: DynamoDB Local exited" >&2; return 1; }
    sleep 0.5
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "error: DynamoDB Local did not open port $port" >&2; return 1; }
  DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
  echo "DynamoDB Local on $DYNAMODB_ENDPOINT"
}

# The function crates, one per folder of functions/ (the workspace's members are functions/*):
# every service of services.yaml (local/tests/manifest.rs checks each has its folder) and the
# authorizer. No list to keep: a new service's crate is built because its folder exists.
function_crates() {
  local d
  for d in functions/*/; do
    [ -f "$d/Cargo.toml" ] && basename "$d"
  done
}

# The services' crates: the function crates but the authorizer.
service_crates() {
  function_crates | grep -vx authorizer
}

# The logical ids of template.yaml's AWS::Serverless::Function resources, as sam build names
# its output folders.
template_functions() {
  awk '/^  [A-Za-z0-9]+:$/ { id = substr($1, 1, length($1) - 1) }
       /^    Type: AWS::Serverless::Function$/ { print id }' template.yaml
}
