#include "ai/knowledge/tokenizer.h"

#include <algorithm>
#include <array>

namespace vontres::ai::knowledge {
namespace {

// Sorted for binary search. Function words and call-center small talk ("hello", "thanks"); "not",
// "no" and content verbs stay.
constexpr std::array<std::string_view, 114> kStopWords = {
    "a",     "about", "after", "afternoon", "again",  "all",   "alright", "also",  "am",     "an",     "and",
    "any",   "are",   "as",    "at",        "be",     "been",  "before",  "being", "but",    "by",     "bye",
    "can",   "could", "did",   "do",        "does",   "doing", "evening", "for",   "from",   "get",    "good",
    "got",   "had",   "has",   "have",      "having", "he",    "hello",   "her",   "here",   "hey",    "hi",
    "him",   "his",   "how",   "i",         "i'm",    "if",    "in",      "into",  "is",     "it",     "it's",
    "its",   "just",  "let",   "like",      "me",     "might", "morning", "my",    "myself", "need",   "of",
    "oh",    "ok",    "okay",  "on",        "or",     "our",   "please",  "right", "she",    "should", "so",
    "some",  "sure",  "than",  "thank",     "thanks", "that",  "the",     "their", "them",   "then",   "there",
    "these", "they",  "this",  "those",     "to",     "too",   "uh",      "um",    "up",     "us",     "very",
    "was",   "we",    "well",  "were",      "what",   "when",  "which",   "will",  "with",   "would",  "yeah",
    "yes",   "you",   "your",  "yours",
};

bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

bool has_vowel(std::string_view s) { return std::any_of(s.begin(), s.end(), is_vowel); }

bool ascii_lower_word(std::string_view w) {
  return std::all_of(w.begin(), w.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '\''; });
}

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 || c == '\'';
}

}  // namespace

bool is_stop_word(std::string_view lowered_word) {
  return std::binary_search(kStopWords.begin(), kStopWords.end(), lowered_word);
}

std::string stem(std::string_view word) {
  std::string w(word);
  if (w.size() < 4 || !ascii_lower_word(w)) return w;
  if (w.ends_with("'s")) w.resize(w.size() - 2);
  std::erase(w, '\'');
  if (w.ends_with("sses")) {
    w.resize(w.size() - 2);
  } else if (w.ends_with("ies") && w.size() > 4) {
    w.resize(w.size() - 3);
    w += 'y';
  } else if (w.ends_with("s") && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") && w.size() > 3) {
    w.pop_back();
  }
  bool stripped = false;
  if (w.ends_with("ication") && w.size() > 9) {
    w.resize(w.size() - 7);
    w += 'y';  // "verification" -> "verify", "application" -> "apply"
  } else if (w.ends_with("ation") && w.size() > 8) {
    w.resize(w.size() - 5);
    stripped = true;
  } else if (w.ends_with("ing") && w.size() > 5 && has_vowel(std::string_view(w).substr(0, w.size() - 3))) {
    w.resize(w.size() - 3);
    stripped = true;
  } else if (w.ends_with("ed") && w.size() > 4 && has_vowel(std::string_view(w).substr(0, w.size() - 2))) {
    w.resize(w.size() - 2);
    stripped = true;
  }
  const std::size_t n = w.size();
  if (stripped && n >= 3 && w[n - 1] == w[n - 2] && !is_vowel(w[n - 1]) && w[n - 1] != 'l' && w[n - 1] != 's' &&
      w[n - 1] != 'z') {
    w.pop_back();
  }
  if (w.size() > 4 && w.ends_with("ll")) w.pop_back();
  if (w.size() > 4 && w.back() == 'e' && w[w.size() - 2] != 'e') w.pop_back();
  if (w.size() > 2 && w.back() == 'y' && !is_vowel(w[w.size() - 2])) w.back() = 'i';
  return w;
}

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  std::string word;
  auto emit = [&] {
    while (!word.empty() && word.front() == '\'') word.erase(word.begin());
    while (!word.empty() && word.back() == '\'') word.pop_back();
    if (!word.empty() && !is_stop_word(word)) tokens.push_back(stem(word));
    word.clear();
  };
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_word_byte(c)) {
      word += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : ch;
      if (word.size() > 64) emit();  // bounds a pathological "word"; may split UTF-8 only past 64 bytes
    } else {
      emit();
    }
  }
  emit();
  return tokens;
}

}  // namespace vontres::ai::knowledge
