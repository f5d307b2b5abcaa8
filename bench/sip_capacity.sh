#!/usr/bin/env bash
# SIP call capacity with SIPp on this machine, measured in one run against two callees:
#   (a) Vontres: a throw-away `vontres serve` answers, plays the IVR prompts over RTP, takes the
#       DTMF choice and queues the call (music on hold) until the caller (SIPp, sending G.711
#       speech from a pcap) hangs up;
#   (b) the ceiling: SIPp's own `uas` scenario answering the same calls (for the concurrency
#       sweep a second one that also echoes the RTP: `-rtp_echo`).
# Two measurements, each for (a) and (b), reported as Markdown tables with the ratio (a)/(b):
#   1. call rate: the highest calls/s at which >= 99.9 % of the placed calls complete. Doubles the
#      rate from RATE_START until a rate fails, then bisects between the last good and the first bad
#      rate down to a step of ~10 %. Calls last HOLD_MS after the answer plus 3 s of IVR.
#   2. concurrency: the most simultaneous calls (about 31 s each, RTP both ways all along) at which
#      >= 99.9 % complete. Doubles the number of calls from CONC_START (placed at the callee's own
#      best rate from 1., so they overlap), then bisects CONC_BISECT times.
# The CPU time the callee and the SIPp caller used per call is reported next to each step. Asserts nothing; the figures
# depend on what else runs on the machine (SIPp itself runs here too).
#
# Usage: bench/sip_capacity.sh [BINARY]      (default build/src/vontres)
# Env: RATE_START (10), RATE_MAX (2560), SECONDS_PER_RATE (10), HOLD_MS (3000),
#      CONC_START (100), CONC_MAX (6400), CONC_BISECT (1), SKIP_RATE/SKIP_CONCURRENCY (unset)
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-build/src/vontres}"
rate_start="${RATE_START:-10}"
rate_max="${RATE_MAX:-2560}"
seconds="${SECONDS_PER_RATE:-10}"
hold="${HOLD_MS:-3000}"
conc_start="${CONC_START:-100}"
conc_max="${CONC_MAX:-6400}"
conc_bisect="${CONC_BISECT:-1}"
call_seconds=31  # bench/sip_scenarios/caller_long.xml: 3 s IVR + 4 x 7 s of speech
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || true
ticks="$(getconf CLK_TCK)"

mkdir -p "$work/pcap"
ln -s /usr/share/sip-tester/dtmf_2833_1.pcap "$work/pcap/dtmf.pcap"
ln -s /usr/share/sip-tester/g711a.pcap "$work/pcap/g711a.pcap"
sed "s|\"pcap/|\"$work/pcap/|" tests/telephony/scenarios/caller.xml > "$work/caller.xml"
sed "s|\"pcap/|\"$work/pcap/|" bench/sip_scenarios/caller_long.xml > "$work/caller_long.xml"

# (a) Vontres, with an admin and the queue the IVR leads to.
cat > "$work/vontres.yaml" <<YAML
data_dir: $work/data
http: {listen: 127.0.0.1:15081}
log: {level: warn}
ai: {enabled: false}
telephony:
  sip_udp: 127.0.0.1:15080
  sip_tcp: ''
  rtp_port_min: 30000
  rtp_port_max: 39999
  rtp_inactivity_timeout: 30s
  max_calls: 6000
  ivr_menu_timeout: 30s
  sip_trusted_sources: [127.0.0.1]  # SIPp is the load: exempt from the per-source call limits
  ivr_options:
    - {digit: '1', queue: bench}
YAML
password="bench-admin-password-123"
echo "$password" | "$binary" users create-admin --config "$work/vontres.yaml" --org Bench --email bench@bench.example \
  --password-stdin >/dev/null 2>&1
"$binary" serve --config "$work/vontres.yaml" 2>"$work/serve.log" &
vontres_pid=$!
pids+=("$vontres_pid")
for _ in $(seq 50); do curl -sf http://127.0.0.1:15081/healthz >/dev/null 2>&1 && break; sleep 0.2; done
token="$(curl -sf -H 'Content-Type: application/json' \
  --data "{\"email\":\"bench@bench.example\",\"password\":\"$password\"}" http://127.0.0.1:15081/api/v1/auth/login |
  sed 's/.*"access_token":"\([^"]*\)".*/\1/')"
curl -sf -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  --data '{"id":"bench","name":"Bench"}' http://127.0.0.1:15081/api/v1/queues

# (b) SIPp's uas: plain for the call rate, echoing RTP for the concurrency sweep.
sipp -sn uas -i 127.0.0.1 -p 15090 -nostdin >/dev/null 2>&1 &
uas_pid=$!
pids+=("$uas_pid")
sipp -sn uas -i 127.0.0.1 -p 15091 -rtp_echo -mp 15100 -mi 127.0.0.1 -nostdin >/dev/null 2>&1 &
uas_echo_pid=$!
pids+=("$uas_echo_pid")
sleep 1

cpu_ms() { awk -v t="$ticks" '{ printf "%d", ($14 + $15) * 1000 / t }' "/proc/$1/stat"; }

# stats.csv -> "successful failed peak_concurrent" (columns found by their header names)
read_stats() {
  awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
             { peak = ($col["CurrentCall"] > peak) ? $col["CurrentCall"] : peak; ok = $col["SuccessfulCall(C)"];
               failed = $col["FailedCall(C)"] }
             END { print ok + 0, failed + 0, peak + 0 }' "$1"
}

# sipp_run PID TARGET SCENARIO CALLS RATE HOLD_MS TIMEOUT_S
#   -> "ok failed peak callee_cpu_ms_per_call caller_cpu_ms_per_call"
sipp_run() {
  local pid="$1" target="$2" scenario="$3" calls="$4" rate="$5" hold_ms="$6" timeout_s="$7"
  local stats="$work/stats-$RANDOM$RANDOM.csv" before after TIMEFORMAT='%U %S'
  before="$(cpu_ms "$pid")"
  # SIPp can hang at its -timeout while pcap players are still running: `timeout` ends it then.
  { time timeout -k 5 $((timeout_s + 10)) sipp -sf "$scenario" -s 100 "$target" -i 127.0.0.1 -p 0 \
      -mp $((50000 + RANDOM % 2000)) -r "$rate" -m "$calls" -l "$calls" -d "$hold_ms" -nostdin \
      -timeout "${timeout_s}s" -trace_stat -stf "$stats" -fd 1 >/dev/null 2>&1; } 2>"$work/caller-time" || true
  after="$(cpu_ms "$pid")"
  read -r ok failed peak < <(read_stats "$stats")
  read -r user sys < "$work/caller-time"
  echo "$ok $failed $peak $(awk -v a="$before" -v b="$after" -v u="$user" -v s="$sys" -v n="$calls" \
    'BEGIN { printf "%.2f %.2f", (b - a) / n, (u + s) * 1000 / n }')"
}

passes() { (( $1 * 1000 >= $2 * 999 )); }  # completed placed

# rate_step NAME PID TARGET RATE -> exit status: passed?  Appends a table row.
rate_step() {
  local name="$1" pid="$2" target="$3" rate="$4" calls=$(($4 * seconds))
  read -r ok failed peak cpu caller_cpu < <(sipp_run "$pid" "$target" "$work/caller.xml" "$calls" "$rate" "$hold" \
    $((seconds + hold / 1000 + 18)))
  local pct
  pct="$(awk -v a="$ok" -v b="$calls" 'BEGIN { printf "%.1f", 100 * a / b }')"
  echo "| $name | $rate | $calls | $ok | $pct % | $peak | $cpu | $caller_cpu |" >> "$work/rate-rows.md"
  echo "  $name rate=$rate/s: $ok of $calls completed ($failed failed), peak $peak concurrent," \
    "$cpu ms CPU/call (caller $caller_cpu)" >&2
  passes "$ok" "$calls"
}

# best_rate NAME PID TARGET -> highest passing rate (x2 steps, then bisection to ~10 %)
best_rate() {
  local name="$1" pid="$2" target="$3" good=0 bad=0 rate="$rate_start"
  while (( rate <= rate_max )); do
    if rate_step "$name" "$pid" "$target" "$rate"; then good=$rate; rate=$((rate * 2)); else bad=$rate; break; fi
  done
  if (( bad > 0 )); then
    while (( bad - good > (good / 10 > 2 ? good / 10 : 2) )); do
      local mid=$(((good + bad) / 2))
      if rate_step "$name" "$pid" "$target" "$mid"; then good=$mid; else bad=$mid; fi
    done
  fi
  echo "$good"
}

# conc_step NAME PID TARGET CALLS RAMP -> passed?  Appends a table row.
conc_step() {
  local name="$1" pid="$2" target="$3" calls="$4" ramp="$5"
  read -r ok failed peak cpu caller_cpu < <(sipp_run "$pid" "$target" "$work/caller_long.xml" "$calls" "$ramp" 0 \
    $((calls / ramp + call_seconds + 20)))
  local pct
  pct="$(awk -v a="$ok" -v b="$calls" 'BEGIN { printf "%.1f", 100 * a / b }')"
  echo "| $name | $calls | $ramp | $ok | $pct % | $peak | $cpu | $caller_cpu |" >> "$work/conc-rows.md"
  echo "  $name $calls calls at $ramp/s: $ok completed ($failed failed), peak $peak concurrent," \
    "$cpu ms CPU/call (caller $caller_cpu)" >&2
  passes "$ok" "$calls"
}

# best_concurrency NAME PID TARGET RAMP -> "calls peak" of the largest passing step
best_concurrency() {
  local name="$1" pid="$2" target="$3" ramp="$4" good=0 bad=0 calls="$conc_start"
  # Calls placed at RAMP/s overlap only while the ramp is shorter than a call.
  local reachable=$((ramp * (call_seconds - 1)))
  while (( calls <= conc_max && calls <= reachable )); do
    if conc_step "$name" "$pid" "$target" "$calls" "$ramp"; then good=$calls; calls=$((calls * 2)); else bad=$calls; break; fi
  done
  if (( bad > 0 )); then
    for ((i = 0; i < conc_bisect; i++)); do
      local mid=$(((good + bad) / 2))
      if conc_step "$name" "$pid" "$target" "$mid" "$ramp"; then good=$mid; else bad=$mid; fi
    done
  fi
  echo "$good"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "## SIP capacity ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
if [[ -z "${SKIP_RATE:-}" ]]; then
  v_rate=$(best_rate vontres "$vontres_pid" 127.0.0.1:15080)
  u_rate=$(best_rate sipp-uas "$uas_pid" 127.0.0.1:15090)
  echo
  echo "### Call rate with >= 99.9 % of calls completed (${seconds} s per step, calls last ${hold} ms after the answer + 3 s IVR)"
  echo "| callee | calls/s | placed | completed | share | peak concurrent | callee CPU ms/call | SIPp caller CPU ms/call |"
  echo "|---|---|---|---|---|---|---|---|"
  cat "$work/rate-rows.md"
  echo
  echo "| | vontres | sipp uas | ratio |"
  echo "|---|---|---|---|"
  echo "| highest calls/s with >= 99.9 % completed | $v_rate | $u_rate | $(ratio "$v_rate" "$u_rate") |"
else
  v_rate="${VONTRES_RAMP:-40}"
  u_rate="${UAS_RAMP:-80}"
fi
if [[ -z "${SKIP_CONCURRENCY:-}" ]]; then
  v_conc=$(best_concurrency vontres "$vontres_pid" 127.0.0.1:15080 "$((v_rate > 10 ? v_rate : 10))")
  u_conc=$(best_concurrency sipp-uas-echo "$uas_echo_pid" 127.0.0.1:15091 "$((u_rate > 10 ? u_rate : 10))")
  echo
  echo "### Concurrent calls with RTP (~${call_seconds} s each, G.711 both ways) with >= 99.9 % completed"
  echo "| callee | calls | placed at calls/s | completed | share | peak concurrent | callee CPU ms/call | SIPp caller CPU ms/call |"
  echo "|---|---|---|---|---|---|---|---|"
  cat "$work/conc-rows.md"
  echo
  echo "| | vontres | sipp uas -rtp_echo | ratio |"
  echo "|---|---|---|---|"
  echo "| most concurrent calls with >= 99.9 % completed | $v_conc | $u_conc | $(ratio "$v_conc" "$u_conc") |"
fi
