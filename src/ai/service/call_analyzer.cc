#include "ai/service/call_analyzer.h"

#include <utility>

namespace vontres::ai::service {
namespace {

using nlohmann::json;

sentiment::Speaker to_sentiment(Side side) {
  return side == Side::kCaller ? sentiment::Speaker::kCaller : sentiment::Speaker::kAgent;
}

knowledge::Speaker to_knowledge(Side side) {
  return side == Side::kCaller ? knowledge::Speaker::kCaller : knowledge::Speaker::kAgent;
}

json transcript_event(const std::string& call_id, Side side, const Heard& heard, const std::string& text,
                      bool is_protected) {
  json data = {{"call_id", call_id},
               {"speaker", side_name(side)},
               {"text", text},
               {"confidence", heard.confidence},
               {"start_ms", heard.start_ms},
               {"end_ms", heard.end_ms},
               {"final", heard.is_final},
               {"protected", is_protected}};
  return data;
}

}  // namespace

std::string_view side_name(Side side) { return side == Side::kCaller ? "caller" : "agent"; }

Result<std::unique_ptr<CallAnalyzer>> CallAnalyzer::create(std::string call_id, AnalyzerDeps deps,
                                                           const AnalyzerOptions& options) {
  VONTRES_RETURN_IF_ERROR(redaction::validate(options.redaction));
  VONTRES_RETURN_IF_ERROR(redaction::validate(options.card_guard));
  VONTRES_ASSIGN_OR_RETURN(auto tracker,
                           sentiment::SentimentTracker::create(deps.vader, deps.clock, options.sentiment));
  return std::unique_ptr<CallAnalyzer>(  // NOLINT(cppcoreguidelines-owning-memory): private constructor
      new CallAnalyzer(std::move(call_id), deps, options, tracker));
}

CallAnalyzer::CallAnalyzer(std::string call_id, AnalyzerDeps deps, const AnalyzerOptions& options,
                           const sentiment::SentimentTracker& tracker)
    : call_id_(std::move(call_id)),
      deps_(deps),
      options_(options),
      tracker_(tracker),
      suggester_(deps.knowledge, deps.clock, options.suggester),
      guard_(deps.clock, options.card_guard) {}

void CallAnalyzer::apply_guard(const std::vector<redaction::GuardTransition>& transitions,
                               std::vector<AnalyzerEvent>& out) {
  for (const auto& t : transitions) {
    out.push_back({std::string(t.event_name()),
                   {{"call_id", call_id_}, {"reason", std::string(redaction::guard_reason_name(t.reason))}}});
  }
}

std::vector<AnalyzerEvent> CallAnalyzer::on_heard(Side side, const Heard& heard) {
  std::vector<AnalyzerEvent> out;
  const bool was_paused = guard_.paused();
  if (options_.pause_on_card && side == Side::kCaller) {
    apply_guard(guard_.on_transcript(heard.text, heard.is_final), out);
  }
  // An utterance that starts, continues or ends a protected stretch is not kept or shown.
  const bool is_protected = options_.pause_on_card && (was_paused || guard_.paused());
  if (is_protected) {
    if (heard.is_final) {
      out.push_back({"ai.transcript", transcript_event(call_id_, side, heard, "", true)});
    }
    return out;
  }
  const std::string redacted = redaction::redact(heard.text, options_.redaction).text;
  if (!heard.is_final) {
    if (!redacted.empty()) out.push_back({"ai.transcript", transcript_event(call_id_, side, heard, redacted, false)});
    return out;
  }
  if (redacted.empty()) return out;
  out.push_back({"ai.transcript", transcript_event(call_id_, side, heard, redacted, false)});

  const sentiment::UtteranceSentiment scored = tracker_.add_utterance(to_sentiment(side), redacted);
  json sentiment = {{"call_id", call_id_},      {"speaker", side_name(side)}, {"compound", scored.scores.compound},
                    {"neg", scored.scores.neg}, {"neu", scored.scores.neu},   {"pos", scored.scores.pos}};
  if (scored.rolling_score) sentiment["rolling"] = *scored.rolling_score;
  out.push_back({"ai.sentiment", std::move(sentiment)});
  if (scored.alert) {
    out.push_back({"ai.sentiment_alert",
                   {{"call_id", call_id_},
                    {"rolling", scored.alert->rolling_score},
                    {"threshold", options_.sentiment.alert_threshold}}});
  }

  TranscriptEntry entry;
  entry.side = side;
  entry.text = redacted;
  entry.confidence = heard.confidence;
  entry.start_ms = heard.start_ms;
  entry.end_ms = heard.end_ms;
  entry.sentiment = scored.scores.compound;
  entry.at = deps_.clock.now();
  lines_.push_back(std::move(entry));
  if (lines_.size() > options_.max_lines) lines_.erase(lines_.begin());

  suggest(side, redacted, out);
  if (side == Side::kAgent && script_) {
    auto done = script_->on_agent_utterance(redacted);
    if (!done.empty()) {
      json steps = json::array();
      for (const auto& step : script_->progress()) {
        steps.push_back({{"id", step.id}, {"text", step.text}, {"done", step.done}});
      }
      out.push_back({"ai.script_progress",
                     {{"call_id", call_id_},
                      {"document_id", script_->document_id()},
                      {"completed", done},
                      {"steps", steps},
                      {"complete", script_->complete()}}});
    }
  }
  return out;
}

void CallAnalyzer::suggest(Side side, const std::string& redacted, std::vector<AnalyzerEvent>& out) {
  knowledge::Utterance utterance{to_knowledge(side), redacted, deps_.clock.now()};
  for (const auto& s : suggester_.on_utterance(utterance)) {
    suggested_.push_back(s.document_id);
    out.push_back({"ai.suggestion",
                   {{"call_id", call_id_},
                    {"source", "knowledge_base"},
                    {"document_id", s.document_id},
                    {"title", s.title},
                    {"heading", s.heading},
                    {"passage", s.passage},
                    {"score", s.score}}});
    if (script_) continue;
    auto document = deps_.knowledge.document(s.document_id);
    if (!document || document->required_steps.empty()) continue;
    auto tracker = knowledge::ScriptTracker::create(*document, deps_.clock);
    if (!tracker.is_ok()) continue;
    script_.emplace(std::move(*tracker));
    json steps = json::array();
    for (const auto& step : script_->progress()) {
      steps.push_back({{"id", step.id}, {"text", step.text}, {"done", step.done}});
    }
    out.push_back({"ai.script_progress",
                   {{"call_id", call_id_},
                    {"document_id", script_->document_id()},
                    {"completed", json::array()},
                    {"steps", steps},
                    {"complete", false}}});
  }
}

std::vector<AnalyzerEvent> CallAnalyzer::on_dtmf(Side side, char key) {
  std::vector<AnalyzerEvent> out;
  if (!options_.pause_on_card || side != Side::kCaller) return out;
  auto transitions = guard_.on_dtmf(key);
  if (transitions.is_ok()) apply_guard(*transitions, out);
  return out;
}

std::vector<AnalyzerEvent> CallAnalyzer::poll() {
  std::vector<AnalyzerEvent> out;
  if (options_.pause_on_card) apply_guard(guard_.poll(), out);
  if (auto alert = tracker_.poll()) {
    out.push_back({"ai.sentiment_alert",
                   {{"call_id", call_id_},
                    {"rolling", alert->rolling_score},
                    {"threshold", options_.sentiment.alert_threshold}}});
  }
  return out;
}

std::vector<knowledge::Utterance> CallAnalyzer::recent(size_t count) const {
  std::vector<knowledge::Utterance> out;
  const size_t first = lines_.size() > count ? lines_.size() - count : 0;
  for (size_t i = first; i < lines_.size(); ++i) {
    out.push_back({to_knowledge(lines_[i].side), lines_[i].text, lines_[i].at});
  }
  return out;
}

std::optional<double> CallAnalyzer::rolling_score(Side side) const {
  return tracker_.rolling_score(to_sentiment(side));
}

std::vector<double> CallAnalyzer::caller_sentiments() const {
  std::vector<double> out;
  for (const auto& line : lines_) {
    if (line.side == Side::kCaller) out.push_back(line.sentiment);
  }
  return out;
}

std::optional<std::vector<knowledge::StepProgress>> CallAnalyzer::script_progress() const {
  if (!script_) return std::nullopt;
  return script_->progress();
}

}  // namespace vontres::ai::service
