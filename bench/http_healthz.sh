#!/usr/bin/env bash
# Throughput of GET /healthz on a running Vontres server, as a ratio against a baseline HTTP peer
# (python3 -m http.server serving a tiny static file, or nginx when NGINX=1 and nginx is installed)
# measured in the same run on the same machine. Reports figures; asserts nothing.
#
# Usage: bench/http_healthz.sh [BASE_URL]   (default http://127.0.0.1:8080; start `vontres serve` first)
# Env: THREADS (2), CONNECTIONS (32), DURATION (10s), BASELINE_PORT (18099)
set -euo pipefail

base_url="${1:-http://127.0.0.1:8080}"
threads="${THREADS:-2}"
connections="${CONNECTIONS:-32}"
duration="${DURATION:-10s}"
baseline_port="${BASELINE_PORT:-18099}"

command -v wrk >/dev/null || { echo "wrk not found" >&2; exit 1; }
curl -fsS --max-time 2 "${base_url}/healthz" >/dev/null || { echo "no server answering ${base_url}/healthz" >&2; exit 1; }

workdir="$(mktemp -d)"
baseline_pid=""
cleanup() {
  if [[ -n "${baseline_pid}" ]]; then kill "${baseline_pid}" 2>/dev/null || true; wait "${baseline_pid}" 2>/dev/null || true; fi
  rm -rf "${workdir}"
}
trap cleanup EXIT

printf '{"status":"ok"}' >"${workdir}/healthz"
if [[ "${NGINX:-0}" == "1" ]] && command -v nginx >/dev/null; then
  baseline_name="nginx static file"
  cat >"${workdir}/nginx.conf" <<CONF
daemon off; worker_processes 1; pid ${workdir}/nginx.pid; error_log ${workdir}/error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:${baseline_port}; root ${workdir}; } }
CONF
  nginx -c "${workdir}/nginx.conf" -p "${workdir}" &
else
  baseline_name="python3 http.server static file"
  python3 -m http.server "${baseline_port}" --bind 127.0.0.1 --directory "${workdir}" >/dev/null 2>&1 &
fi
baseline_pid=$!
for _ in $(seq 50); do
  curl -fsS --max-time 1 "http://127.0.0.1:${baseline_port}/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

requests_per_second() {
  wrk -t"${threads}" -c"${connections}" -d"${duration}" "$1" | tee /dev/stderr | awk '/Requests\/sec/ {print $2}'
}

echo "== vontres ${base_url}/healthz" >&2
vontres_rps="$(requests_per_second "${base_url}/healthz")"
echo "== baseline (${baseline_name}) http://127.0.0.1:${baseline_port}/healthz" >&2
baseline_rps="$(requests_per_second "http://127.0.0.1:${baseline_port}/healthz")"

echo "vontres  /healthz: ${vontres_rps} req/s"
echo "baseline /healthz: ${baseline_rps} req/s (${baseline_name})"
awk -v a="${vontres_rps}" -v b="${baseline_rps}" 'BEGIN { if (b > 0) printf "ratio vontres/baseline: %.2f\n", a / b }'
