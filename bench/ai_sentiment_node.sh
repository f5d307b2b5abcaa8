#!/usr/bin/env bash
# Sentences per second of the C++ VADER analyzer and of the JS reference (npm vader-sentiment
# 1.1.3 under node) on the same corpus, in the same run, and their ratio. The corpus is the text
# column of ../shared/data/banking77/train.csv (else the benchmark's built-in sentences). Both rates
# are per CPU second of the measuring process (Google Benchmark's default; process.cpuUsage in node).
# Reports, asserts nothing.
#
# Usage: bench/ai_sentiment_node.sh [BUILD_DIR]   (default build; needs vontres_ai_sentiment_bench)
# Env: MIN_TIME (seconds per measurement, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
min_time="${MIN_TIME:-3}"
bench_binary="$build/bench/vontres_ai_sentiment_bench"
[ -x "$bench_binary" ] || { echo "ai_sentiment_node: $bench_binary missing (build vontres_ai_sentiment_bench)" >&2; exit 1; }
package="$(scripts/fetch-vader)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

corpus="$work/corpus.bin"
csv=../shared/data/banking77/train.csv
if [ -f "$csv" ]; then
  python3 - "$csv" "$corpus" <<'PY'
import csv, sys
with open(sys.argv[1], newline='', encoding='utf-8') as f:
    texts = [row['text'] for row in csv.DictReader(f)]
with open(sys.argv[2], 'w', encoding='utf-8', newline='') as out:
    out.write('\0'.join(texts))
PY
else
  echo "ai_sentiment_node: $csv absent; using the benchmark's built-in sentences" >&2
  printf '%s\0' "I am still waiting on my card?" "This is TERRIBLE, you charged me twice!!!" \
    "Thanks so much, that was really helpful :)" | head -c -1 >"$corpus"
fi

node bench/ai_sentiment_node.js "$package" "$corpus" "$min_time" >"$work/node.json"
VONTRES_SENTIMENT_CORPUS="$corpus" "$bench_binary" --benchmark_filter='BM_PolarityScores$' \
  --benchmark_min_time="$min_time" --benchmark_format=json >"$work/cpp.json" 2>/dev/null

python3 - "$work/node.json" "$work/cpp.json" <<'PY'
import json, sys
node = json.load(open(sys.argv[1]))
cpp = next(b for b in json.load(open(sys.argv[2]))['benchmarks'] if b['name'] == 'BM_PolarityScores')
c, n = cpp['items_per_second'], node['sentences_per_second']
print(f"corpus: {int(cpp['corpus_sentences'])} sentences")
print(f"C++ SentimentAnalyzer::polarity_scores: {c:,.0f} sentences/s ({1e9 / c:,.0f} ns/sentence)")
print(f"node vader-sentiment 1.1.3:             {n:,.0f} sentences/s ({1e9 / n:,.0f} ns/sentence)")
print(f"ratio C++/node: {c / n:.2f}x")
PY
