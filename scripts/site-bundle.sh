#!/usr/bin/env bash
# Assembles the SPA for hosting (S3 + CloudFront): site/public, auth0-js at vendor/auth0.min.js,
# and a config.json for a real tenant. Usage:
#
#   scripts/site-bundle.sh OUT_DIR --domain my-tenant.eu.auth0.com --client-id <SPA client id> \
#       --api-url <ApiUrl output> --site-url <SiteUrl output> [--session-check-seconds 900]
#
# then `aws s3 sync OUT_DIR s3://<SiteBucket>/ --delete --exclude .organizer-site-bundle`.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
# OUT_DIR is taken from where the command runs, and it is emptied: only a folder this script
# made before (it carries a marker), or a new or empty one.
out=$(realpath -m -- "$1"); shift
marker=.organizer-site-bundle
if [ -d "$out" ] && [ -n "$(ls -A -- "$out")" ] && [ ! -f "$out/$marker" ]; then
  echo "error: $out is not empty and was not made by site-bundle.sh; choose a new folder" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
config=$(mktemp)
trap 'rm -f "$config"' EXIT
python3 - "$config" "$@" <<'PY'
import argparse, json, re, sys
from urllib.parse import urlparse

path = sys.argv[1]
p = argparse.ArgumentParser(prog="site-bundle.sh OUT_DIR")
p.add_argument("--domain", required=True, help="the Auth0 tenant's domain, e.g. my-tenant.eu.auth0.com")
p.add_argument("--client-id", required=True, help="the SPA's client id in that tenant")
p.add_argument("--api-url", required=True, help="the stack's ApiUrl output")
p.add_argument("--site-url", required=True, help="the stack's SiteUrl output")
p.add_argument("--audience", default="organize")
p.add_argument("--session-check-seconds", type=int, default=900)
a = p.parse_args(sys.argv[2:])
if not re.fullmatch(r"[A-Za-z0-9.-]+", a.domain):
    p.error("--domain is a host name without scheme or path, e.g. my-tenant.eu.auth0.com")
for name, url in (("--api-url", a.api_url), ("--site-url", a.site_url)):
    u = urlparse(url)
    if u.scheme != "https" or not u.netloc:
        p.error(f"{name} must be an https URL, e.g. https://abc.cloudfront.net (got {url!r})")
if a.session_check_seconds < 60:
    p.error("--session-check-seconds below 60 would hit Auth0's rate limits; Auth0 advises 900")
site = a.site_url.rstrip("/")
config = {
    "domain": a.domain,
    "clientID": a.client_id,
    "audience": a.audience,
    "scope": "openid profile email read:contacts read:calendar",
    "redirectUri": f"{site}/callback.html",
    "logoutReturnTo": site,
    "apiBaseUrl": a.api_url.rstrip("/"),
    "sessionCheckSeconds": a.session_check_seconds,
}
with open(path, "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
PY
scripts/site-deps.sh
rm -rf "$out"
mkdir -p "$out/vendor"
cp -R site/public/. "$out/"
cp site/node_modules/auth0-js/dist/auth0.min.js "$out/vendor/auth0.min.js"
cp "$config" "$out/config.json"
: >"$out/$marker"
echo "site bundle in $out:" >&2
(cd "$out" && find . -type f | sort) >&2
