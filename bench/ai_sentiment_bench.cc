// VADER sentiment benchmarks. The corpus is the file named by VONTRES_SENTIMENT_CORPUS (texts
// separated by NUL bytes, as bench/ai_sentiment_node.sh writes it from banking77), or else a small
// built-in set of call-centre sentences.
//   BM_PolarityScores       one text per iteration, cycling through the corpus: sentences/s.
//   BM_SentimentCommand     the `vontres ai sentiment` batch path (read lines, score, print JSON)
//                           over the corpus as lines: lines/s.
//   BM_AnalyzerConstruction loading the embedded lexicon.
// bench/ai_sentiment_node.sh runs BM_PolarityScores and node's reference on the same corpus in
// the same run and prints the ratio. Benchmarks never assert.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ai/sentiment/command.h"
#include "ai/sentiment/vader.h"

namespace vontres::ai::sentiment {
namespace {

std::vector<std::string> load_corpus() {
  std::vector<std::string> texts;
  if (const char* path = std::getenv("VONTRES_SENTIMENT_CORPUS"); path != nullptr && *path != '\0') {
    std::ifstream file(path, std::ios::binary);
    std::string text;
    while (std::getline(file, text, '\0')) texts.push_back(text);
  }
  if (texts.empty()) {
    texts = {"I am still waiting on my card?",
             "What can I do if my card still hasn't arrived after 2 weeks?",
             "This is TERRIBLE, you charged me twice!!!",
             "Thanks so much, that was really helpful :)",
             "The app is kind of slow but the support was great",
             "I'm not happy with the exchange rate you gave me",
             "Why was my transfer declined???",
             "never so good, thank you 😀"};
  }
  return texts;
}

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> texts = load_corpus();
  return texts;
}

void BM_PolarityScores(benchmark::State& state) {
  const SentimentAnalyzer analyzer;
  const auto& texts = corpus();
  size_t i = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string& text = texts[i];
    benchmark::DoNotOptimize(analyzer.polarity_scores(text));
    bytes += text.size();
    if (++i == texts.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["corpus_sentences"] = static_cast<double>(texts.size());
}
BENCHMARK(BM_PolarityScores);

void BM_SentimentCommand(benchmark::State& state) {
  const SentimentAnalyzer analyzer;
  std::string input;
  size_t lines = 0;
  for (const auto& text : corpus()) {
    std::string line = text;
    std::replace(line.begin(), line.end(), '\n', ' ');
    input += line + "\n";
    ++lines;
  }
  for (auto _ : state) {
    std::istringstream in(input);
    std::ostringstream out;
    benchmark::DoNotOptimize(run_sentiment_command(analyzer, std::nullopt, in, out));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines));
}
BENCHMARK(BM_SentimentCommand)->Unit(benchmark::kMillisecond);

void BM_AnalyzerConstruction(benchmark::State& state) {
  for (auto _ : state) {
    const SentimentAnalyzer analyzer;
    benchmark::DoNotOptimize(analyzer.lexicon_size());
  }
}
BENCHMARK(BM_AnalyzerConstruction)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vontres::ai::sentiment

BENCHMARK_MAIN();
