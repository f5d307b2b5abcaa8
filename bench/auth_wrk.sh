#!/usr/bin/env bash
# Load test of authenticated requests: wrk against GET /api/v1/auth/me with a bearer token, with
# GET /healthz (public, no token check) in the same run as the baseline.
#
# Usage: bench/auth_wrk.sh BASE_URL EMAIL [DURATION] [CONNECTIONS] [THREADS]
#   The password is read from the VONTRES_BENCH_PASSWORD variable or standard input (never argv,
#   which other users can see in ps). Example:
#     echo "$PW" | bench/auth_wrk.sh http://127.0.0.1:8080 admin@example.com 20s 64 2
set -euo pipefail

base_url=${1:?usage: $0 BASE_URL EMAIL [DURATION] [CONNECTIONS] [THREADS]}
email=${2:?usage: $0 BASE_URL EMAIL [DURATION] [CONNECTIONS] [THREADS]}
duration=${3:-20s}
connections=${4:-64}
threads=${5:-2}

command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }

password=${VONTRES_BENCH_PASSWORD:-}
if [[ -z "$password" ]]; then
  IFS= read -r password
fi

body=$(EMAIL="$email" PASSWORD="$password" python3 -c \
  'import json, os; print(json.dumps({"email": os.environ["EMAIL"], "password": os.environ["PASSWORD"]}))')
response=$(curl -sS --fail -H 'Content-Type: application/json' --data-binary @- "$base_url/api/v1/auth/login" <<<"$body")
token=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' <<<"$response")
unset password body response

# The access token lives 15 minutes by default; keep DURATION below that.
script=$(mktemp)
trap 'rm -f "$script"' EXIT
chmod 600 "$script"
printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$token" >"$script"

echo "== baseline: GET /healthz (no authentication)"
wrk -t"$threads" -c"$connections" -d"$duration" --latency "$base_url/healthz"
echo
echo "== GET /api/v1/auth/me (Bearer JWT: verify + revocation checks + permission resolution)"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$script" "$base_url/api/v1/auth/me"
