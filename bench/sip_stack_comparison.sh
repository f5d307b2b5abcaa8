#!/usr/bin/env bash
# Evidence for docs/sip-stack.md: GNU oSIP2 (libosip2-dev) versus our parser.
#   1. osip_torture: oSIP2's osip_message_parse over the RFC 4475 messages in tests/sip/torture/,
#      next to the RFC's outcome and ours.
#   2. vontres_sip_bench: parse/serialize messages/s, ours and oSIP2's in the same run.
#   3. with --fuzz SECONDS: a libFuzzer+ASan/UBSan harness on oSIP2's parser that mutates the seed
#      messages (the Debian library is not instrumented, so there is no coverage feedback from
#      inside oSIP2 and ASan sees only its allocator misuse, not out-of-bounds reads; see the doc).
# Usage: bench/sip_stack_comparison.sh [--fuzz SECONDS]   (from the repository root)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-sip}
out=$build/sip_comparison
mkdir -p "$out"
fuzz_seconds=0
if [[ ${1:-} == --fuzz ]]; then fuzz_seconds=${2:-300}; fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" -DVONTRES_BENCH=ON >/dev/null
cmake --build "$build" -j2 --target vontres_sip vontres_sip_bench >/dev/null

osip_flags=$(pkg-config --cflags --libs libosip2)
# shellcheck disable=SC2086
c++ -std=c++20 -O2 -I"$root/src" "$root/bench/sip_comparison/osip_torture.cc" \
  "$build/src/libvontres_sip.a" "$build/src/libvontres_core.a" $osip_flags -lfmt -o "$out/osip_torture"

echo "== RFC 4475 torture messages: RFC outcome, ours, oSIP2 (osip_message_parse) =="
"$out/osip_torture" "$root/tests/sip/torture"

echo
echo "== Parse/serialize throughput, same run =="
"$build/bench/vontres_sip_bench" --benchmark_min_time=1

if (( fuzz_seconds > 0 )); then
  echo
  echo "== libFuzzer on oSIP2's parser for ${fuzz_seconds}s =="
  # shellcheck disable=SC2086
  clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined \
    "$root/bench/sip_comparison/osip_parser_harness.cc" $osip_flags -o "$out/osip_parser_harness"
  mkdir -p "$out/osip_corpus" "$out/osip_artifacts"
  OSIP_SEEDS="$root/fuzz/corpus/sip_message" \
    "$out/osip_parser_harness" "$out/osip_corpus" -max_total_time="$fuzz_seconds" -max_len=4096 \
    -artifact_prefix="$out/osip_artifacts/" -print_final_stats=1 2>&1 | tail -25 || true
  echo "artifacts (crashes, leaks, timeouts):"
  ls -l "$out/osip_artifacts/"
fi
