#include "ai/llm/assist.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

namespace vontres::ai::llm {

namespace {

constexpr std::size_t kMaxPassageChars = 1200;

std::string truncate(std::string_view text, std::size_t max_chars) {
  if (text.size() <= max_chars) return std::string(text);
  std::size_t cut = max_chars;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;  // keep UTF-8 whole
  return std::string(text.substr(0, cut)) + "…";
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

bool is_caller(std::string_view speaker) {
  if (speaker.size() != 6) return false;
  std::string lowered(speaker);
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lowered == "caller";
}

SuggestionOutput kb_fallback(std::span<const knowledge::Suggestion> kb) {
  SuggestionOutput out;
  if (kb.empty()) return out;
  const auto best =
      std::max_element(kb.begin(), kb.end(), [](const auto& a, const auto& b) { return a.score < b.score; });
  out.text = best->passage;
  out.article_id = best->document_id;
  out.title = best->title;
  return out;
}

std::string transcript_text(std::span<const TranscriptLine> lines) {
  std::string out;
  for (const auto& line : lines) {
    out.append(is_caller(line.speaker) ? "Caller: " : "Agent: ").append(line.text).append("\n");
  }
  return out;
}

const std::set<std::string, std::less<>>& stopwords() {
  static const std::set<std::string, std::less<>> kWords = {
      "a",      "an",   "and", "are",  "as",  "at",   "be",   "but",  "by",    "can",   "do",    "for",    "from",
      "have",   "he",   "her", "his",  "i",   "if",   "in",   "is",   "it",    "its",   "me",    "my",     "no",
      "not",    "of",   "on",  "or",   "our", "she",  "so",   "that", "the",   "their", "them",  "then",   "there",
      "they",   "this", "to",  "was",  "we",  "were", "what", "when", "will",  "with",  "would", "you",    "your",
      "yes",    "okay", "ok",  "um",   "uh",  "just", "im",   "its",  "thats", "dont",  "could", "please", "thank",
      "thanks", "all",  "am",  "been", "did", "has",  "had",  "how",  "let",   "like",  "one",   "out",    "up"};
  return kWords;
}

std::vector<std::string> tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  const auto flush = [&] {
    if (current.size() >= 2 && !stopwords().contains(current)) out.push_back(current);
    current.clear();
  };
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      current.push_back(static_cast<char>(std::tolower(u)));
    } else if (c != '\'') {
      flush();
    }
  }
  flush();
  return out;
}

std::vector<std::string> split_sentences(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool end = (c == '.' || c == '!' || c == '?') && (i + 1 == text.size() || text[i + 1] == ' ');
    if (end) {
      const auto sentence = trim(text.substr(start, i + 1 - start));
      if (!sentence.empty()) out.emplace_back(sentence);
      start = i + 1;
    }
  }
  const auto rest = trim(text.substr(std::min(start, text.size())));
  if (!rest.empty()) out.emplace_back(rest);
  return out;
}

}  // namespace

ChatRequest build_suggestion_request(std::span<const knowledge::Utterance> recent,
                                     std::span<const knowledge::Suggestion> kb) {
  std::string system =
      "You assist a contact-centre agent during a live call. Using only the knowledge-base passages below, "
      "write what the agent should say or do next, in at most two short sentences. If the passages do not cover "
      "the caller's need, say that no article applies.\n\nKnowledge-base passages:\n";
  for (std::size_t i = 0; i < kb.size(); ++i) {
    system += fmt::format("[{}] {} — {} (id {})\n{}\n\n", i + 1, kb[i].title, kb[i].heading, kb[i].document_id,
                          truncate(kb[i].passage, kMaxPassageChars));
  }
  std::string conversation = "Recent conversation (redacted):\n";
  for (const auto& utterance : recent) {
    conversation += utterance.speaker == knowledge::Speaker::kCaller ? "Caller: " : "Agent: ";
    conversation += utterance.text;
    conversation += '\n';
  }
  ChatRequest request;
  request.messages = {{"system", std::move(system)}, {"user", std::move(conversation)}};
  request.temperature = 0.2;
  request.max_tokens = 120;
  return request;
}

SuggestionAssistant::SuggestionAssistant(OpenAiClient& client, std::chrono::milliseconds budget)
    : client_(client), budget_(budget) {}

SuggestionOutput SuggestionAssistant::suggest(std::span<const knowledge::Utterance> recent,
                                              std::span<const knowledge::Suggestion> kb,
                                              const std::function<void(std::string_view)>& on_partial) {
  if (!client_.configured()) return kb_fallback(kb);
  const auto answer = client_.chat_stream(build_suggestion_request(recent, kb), on_partial, budget_);
  if (!answer || trim(answer->content).empty()) return kb_fallback(kb);
  SuggestionOutput out;
  out.text = std::string(trim(answer->content));
  out.from_llm = true;
  if (!kb.empty()) {
    out.article_id = kb.front().document_id;
    out.title = kb.front().title;
  }
  return out;
}

Result<IntentAnswer> classify_intent(OpenAiClient& client, std::string_view text,
                                     std::span<const std::string> intents) {
  nlohmann::json allowed = nlohmann::json::array();
  for (const auto& intent : intents) allowed.push_back(intent);
  allowed.push_back("unknown");
  ChatRequest request;
  request.schema_name = "intent";
  request.json_schema = nlohmann::json{
      {"type", "object"},
      {"properties", {{"intent", {{"type", "string"}, {"enum", allowed}}}, {"confidence", {{"type", "number"}}}}},
      {"required", {"intent", "confidence"}},
      {"additionalProperties", false}};
  request.temperature = 0;
  request.max_tokens = 60;
  request.messages = {
      {"system",
       "Classify the caller's intent in a contact-centre call. Answer with one of the allowed intents, or \"unknown\" "
       "if none fits, and your confidence between 0 and 1. Allowed intents: " +
           allowed.dump()},
      {"user", std::string(text)}};
  VONTRES_ASSIGN_OR_RETURN(const ChatResult result, client.chat(request));
  const auto json = nlohmann::json::parse(result.content, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return invalid_argument("intent answer is not JSON", "llm_bad_response");
  const auto intent = json.find("intent");
  const auto confidence = json.find("confidence");
  if (intent == json.end() || !intent->is_string() || confidence == json.end() || !confidence->is_number()) {
    return invalid_argument("intent answer does not match the schema", "llm_bad_response");
  }
  IntentAnswer answer;
  answer.intent = intent->get<std::string>();
  if (std::find(allowed.begin(), allowed.end(), answer.intent) == allowed.end()) {
    return invalid_argument("intent answer outside the allowed intents", "llm_bad_response");
  }
  answer.confidence = confidence->get<double>();
  if (!(answer.confidence >= 0.0 && answer.confidence <= 1.0)) {
    return invalid_argument("intent confidence outside [0, 1]", "llm_bad_response");
  }
  return answer;
}

Result<std::string> summarize_call(OpenAiClient& client, SummaryKind kind, std::span<const TranscriptLine> lines,
                                   std::string_view intent) {
  ChatRequest request;
  request.temperature = 0.2;
  if (kind == SummaryKind::kHandoff) {
    request.max_tokens = 150;
    request.messages.push_back(
        {"system",
         "You write hand-off notes for a contact-centre agent who is about to take over a call. In at most three "
         "short sentences give: the caller's intent, the key facts already established, and the caller's current "
         "mood. Use only the transcript; it is redacted, never guess redacted values."});
  } else {
    request.max_tokens = 250;
    request.messages.push_back(
        {"system",
         "You write post-call summaries for a contact-centre CRM. In at most five sentences give: why the caller "
         "called, what was done, the outcome and any follow-up, and how the caller's mood changed. Use only the "
         "transcript; it is redacted, never guess redacted values."});
  }
  request.messages.push_back({"user", fmt::format("Detected intent: {}\nTranscript:\n{}",
                                                  intent.empty() ? "unknown" : intent, transcript_text(lines))});
  VONTRES_ASSIGN_OR_RETURN(const ChatResult result, client.chat(request));
  const auto text = trim(result.content);
  if (text.empty()) return invalid_argument("empty summary", "llm_bad_response");
  return std::string(text);
}

ExtractiveSummary extractive_summary(std::span<const TranscriptLine> lines, std::string_view intent,
                                     std::string_view disposition, std::size_t max_sentences) {
  ExtractiveSummary summary;
  summary.intent = std::string(intent);
  summary.disposition = std::string(disposition);

  struct Sentence {
    std::string text;
    bool caller = false;
    std::vector<std::string> terms;
    double score = 0;
  };
  std::vector<Sentence> sentences;
  for (const auto& line : lines) {
    for (auto& text : split_sentences(line.text)) {
      Sentence sentence;
      sentence.terms = tokens(text);
      sentence.text = std::move(text);
      sentence.caller = is_caller(line.speaker);
      sentences.push_back(std::move(sentence));
    }
  }
  std::map<std::string, int, std::less<>> document_frequency;
  for (const auto& sentence : sentences) {
    for (const auto& term : std::set<std::string>(sentence.terms.begin(), sentence.terms.end())) {
      ++document_frequency[term];
    }
  }
  const auto n = static_cast<double>(sentences.size());
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < sentences.size(); ++i) {
    auto& sentence = sentences[i];
    if (sentence.terms.size() < 3) continue;  // "Yes, that's right." carries no facts
    std::map<std::string_view, int> frequency;
    for (const auto& term : sentence.terms) ++frequency[term];
    double score = 0;
    for (const auto& [term, count] : frequency) {
      score += count * std::log(1.0 + n / document_frequency.find(term)->second);
    }
    score /= std::sqrt(static_cast<double>(sentence.terms.size()));
    score *= sentence.caller ? 1.25 : 1.0;
    score *= 1.0 + 0.2 * (1.0 - static_cast<double>(i) / n);  // the problem is usually stated early
    sentence.score = score;
    candidates.push_back(i);
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](std::size_t a, std::size_t b) { return sentences[a].score > sentences[b].score; });
  if (candidates.size() > max_sentences) candidates.resize(max_sentences);
  std::sort(candidates.begin(), candidates.end());
  for (const std::size_t i : candidates) summary.key_sentences.push_back(sentences[i].text);

  std::vector<double> caller_sentiment;
  for (const auto& line : lines) {
    if (is_caller(line.speaker)) caller_sentiment.push_back(line.sentiment);
  }
  const std::size_t count = caller_sentiment.size();
  if (count > 0 && count < 3) {
    summary.sentiment_arc = {caller_sentiment.front(), caller_sentiment[(count - 1) / 2], caller_sentiment.back()};
  } else if (count >= 3) {
    for (std::size_t part = 0; part < 3; ++part) {
      const std::size_t begin = part * count / 3;
      const std::size_t end = (part + 1) * count / 3;
      double sum = 0;
      for (std::size_t i = begin; i < end; ++i) sum += caller_sentiment[i];
      summary.sentiment_arc.push_back(sum / static_cast<double>(end - begin));
    }
  }

  std::string text = fmt::format("Intent: {}.", intent.empty() ? "unknown" : intent);
  if (!summary.key_sentences.empty()) {
    text += " Key points:";
    for (const auto& sentence : summary.key_sentences) text += " " + sentence;
  }
  if (!summary.sentiment_arc.empty()) {
    const double change = summary.sentiment_arc.back() - summary.sentiment_arc.front();
    const char* trend = change > 0.2 ? "improving" : (change < -0.2 ? "worsening" : "steady");
    text += fmt::format(" Caller sentiment: {:.2f} at the start, {:.2f} in the middle, {:.2f} at the end ({}).",
                        summary.sentiment_arc[0], summary.sentiment_arc[1], summary.sentiment_arc[2], trend);
  }
  if (!disposition.empty()) text += fmt::format(" Disposition: {}.", disposition);
  summary.text = std::move(text);
  return summary;
}

}  // namespace vontres::ai::llm
