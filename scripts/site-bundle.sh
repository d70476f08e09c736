#!/usr/bin/env bash
# Assembles the SPA for hosting (S3 + CloudFront): site/public, auth0-js and auth0-spa-js (with
# its token worker) under vendor/, and a config.json for a real tenant. Usage:
#
#   scripts/site-bundle.sh OUT_DIR (--domain my-tenant.eu.auth0.com | --issuer https://login.example.com/) \
#       --client-id <SPA client id> --api-url <ApiUrl output> --site-url <SiteUrl output> \
#       [--flow implicit|code] [--cache-location memory|localstorage] [--audience organize] [--session-check-seconds 900]
#
# --domain or --issuer: the same value as the stack's Auth0Domain or Issuer parameter. --flow:
# the sign-in flow (default implicit; code = authorization code + PKCE with refresh tokens, the
# client needs the refresh_token grant). Then `aws s3 sync OUT_DIR s3://<SiteBucket>/ --delete
# --exclude .organizer-site-bundle` and an invalidation of /* (docs/deploying.md, Step 3).
# config.json's services (the app's panels) and its scope come from services.yaml, through
# `organizer services --json` (cargo run, or the binary in $ORGANIZER_BIN).
# Runs on Linux and macOS (bash 3.2, BSD tools).
set -euo pipefail
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
  "" ) usage >&2; exit 2 ;;
  -h | --help ) usage; exit 0 ;;
  -* ) echo "error: the first argument is OUT_DIR, a folder to create" >&2; usage >&2; exit 2 ;;
esac
command -v python3 >/dev/null || { echo "error: python3 is needed (macOS: xcode-select --install)" >&2; exit 1; }
# OUT_DIR is taken from where the command runs (an absolute path without GNU's realpath -m,
# which macOS lacks), and it is emptied: only a folder this script made before (it carries a
# marker), or a new or empty one.
out=$(python3 -c 'import os, sys; print(os.path.abspath(sys.argv[1]))' "$1"); shift
marker=.organizer-site-bundle
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && [ ! -f "$out/$marker" ]; then
  echo "error: $out is not empty and was not made by site-bundle.sh; choose a new folder" >&2
  exit 2
fi
# $ORGANIZER_BIN, when given as a relative path, is relative to where the command runs.
organizer_bin=${ORGANIZER_BIN:-}
case "$organizer_bin" in
  "" | /*) ;;
  *) organizer_bin="$PWD/$organizer_bin" ;;
esac
cd "$(dirname "$0")/.."
config=$(mktemp)
services=$(mktemp)
trap 'rm -f "$config" "$services"' EXIT
python3 - "$config" "$@" <<'PY'
import argparse, json, re, sys
from urllib.parse import urlparse

path = sys.argv[1]
p = argparse.ArgumentParser(prog="site-bundle.sh OUT_DIR")
tenant = p.add_mutually_exclusive_group(required=True)
tenant.add_argument("--domain", help="the Auth0 tenant's domain, as the stack's Auth0Domain, e.g. my-tenant.eu.auth0.com")
tenant.add_argument("--issuer", help="the issuer URL, as the stack's Issuer, e.g. https://login.example.com/")
p.add_argument("--client-id", required=True, help="the SPA's client id in that tenant")
p.add_argument("--api-url", required=True, help="the stack's ApiUrl output")
p.add_argument("--site-url", required=True, help="the stack's SiteUrl output")
p.add_argument("--audience", default="organize", help="the logical API's identifier (default: organize)")
p.add_argument("--session-check-seconds", type=int, default=900)
p.add_argument("--flow", choices=["implicit", "code"], default="implicit",
               help="the sign-in flow: implicit (auth0-js) or code (auth0-spa-js, PKCE, rotating refresh tokens)")
p.add_argument("--cache-location", choices=["memory", "localstorage"], default="memory",
               help="code flow: where auth0-spa-js keeps tokens (localstorage survives reloads, and any script on the site can read it)")
a = p.parse_args(sys.argv[2:])
# The same rules as the template's Auth0Domain and Issuer parameters.
host = r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?[.])+[a-z]{2,63}"
overrides = None
issuer = None
if a.domain is not None:
    if not re.fullmatch(host, a.domain):
        p.error("--domain is a lower-case host name without scheme or path, e.g. my-tenant.eu.auth0.com")
    domain = a.domain
else:
    u = urlparse(a.issuer)
    if u.scheme != "https" or not u.netloc or not a.issuer.endswith("/") or u.query or u.fragment:
        p.error("--issuer is an https URL ending with '/', e.g. https://login.example.com/")
    if u.path == "/":
        # auth0-js derives exactly this issuer (https://<domain>/) and its JWKS from a domain.
        domain = u.netloc
    else:
        # An issuer with a path: auth0-js takes the base URL as its domain, and is told the
        # issuer and the JWKS location (as the local stack does for the dev tenant).
        domain = a.issuer.rstrip("/")
        overrides = {"__token_issuer": a.issuer, "__jwks_uri": a.issuer + ".well-known/jwks.json"}
        # auth0-spa-js (the code flow) is told the issuer with its `issuer` option.
        issuer = a.issuer
for name, url in (("--api-url", a.api_url), ("--site-url", a.site_url)):
    u = urlparse(url)
    if u.scheme != "https" or not u.netloc:
        p.error(f"{name} must be an https URL, e.g. https://abc.cloudfront.net (got {url!r})")
if a.session_check_seconds < 60:
    p.error("--session-check-seconds below 60 would hit Auth0's rate limits; Auth0 advises 900")
site = a.site_url.rstrip("/")
config = {
    "domain": domain,
    "clientID": a.client_id,
    "audience": a.audience,
    "redirectUri": f"{site}/callback.html",
    "logoutReturnTo": site,
    "apiBaseUrl": a.api_url.rstrip("/"),
    "sessionCheckSeconds": a.session_check_seconds,
    "flow": a.flow,
    "cacheLocation": a.cache_location,
}
if overrides:
    config["overrides"] = overrides
if issuer:
    config["issuer"] = issuer
with open(path, "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
PY
# --help printed the options and wrote no configuration: nothing to bundle.
[ -s "$config" ] || exit 0
# The services as the app gets them: services.yaml's public part, built by the Rust crate that
# reads it (the local stack serves the same in its config.json).
if [ -n "$organizer_bin" ]; then
  "$organizer_bin" services --json >"$services"
else
  cargo run -q -p organizer-local -- services --json >"$services"
fi
python3 - "$config" "$services" <<'PY'
import json, sys

path, services_path = sys.argv[1], sys.argv[2]
with open(path) as f:
    config = json.load(f)
with open(services_path) as f:
    services = json.load(f)
if not isinstance(services, list) or not services:
    sys.exit("error: organizer services --json printed no services")
# Every service's read and write scope (RBAC keeps in a token what the user's roles allow).
reads = [s["scopes"]["read"]["name"] for s in services]
writes = [s["scopes"]["write"]["name"] for s in services]
config["scope"] = " ".join(["openid", "profile", "email", *reads, *writes])
config["services"] = services
with open(path, "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
PY
scripts/site-deps.sh
rm -rf "$out"
mkdir -p "$out/vendor"
cp -R site/public/. "$out/"
cp site/node_modules/auth0-js/dist/auth0.min.js "$out/vendor/auth0.min.js"
cp site/node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.production.js "$out/vendor/auth0-spa-js.production.js"
cp site/node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.worker.production.js "$out/vendor/auth0-spa-js.worker.production.js"
cp "$config" "$out/config.json"
: >"$out/$marker"
echo "site bundle in $out:" >&2
(cd "$out" && find . -type f | sort) >&2
