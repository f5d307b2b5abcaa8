#!/usr/bin/env bash
# Speech-to-text quality and capacity (docs/stt.md):
#  1. synthesises bench/stt/sentences.txt with espeak-ng (en-us) and flite (slt), resampled to 8 kHz
#     with 300 ms of silence either side (sox);
#  2. word error rate and real-time factor, grammar mode (grammar = sentences + distractors) and open
#     mode (general language model), every file through G.711 mu-law in 20 ms frames;
#  3. live capacity: N legs in real time through LiveTranscriber with 2 workers, N raised until frames drop.
# Usage: bench/stt_wer.sh [BENCH_BINARY] [LIVE_SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=${1:-$here/../build-stt/vontres_ai_stt_bench}
seconds=${2:-30}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

manifest=$work/manifest.tsv
: >"$manifest"
i=0
while IFS= read -r sentence; do
  [[ -z "$sentence" || "$sentence" == \#* ]] && continue
  i=$((i + 1))
  espeak-ng -v en-us -s 160 -w "$work/e$i.raw.wav" "$sentence"
  flite -voice slt -t "$sentence" -o "$work/f$i.raw.wav"
  for v in e f; do
    sox "$work/$v$i.raw.wav" -r 8000 -c 1 -b 16 "$work/$v$i.wav" pad 0.3 0.3
  done
  printf '%s\tespeak-ng\t%s\n' "$work/e$i.wav" "$sentence" >>"$manifest"
  printf '%s\tflite\t%s\n' "$work/f$i.wav" "$sentence" >>"$manifest"
done <"$here/stt/sentences.txt"
echo "utterances: $(wc -l <"$manifest") ($i sentences x 2 voices)"

grammar=$work/grammar.txt
cat "$here/stt/sentences.txt" "$here/stt/distractors.txt" | grep -v '^#' >"$grammar"

echo "== word error rate (8 kHz, G.711 mu-law, 20 ms frames)"
"$bench" --wer "$manifest" --grammar "$grammar" --mode grammar
"$bench" --wer "$manifest" --mode open | tail -n +2

echo "== live legs in real time, 2 workers, ${seconds}s each (until frames drop)"
for mode in grammar open; do
  # Each grammar decoder takes ~29 MB, an open one ~90 MB: 128 grammar legs is ~3.7 GB.
  if [[ $mode == grammar ]]; then counts="8 16 32 48 64 96 128"; else counts="1 2 3 4 5 6 8"; fi
  for n in $counts; do
    line=$("$bench" --live "$n" --manifest "$manifest" --grammar "$grammar" --mode "$mode" --seconds "$seconds")
    echo "$mode $line"
    dropped=$(sed -n 's/.*dropped=\([0-9]*\).*/\1/p' <<<"$line")
    [[ "$dropped" != 0 ]] && break
  done
done
