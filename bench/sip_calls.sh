#!/usr/bin/env bash
# SIP call capacity with SIPp on this machine, measured in one run against two systems:
#   (a) Vontres: a throw-away `vontres serve` answers each call, plays the IVR (welcome + menu
#       prompts over RTP), takes the DTMF choice and queues the call (music on hold) until the
#       caller (SIPp, sending G.711 speech from a pcap) hangs up;
#   (b) the ceiling: SIPp's own `uas` scenario answering the same calls (no media processing).
# For each it sweeps call rates (calls/s) and reports the highest rate at which >= 99.9 % of the
# calls completed, then the ratio (a)/(b). Concurrent calls = rate x call duration. Asserts nothing.
# A quick sweep in x2 steps; bench/sip_capacity.sh bisects the rate and sweeps concurrent calls.
#
# Usage: bench/sip_calls.sh [BINARY]     (default build/src/vontres)
# Env: RATES ("10 20 40 80 160"), SECONDS_PER_RATE (10), HOLD_MS (call length after answer, 3000)
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-build/src/vontres}"
rates="${RATES:-10 20 40 80 160}"
seconds="${SECONDS_PER_RATE:-10}"
hold="${HOLD_MS:-3000}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/pcap"
ln -s /usr/share/sip-tester/dtmf_2833_1.pcap "$work/pcap/dtmf.pcap"
ln -s /usr/share/sip-tester/g711a.pcap "$work/pcap/g711a.pcap"
sed "s|\"pcap/|\"$work/pcap/|" tests/telephony/scenarios/caller.xml > "$work/caller.xml"

cat > "$work/vontres.yaml" <<YAML
data_dir: $work/data
http: {listen: 127.0.0.1:0}
log: {level: warn}
telephony:
  sip_udp: 127.0.0.1:15080
  sip_tcp: ''
  rtp_port_min: 40000
  rtp_port_max: 49999
  max_calls: 5000
  ivr_menu_timeout: 30s
  sip_trusted_sources: [127.0.0.1]  # SIPp is the load: exempt from the per-source call limits
  ivr_options:
    - {digit: '1', queue: bench}
YAML
"$binary" serve --config "$work/vontres.yaml" 2>"$work/serve.log" &
pids+=($!)
sipp -sn uas -i 127.0.0.1 -p 15090 -nostdin -bg >/dev/null 2>&1 || true
sleep 1
uas_pid="$(pgrep -f 'sipp -sn uas -i 127.0.0.1 -p 15090' | head -1 || true)"
[[ -n "$uas_pid" ]] && pids+=("$uas_pid")

# run TARGET RATE -> prints "successful failed"
run() {
  local target="$1" rate="$2" calls=$(($2 * seconds))
  local stats="$work/stats-$RANDOM.csv"
  sipp -sf "$work/caller.xml" -s 100 "$target" -i 127.0.0.1 -p 0 -mp $((50000 + RANDOM % 5000)) -r "$rate" -m "$calls" \
    -d "$hold" -l 100000 -nostdin -timeout $((seconds + hold / 1000 + 30))s -trace_stat -stf "$stats" >/dev/null 2>&1 || true
  tail -1 "$stats" | awk -F';' '{print $16, $18}'  # SuccessfulCall(C) FailedCall(C)
}

best() {  # target -> highest rate with >= 99.9 % success
  local target="$1" best_rate=0
  for rate in $rates; do
    read -r ok failed < <(run "$target" "$rate")
    local total=$((ok + failed))
    echo "  $target rate=$rate calls/s: $ok ok, $failed failed" >&2
    if (( total > 0 && ok * 1000 >= total * 999 )); then best_rate=$rate; else break; fi
  done
  echo "$best_rate"
}

echo "### SIP calls/s with >= 99.9 % completed (call length ${hold} ms after answer, ${seconds} s per rate)"
v=$(best 127.0.0.1:15080)
u=$(best 127.0.0.1:15090)
echo "vontres (answer + IVR prompts + DTMF + queue with music on hold): $v calls/s, ~$((v * (hold / 1000 + 3))) concurrent calls with RTP"
echo "sipp uas (ceiling, no media):                                     $u calls/s"
if (( u > 0 )); then awk -v a="$v" -v b="$u" 'BEGIN { printf "ratio vontres / sipp-uas: %.2f\n", a / b }'; fi
