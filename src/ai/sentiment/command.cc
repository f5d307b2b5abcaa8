#include "ai/sentiment/command.h"

#include <array>
#include <istream>
#include <ostream>
#include <string_view>

namespace vontres::ai::sentiment {

namespace {

constexpr size_t kBlockSize = 1 << 16;

void score_line(const SentimentAnalyzer& analyzer, std::string_view line, std::string& out) {
  append_scores_json(analyzer.polarity_scores(line), out);
  out.push_back('\n');
}

}  // namespace

int run_sentiment_command(const SentimentAnalyzer& analyzer, const std::optional<std::string>& text, std::istream& in,
                          std::ostream& out) {
  std::string output;
  if (text) {
    score_line(analyzer, *text, output);
    out.write(output.data(), static_cast<std::streamsize>(output.size()));
    out.flush();
    return out ? 0 : 1;
  }
  output.reserve(kBlockSize + 256);
  std::array<char, kBlockSize> block{};
  std::string partial;  // the start of a line that continues in the next block
  std::streambuf* source = in.rdbuf();
  while (true) {
    const std::streamsize got = source != nullptr ? source->sgetn(block.data(), block.size()) : 0;
    if (got <= 0) break;
    std::string_view chunk(block.data(), static_cast<size_t>(got));
    size_t newline = chunk.find('\n');
    while (newline != std::string_view::npos) {
      if (partial.empty()) {
        score_line(analyzer, chunk.substr(0, newline), output);
      } else {
        partial.append(chunk.substr(0, newline));
        score_line(analyzer, partial, output);
        partial.clear();
      }
      chunk.remove_prefix(newline + 1);
      newline = chunk.find('\n');
      if (output.size() >= kBlockSize) {
        if (!out.write(output.data(), static_cast<std::streamsize>(output.size()))) return 1;
        output.clear();
      }
    }
    partial.append(chunk);
  }
  if (!partial.empty()) score_line(analyzer, partial, output);
  out.write(output.data(), static_cast<std::streamsize>(output.size()));
  out.flush();
  return out ? 0 : 1;
}

}  // namespace vontres::ai::sentiment
