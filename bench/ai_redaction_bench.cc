// Redactions per second of a typical 20-word caller utterance, with and without a card number,
// next to a same-run baseline: copying the string and one std::regex_search for a digit run (the
// least a regex-based redactor would do). Compare items_per_second of Redact* to Baseline*.
//   build-redaction/bench/vontres_ai_redaction_bench
#include <benchmark/benchmark.h>

#include <regex>
#include <string>

#include "ai/redaction/redactor.h"

namespace {

const std::string kPlain =
    "hi yes I am calling about my last bill because I think you charged me twice for the same month";
const std::string kCard = "sure my card number is 4111 1111 1111 1111 and it expires oh five twenty seven thanks a lot";
const std::string kSpokenCard = "it is four one one one one one one one one one one one one one one one thanks";

void baseline(benchmark::State& state, const std::string& text) {
  static const std::regex digits("[0-9]{4,}");
  for (auto _ : state) {
    std::string copy = text;
    std::smatch match;
    bool found = std::regex_search(copy, match, digits);
    benchmark::DoNotOptimize(found);
    benchmark::DoNotOptimize(copy);
  }
  state.SetItemsProcessed(state.iterations());
}

void redact(benchmark::State& state, const std::string& text) {
  const vontres::ai::redaction::RedactionOptions options;
  for (auto _ : state) {
    auto result = vontres::ai::redaction::redact(text, options);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BaselinePlain(benchmark::State& state) { baseline(state, kPlain); }
void BM_BaselineCard(benchmark::State& state) { baseline(state, kCard); }
void BM_RedactPlain(benchmark::State& state) { redact(state, kPlain); }
void BM_RedactCard(benchmark::State& state) { redact(state, kCard); }
void BM_RedactSpokenCard(benchmark::State& state) { redact(state, kSpokenCard); }

BENCHMARK(BM_BaselinePlain);
BENCHMARK(BM_RedactPlain);
BENCHMARK(BM_BaselineCard);
BENCHMARK(BM_RedactCard);
BENCHMARK(BM_RedactSpokenCard);

}  // namespace

BENCHMARK_MAIN();
