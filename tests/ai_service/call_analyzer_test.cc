// CallAnalyzer: the pure per-call core of the AI service, on the demo knowledge base and a manual clock.
#include "ai/service/call_analyzer.h"

#include <gtest/gtest.h>

#include "ai/knowledge/document.h"

namespace vontres::ai::service {
namespace {

using namespace std::chrono_literals;

class CallAnalyzerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto documents = knowledge::load_directory(std::string(VONTRES_SOURCE_DIR) + "/share/knowledge");
    ASSERT_TRUE(documents.is_ok()) << documents.status().to_string();
    ASSERT_TRUE(index_.add_all(std::move(*documents)).is_ok());
    options_.sentiment.alert_threshold = -0.3;
    options_.sentiment.alert_duration = 10s;
    options_.suggester.min_interval = 0s;
  }

  std::unique_ptr<CallAnalyzer> make() {
    auto analyzer = CallAnalyzer::create("call-1", {vader_, index_, clock_}, options_);
    EXPECT_TRUE(analyzer.is_ok()) << analyzer.status().to_string();
    return analyzer.is_ok() ? std::move(*analyzer) : nullptr;
  }

  static Heard final_text(std::string text, int64_t start_ms = 0) {
    Heard h;
    h.text = std::move(text);
    h.confidence = 0.9;
    h.start_ms = start_ms;
    h.end_ms = start_ms + 1500;
    h.is_final = true;
    return h;
  }

  static std::vector<std::string> types(const std::vector<AnalyzerEvent>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.type);
    return out;
  }

  static const AnalyzerEvent* first(const std::vector<AnalyzerEvent>& events, const std::string& type) {
    for (const auto& e : events) {
      if (e.type == type) return &e;
    }
    return nullptr;
  }

  // True when the test card's digits (4111 1111 1111 1111, separators dropped) or a spelled-out run
  // of them appear in any serialised event.
  static bool mentions_card_digits(const std::vector<AnalyzerEvent>& events) {
    for (const auto& e : events) {
      const std::string s = e.data.dump();
      std::string compact;
      for (char c : s) {
        if (c != ' ' && c != '-') compact += c;
      }
      if (compact.find("4111111111111111") != std::string::npos) return true;
      if (s.find("one one one one") != std::string::npos) return true;
    }
    return false;
  }

  ManualClock clock_;
  sentiment::SentimentAnalyzer vader_;
  knowledge::Bm25Index index_;
  AnalyzerOptions options_;
};

TEST_F(CallAnalyzerTest, FinalUtteranceGivesRedactedTranscriptAndSentiment) {
  auto analyzer = make();
  auto events = analyzer->on_heard(Side::kCaller, final_text("my email is jane.doe@example.com and I love it"));
  ASSERT_NE(first(events, "ai.transcript"), nullptr);
  const auto& t = first(events, "ai.transcript")->data;
  EXPECT_EQ(t["speaker"], "caller");
  EXPECT_EQ(t["final"], true);
  EXPECT_EQ(t["call_id"], "call-1");
  EXPECT_EQ(t["text"].get<std::string>().find("jane.doe"), std::string::npos);
  EXPECT_NE(t["text"].get<std::string>().find("[EMAIL]"), std::string::npos);
  ASSERT_NE(first(events, "ai.sentiment"), nullptr);
  EXPECT_GT(first(events, "ai.sentiment")->data["compound"].get<double>(), 0.3);
  ASSERT_EQ(analyzer->transcript().size(), 1u);
  EXPECT_EQ(analyzer->transcript()[0].text.find("jane.doe"), std::string::npos);
}

TEST_F(CallAnalyzerTest, PartialsAreRedactedAndNotKept) {
  auto analyzer = make();
  Heard partial = final_text("write to jane.doe@example.com");
  partial.is_final = false;
  auto events = analyzer->on_heard(Side::kCaller, partial);
  ASSERT_EQ(types(events), std::vector<std::string>{"ai.transcript"});
  EXPECT_EQ(events[0].data["final"], false);
  EXPECT_EQ(events[0].data["text"].get<std::string>().find("jane.doe"), std::string::npos);
  EXPECT_TRUE(analyzer->transcript().empty());
}

TEST_F(CallAnalyzerTest, SpokenCardNumberPausesProtectionAndNothingOfItIsKeptOrPublished) {
  auto analyzer = make();
  std::vector<AnalyzerEvent> all;
  auto append = [&all](std::vector<AnalyzerEvent> e) { all.insert(all.end(), e.begin(), e.end()); };
  append(analyzer->on_heard(Side::kCaller, final_text("I want to pay with my credit card")));
  EXPECT_TRUE(analyzer->protection_paused());
  ASSERT_NE(first(all, "ai.protection_paused"), nullptr);
  append(analyzer->on_heard(Side::kCaller, final_text("it is 4111 1111 1111 1111", 3000)));
  append(analyzer->on_heard(Side::kCaller, final_text("four one one one one one one one one one one one", 6000)));
  EXPECT_FALSE(mentions_card_digits(all));
  for (const auto& line : analyzer->transcript()) {
    EXPECT_EQ(line.text.find("4111"), std::string::npos) << line.text;
    EXPECT_EQ(line.text.find("four one"), std::string::npos) << line.text;
  }
  // Protected utterances show up only as timing, with no text.
  int protected_count = 0;
  for (const auto& e : all) {
    if (e.type == "ai.transcript" && e.data["protected"] == true) {
      ++protected_count;
      EXPECT_EQ(e.data["text"], "");
    }
  }
  EXPECT_GE(protected_count, 2);
  // After a quiet stretch protection resumes and later speech is kept again.
  clock_.advance(options_.card_guard.quiet_timeout + 1s);
  auto resumed = analyzer->poll();
  ASSERT_NE(first(resumed, "ai.protection_resumed"), nullptr);
  EXPECT_FALSE(analyzer->protection_paused());
  auto later = analyzer->on_heard(Side::kCaller, final_text("thanks that is all", 40000));
  ASSERT_NE(first(later, "ai.transcript"), nullptr);
  EXPECT_EQ(first(later, "ai.transcript")->data["text"], "thanks that is all");
}

TEST_F(CallAnalyzerTest, KeyedCardDigitsPauseProtection) {
  auto analyzer = make();
  std::vector<AnalyzerEvent> events;
  for (char key : std::string("4111")) {
    auto e = analyzer->on_dtmf(Side::kCaller, key);
    events.insert(events.end(), e.begin(), e.end());
  }
  EXPECT_TRUE(analyzer->protection_paused());
  ASSERT_NE(first(events, "ai.protection_paused"), nullptr);
  EXPECT_EQ(first(events, "ai.protection_paused")->data["reason"], "keyed_digits");
  // The agent's keys never pause (only the caller gives card numbers).
  auto other = make();
  for (char key : std::string("41111111")) other->on_dtmf(Side::kAgent, key);
  EXPECT_FALSE(other->protection_paused());
}

TEST_F(CallAnalyzerTest, ProtectionCanBeTurnedOff) {
  options_.pause_on_card = false;
  auto analyzer = make();
  auto events = analyzer->on_heard(Side::kCaller, final_text("my card number is 4111 1111 1111 1111"));
  EXPECT_FALSE(analyzer->protection_paused());
  EXPECT_EQ(first(events, "ai.protection_paused"), nullptr);
  // Redaction still applies.
  ASSERT_NE(first(events, "ai.transcript"), nullptr);
  EXPECT_NE(first(events, "ai.transcript")->data["text"].get<std::string>().find("[CARD]"), std::string::npos);
  EXPECT_FALSE(mentions_card_digits(events));
}

TEST_F(CallAnalyzerTest, CancellationTalkSuggestsTheScriptAndTracksItsSteps) {
  auto analyzer = make();
  auto events =
      analyzer->on_heard(Side::kCaller, final_text("I want to cancel my subscription and terminate the contract"));
  const AnalyzerEvent* suggestion = first(events, "ai.suggestion");
  ASSERT_NE(suggestion, nullptr) << nlohmann::json(types(events)).dump();
  EXPECT_EQ(suggestion->data["document_id"], "cancel-subscription");
  EXPECT_EQ(suggestion->data["source"], "knowledge_base");
  EXPECT_FALSE(suggestion->data["passage"].get<std::string>().empty());
  const AnalyzerEvent* script = first(events, "ai.script_progress");
  ASSERT_NE(script, nullptr);
  EXPECT_EQ(script->data["steps"].size(), 4u);

  clock_.advance(2s);
  auto said = analyzer->on_heard(Side::kAgent, final_text("before we go on I need to verify your identity", 5000));
  const AnalyzerEvent* progress = first(said, "ai.script_progress");
  ASSERT_NE(progress, nullptr);
  EXPECT_EQ(progress->data["completed"], nlohmann::json::array({"verify_identity"}));
  auto steps = analyzer->script_progress();
  ASSERT_TRUE(steps.has_value());
  EXPECT_TRUE((*steps)[0].done);
  EXPECT_FALSE((*steps)[1].done);
  // The same topic again does not repeat the suggestion.
  auto again = analyzer->on_heard(Side::kCaller, final_text("yes cancel my subscription please", 9000));
  EXPECT_EQ(first(again, "ai.suggestion"), nullptr);
}

TEST_F(CallAnalyzerTest, CallerStayingNegativeRaisesOneAlert) {
  auto analyzer = make();
  std::vector<AnalyzerEvent> events;
  for (int i = 0; i < 4; ++i) {
    auto e = analyzer->on_heard(Side::kCaller, final_text("this is terrible, awful service, I am furious", i * 4000));
    events.insert(events.end(), e.begin(), e.end());
    clock_.advance(4s);
  }
  auto polled = analyzer->poll();
  events.insert(events.end(), polled.begin(), polled.end());
  int alerts = 0;
  for (const auto& e : events) alerts += e.type == "ai.sentiment_alert" ? 1 : 0;
  EXPECT_EQ(alerts, 1);
  ASSERT_TRUE(analyzer->rolling_score(Side::kCaller).has_value());
  EXPECT_LT(*analyzer->rolling_score(Side::kCaller), -0.3);
  EXPECT_EQ(analyzer->caller_sentiments().size(), 4u);
}

TEST_F(CallAnalyzerTest, EmptyFinalsAreIgnored) {
  auto analyzer = make();
  EXPECT_TRUE(analyzer->on_heard(Side::kCaller, final_text("")).empty());
  EXPECT_TRUE(analyzer->transcript().empty());
}

TEST_F(CallAnalyzerTest, InvalidOptionsAreRefused) {
  options_.sentiment.alert_duration = 0s;
  auto analyzer = CallAnalyzer::create("c", {vader_, index_, clock_}, options_);
  EXPECT_FALSE(analyzer.is_ok());
}

}  // namespace
}  // namespace vontres::ai::service
