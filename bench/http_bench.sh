#!/usr/bin/env bash
# Starts a throw-away `vontres serve` (temporary data dir, loopback port), creates an admin, then runs
# bench/http_healthz.sh (GET /healthz vs a baseline HTTP server) and bench/auth_wrk.sh (GET
# /api/v1/auth/me with a bearer token vs GET /healthz) against it, and stops it. Reports, asserts nothing.
#
# Usage: bench/http_bench.sh [BINARY]   (default build/src/vontres)
# Env: DURATION (10s), CONNECTIONS (32), THREADS (2), PORT (18181), LOG_LEVEL (warn: no access log lines)
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-build/src/vontres}"
port="${PORT:-18181}"
export DURATION="${DURATION:-10s}" CONNECTIONS="${CONNECTIONS:-32}" THREADS="${THREADS:-2}"
data="$(mktemp -d)"
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

password="$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')"
printf '%s\n' "$password" | "$binary" users create-admin --data-dir "$data" --org Bench --email bench@bench.example \
  --password-stdin --log-level warn >/dev/null
VONTRES_TELEPHONY_ENABLED=false "$binary" serve --data-dir "$data" --http-listen "127.0.0.1:$port" --log-level "${LOG_LEVEL:-warn}" 2>"$data/serve.log" &
pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

echo "### GET /healthz vs baseline"
bench/http_healthz.sh "http://127.0.0.1:$port" 2>/dev/null
echo
echo "### authenticated route"
printf '%s\n' "$password" | bench/auth_wrk.sh "http://127.0.0.1:$port" bench@bench.example "$DURATION" "$CONNECTIONS" "$THREADS" |
  grep -E "^==|Requests/sec|50%|99%"
