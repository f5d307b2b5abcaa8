// Knowledge-base search throughput on the demo knowledge base (share/knowledge) replicated to about
// 2,000 documents, next to a same-run baseline: a naive scan that lower-cases every passage and
// counts the query words it contains as substrings. Report: items_per_second of each, and their ratio
// in the BM25 benchmark's "speedup_vs_scan" counter.
//
// Run from the repository root or the build directory, e.g.
//   build-knowledge/bench/vontres_ai_knowledge_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ai/knowledge/bm25.h"
#include "ai/knowledge/document.h"

namespace {

namespace knowledge = vontres::ai::knowledge;

constexpr int kCopies = 200;  // 10 demo documents x 200 = 2,000 documents

const std::vector<std::string>& queries() {
  static const std::vector<std::string> q = {
      "I lost my card yesterday",          "I want to cancel my subscription", "my new card has not arrived",
      "refund for a purchase not showing", "payment I don't recognise",        "I am moving and need a new address",
      "forgot my password locked out",     "roaming charges abroad",           "set up a direct debit",
      "my transfer is still pending",
  };
  return q;
}

const std::vector<knowledge::Document>* corpus() {
  static const std::optional<std::vector<knowledge::Document>> docs =
      []() -> std::optional<std::vector<knowledge::Document>> {
    std::string prefix;
    for (int up = 0; up < 4; ++up, prefix += "../") {
      const std::string dir = prefix + "share/knowledge";
      if (!std::filesystem::is_directory(dir)) continue;
      auto loaded = knowledge::load_directory(dir);
      if (!loaded.is_ok()) return std::nullopt;
      std::vector<knowledge::Document> out;
      for (int copy = 0; copy < kCopies; ++copy) {
        for (const knowledge::Document& doc : *loaded) {
          knowledge::Document replica = doc;
          replica.id = doc.id + "-" + std::to_string(copy);
          out.push_back(std::move(replica));
        }
      }
      return out;
    }
    return std::nullopt;
  }();
  return docs ? &*docs : nullptr;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The baseline: for each passage, count query words (length >= 3) found as substrings; best passage wins.
std::string naive_scan(const std::vector<knowledge::Document>& docs, const std::string& query) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : lower(query) + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      word += c;
    } else {
      if (word.size() >= 3) words.push_back(word);
      word.clear();
    }
  }
  int best = 0;
  std::string best_id;
  for (const knowledge::Document& doc : docs) {
    for (const knowledge::Passage& passage : doc.passages) {
      const std::string text = lower(passage.text);
      int count = 0;
      for (const std::string& w : words) count += text.find(w) != std::string::npos ? 1 : 0;
      if (count > best) {
        best = count;
        best_id = doc.id;
      }
    }
  }
  return best_id;
}

double g_scan_per_second = 0;

void BM_NaiveSubstringScan(benchmark::State& state) {
  const auto* docs = corpus();
  if (docs == nullptr) {
    state.SkipWithError("share/knowledge not found");
    return;
  }
  std::size_t i = 0;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(naive_scan(*docs, queries()[i++ % queries().size()]));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  g_scan_per_second = static_cast<double>(state.iterations()) / seconds;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["documents"] = static_cast<double>(docs->size());
}

void BM_Bm25Search(benchmark::State& state) {
  const auto* docs = corpus();
  if (docs == nullptr) {
    state.SkipWithError("share/knowledge not found");
    return;
  }
  knowledge::Bm25Index index;
  if (!index.add_all(*docs).is_ok()) {
    state.SkipWithError("indexing failed");
    return;
  }
  std::size_t i = 0;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(index.search(queries()[i++ % queries().size()], 3));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double per_second = static_cast<double>(state.iterations()) / seconds;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["documents"] = static_cast<double>(index.document_count());
  state.counters["passages"] = static_cast<double>(index.passage_count());
  if (g_scan_per_second > 0) state.counters["speedup_vs_scan"] = per_second / g_scan_per_second;
}

void BM_IndexBuild(benchmark::State& state) {
  const auto* docs = corpus();
  if (docs == nullptr) {
    state.SkipWithError("share/knowledge not found");
    return;
  }
  for (auto _ : state) {
    knowledge::Bm25Index index;
    benchmark::DoNotOptimize(index.add_all(*docs));
  }
  state.counters["documents"] = static_cast<double>(docs->size());
}

// Registration order matters: the baseline runs first so the BM25 run can report the ratio.
BENCHMARK(BM_NaiveSubstringScan)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Bm25Search)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IndexBuild)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
