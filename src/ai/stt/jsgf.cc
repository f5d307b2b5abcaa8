// JSGF grammar building for grammar-constrained decoding (see engine.h).
#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "ai/stt/engine.h"

namespace vontres::ai::stt {

namespace {

constexpr std::array<std::string_view, 10> kDigits = {"zero", "one", "two",   "three", "four",
                                                      "five", "six", "seven", "eight", "nine"};

bool is_word_char(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

// JSGF reserved words would be read as syntax if left bare.
bool is_reserved(std::string_view word) { return word == "public" || word == "grammar" || word == "import"; }

}  // namespace

std::vector<std::string> normalize_words(std::string_view phrase) {
  std::vector<std::string> words;
  std::string current;
  auto flush = [&] {
    while (!current.empty() && (current.back() == '\'' || current.back() == '-')) current.pop_back();
    if (!current.empty()) words.push_back(std::move(current));
    current.clear();
  };
  for (size_t i = 0; i < phrase.size(); ++i) {
    char c = phrase[i];
    if (is_word_char(c)) {
      current.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      flush();
      words.emplace_back(kDigits[static_cast<size_t>(c - '0')]);
    } else if ((c == '\'' || c == '-') && !current.empty() && i + 1 < phrase.size() && is_word_char(phrase[i + 1])) {
      current.push_back(c);  // don't, e-mail
    } else {
      flush();
    }
  }
  flush();
  return words;
}

std::string build_jsgf(std::span<const std::string> phrases) { return build_jsgf(phrases, {}, nullptr); }

std::string build_jsgf(std::span<const std::string> phrases, const std::function<bool(std::string_view)>& in_dictionary,
                       std::vector<std::string>* dropped) {
  std::vector<std::string> alternatives;
  std::set<std::string> seen;
  std::set<std::string> dropped_seen;
  for (const auto& phrase : phrases) {
    std::string alternative;
    for (const auto& word : normalize_words(phrase)) {
      if (in_dictionary && !in_dictionary(word)) {
        if (dropped != nullptr && dropped_seen.insert(word).second) dropped->push_back(word);
        continue;
      }
      if (!alternative.empty()) alternative += ' ';
      alternative += is_reserved(word) ? "\"" + word + "\"" : word;
    }
    if (!alternative.empty() && seen.insert(alternative).second) alternatives.push_back(std::move(alternative));
  }
  if (alternatives.empty()) return "";
  std::string out = "#JSGF V1.0;\ngrammar vontres;\npublic <utterance> = ";
  for (size_t i = 0; i < alternatives.size(); ++i) {
    if (i > 0) out += "\n  | ";
    out += "( " + alternatives[i] + " )";
  }
  out += " ;\n";
  return out;
}

}  // namespace vontres::ai::stt
