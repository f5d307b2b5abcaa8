#include "ai/llm/assist.h"

#include <gtest/gtest.h>

#include "ai_llm/fake_openai_server.h"

namespace vontres::ai::llm {
namespace {

using std::chrono::milliseconds;
using testing::delta_event;
using testing::FakeOpenAiServer;
using testing::json_reply;
using testing::sse_reply;

std::string chat_answer(const std::string& content) {
  return nlohmann::json{
      {"choices",
       {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", content}}}, {"finish_reason", "stop"}}}}}
      .dump();
}

class AssistTest : public ::testing::Test {
 protected:
  AssistTest() {
    kb_.push_back({"refunds", "Refund policy", "Double charges", "Refund duplicate charges within 5 days.", 7.5});
    kb_.push_back({"cards", "Lost cards", "Blocking", "Block the card first, then order a new one.", 9.1});
    recent_.push_back({knowledge::Speaker::kCaller, "I was charged twice for my order", {}});
    recent_.push_back({knowledge::Speaker::kAgent, "Let me look into that", {}});
  }
  ClientOptions options() {
    ClientOptions o;
    o.base_url = server_.base_url();
    o.api_key = "sk-assist";
    o.max_retries = 1;
    o.sleep = [this](milliseconds delay) { clock_.advance(delay); };
    return o;
  }

  ManualClock clock_;
  FakeOpenAiServer server_;
  std::vector<knowledge::Suggestion> kb_;
  std::vector<knowledge::Utterance> recent_;
};

TEST_F(AssistTest, SuggestionStreamsAnAnswerGroundedInTheKbPassages) {
  server_.enqueue(
      sse_reply({delta_event("Offer a refund "), delta_event("of the duplicate charge."), "data: [DONE]\n\n"}));
  OpenAiClient client(options(), clock_);
  SuggestionAssistant assistant(client, milliseconds(5000));
  std::string partial;
  const auto out = assistant.suggest(recent_, kb_, [&](std::string_view d) { partial += d; });
  EXPECT_TRUE(out.from_llm);
  EXPECT_EQ(out.text, "Offer a refund of the duplicate charge.");
  EXPECT_EQ(partial, out.text);
  EXPECT_EQ(out.article_id, "refunds");

  const auto body = nlohmann::json::parse(server_.requests().at(0).body);
  EXPECT_EQ(body.at("stream"), true);
  const std::string system = body.at("messages").at(0).at("content");
  EXPECT_NE(system.find("Refund duplicate charges within 5 days."), std::string::npos);
  EXPECT_NE(system.find("Block the card first"), std::string::npos);
  EXPECT_NE(system.find("id refunds"), std::string::npos);
  const std::string user = body.at("messages").at(1).at("content");
  EXPECT_NE(user.find("Caller: I was charged twice for my order"), std::string::npos);
  EXPECT_NE(user.find("Agent: Let me look into that"), std::string::npos);
}

TEST_F(AssistTest, SuggestionWithoutKeyIsTheBestKbHitAndSendsNothing) {
  ClientOptions o = options();
  o.api_key.clear();
  OpenAiClient client(o, clock_);
  SuggestionAssistant assistant(client, milliseconds(5000));
  const auto out = assistant.suggest(recent_, kb_);
  EXPECT_FALSE(out.from_llm);
  EXPECT_EQ(out.article_id, "cards");  // highest score
  EXPECT_EQ(out.title, "Lost cards");
  EXPECT_EQ(out.text, "Block the card first, then order a new one.");
  EXPECT_EQ(server_.connections(), 0);
}

enum class Failure { kTimeout, kServerError, kMalformed, kRateLimited, kRejected, kEmptyAnswer };

class AssistFallbackTest : public AssistTest, public ::testing::WithParamInterface<Failure> {};

TEST_P(AssistFallbackTest, FallsBackToTheKb) {
  switch (GetParam()) {
    case Failure::kTimeout: server_.enqueue(sse_reply({delta_event("Offer ")}, {}, /*stall_after=*/true)); break;
    case Failure::kServerError:
      server_.enqueue(json_reply(500, R"({"error":{"message":"down"}})"));
      server_.enqueue(json_reply(502, "bad gateway"));
      break;
    case Failure::kMalformed: server_.enqueue(sse_reply({"data: {oops\n\n"})); break;
    case Failure::kRateLimited:
      server_.enqueue(json_reply(429, "{}", {"Retry-After: 1"}));
      server_.enqueue(json_reply(429, "{}", {"Retry-After: 1"}));
      break;
    case Failure::kRejected: server_.enqueue(json_reply(400, R"({"error":{"message":"bad model"}})")); break;
    case Failure::kEmptyAnswer: server_.enqueue(sse_reply({delta_event("  "), "data: [DONE]\n\n"})); break;
  }
  OpenAiClient client(options(), clock_);
  // Only the timeout case runs into the budget; the others fail on their own, well within it.
  SuggestionAssistant assistant(client, GetParam() == Failure::kTimeout ? milliseconds(300) : milliseconds(10000));
  const auto out = assistant.suggest(recent_, kb_);
  EXPECT_FALSE(out.from_llm);
  EXPECT_EQ(out.article_id, "cards");
  EXPECT_EQ(out.text, "Block the card first, then order a new one.");
  EXPECT_GE(client.attempts(), 1U);  // it did try (the server may not have accepted yet when the budget ran out)
}

INSTANTIATE_TEST_SUITE_P(EachFailure, AssistFallbackTest,
                         ::testing::Values(Failure::kTimeout, Failure::kServerError, Failure::kMalformed,
                                           Failure::kRateLimited, Failure::kRejected, Failure::kEmptyAnswer));

TEST_F(AssistTest, SuggestionFallsBackWhenTheBreakerIsOpenWithoutIo) {
  ClientOptions o = options();
  o.max_retries = 0;
  o.breaker_failures = 1;
  OpenAiClient client(o, clock_);
  server_.enqueue(json_reply(500, "{}"));
  SuggestionAssistant assistant(client, milliseconds(2000));
  EXPECT_FALSE(assistant.suggest(recent_, kb_).from_llm);
  ASSERT_EQ(client.breaker_state(), BreakerState::kOpen);
  const auto out = assistant.suggest(recent_, kb_);
  EXPECT_FALSE(out.from_llm);
  EXPECT_EQ(out.article_id, "cards");
  EXPECT_EQ(server_.connections(), 1);
}

TEST_F(AssistTest, SuggestionWithNothingAtAllIsEmpty) {
  ClientOptions o = options();
  o.api_key.clear();
  OpenAiClient client(o, clock_);
  SuggestionAssistant assistant(client, milliseconds(2000));
  const auto out = assistant.suggest(recent_, {});
  EXPECT_TRUE(out.text.empty());
  EXPECT_FALSE(out.from_llm);
}

TEST_F(AssistTest, ClassifyIntentSendsEnumSchemaAndAcceptsAValidAnswer) {
  server_.enqueue(json_reply(200, chat_answer(R"({"intent":"billing","confidence":0.86})")));
  OpenAiClient client(options(), clock_);
  const std::vector<std::string> intents = {"billing", "cancel", "tech_support"};
  const auto answer = classify_intent(client, "I was charged twice", intents);
  ASSERT_TRUE(answer) << answer.status().to_string();
  EXPECT_EQ(answer->intent, "billing");
  EXPECT_DOUBLE_EQ(answer->confidence, 0.86);

  const auto body = nlohmann::json::parse(server_.requests().at(0).body);
  const auto& format = body.at("response_format");
  EXPECT_EQ(format.at("type"), "json_schema");
  EXPECT_EQ(format.at("json_schema").at("strict"), true);
  EXPECT_EQ(format.at("json_schema").at("name"), "intent");
  const auto& schema = format.at("json_schema").at("schema");
  EXPECT_EQ(schema.at("properties").at("intent").at("enum"),
            (nlohmann::json{"billing", "cancel", "tech_support", "unknown"}));
  EXPECT_EQ(schema.at("required"), (nlohmann::json{"intent", "confidence"}));
  EXPECT_EQ(schema.at("additionalProperties"), false);
  EXPECT_EQ(body.at("messages").at(1).at("content"), "I was charged twice");
}

TEST_F(AssistTest, ClassifyIntentRejectsAnswersOutsideTheSchema) {
  const std::vector<std::string> intents = {"billing", "cancel"};
  for (const std::string content :
       {R"({"intent":"refund","confidence":0.9})", R"({"intent":"billing"})",
        R"({"intent":"billing","confidence":1.5})", R"({"intent":3,"confidence":0.5})", "billing"}) {
    server_.enqueue(json_reply(200, chat_answer(content)));
    OpenAiClient client(options(), clock_);
    const auto answer = classify_intent(client, "text", intents);
    ASSERT_FALSE(answer) << content;
    EXPECT_EQ(answer.status().code(), "llm_bad_response") << content;
  }
  server_.enqueue(json_reply(200, chat_answer(R"({"intent":"unknown","confidence":0.1})")));
  OpenAiClient client(options(), clock_);
  const auto unknown = classify_intent(client, "text", intents);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->intent, "unknown");
}

const std::vector<TranscriptLine> kCall = {
    {"caller", "Hi. I was charged twice for my March invoice on the family plan.", -0.4},
    {"agent", "I'm sorry about that. Let me check your account.", 0.1},
    {"caller", "Yes. Thanks.", 0.0},
    {"agent", "I see two payments of forty dollars. I will refund the duplicate payment today.", 0.2},
    {"caller", "Great, and will the refund reach my original card?", 0.3},
    {"agent", "Yes, within five business days.", 0.2},
    {"caller", "Perfect, thank you so much.", 0.7},
};

TEST_F(AssistTest, SummarizeCallSendsTheTranscriptAndReturnsTheText) {
  server_.enqueue(json_reply(200, chat_answer("  Caller was double charged; refund issued.  ")));
  OpenAiClient client(options(), clock_);
  const auto summary = summarize_call(client, SummaryKind::kHandoff, kCall, "billing");
  ASSERT_TRUE(summary) << summary.status().to_string();
  EXPECT_EQ(*summary, "Caller was double charged; refund issued.");
  const auto body = nlohmann::json::parse(server_.requests().at(0).body);
  const std::string user = body.at("messages").at(1).at("content");
  EXPECT_NE(user.find("Detected intent: billing"), std::string::npos);
  EXPECT_NE(user.find("Caller: Hi. I was charged twice"), std::string::npos);
  EXPECT_NE(user.find("Agent: Yes, within five business days."), std::string::npos);
  EXPECT_NE(std::string(body.at("messages").at(0).at("content")).find("hand-off"), std::string::npos);
}

TEST_F(AssistTest, SummarizeCallWithoutKeyIsNotConfigured) {
  ClientOptions o = options();
  o.api_key.clear();
  OpenAiClient client(o, clock_);
  EXPECT_EQ(summarize_call(client, SummaryKind::kPostCall, kCall, "billing").status().code(), "llm_not_configured");
  EXPECT_EQ(server_.connections(), 0);
}

TEST(ExtractiveSummary, PicksInformativeSentencesSentimentArcAndDisposition) {
  const auto summary = extractive_summary(kCall, "billing", "resolved", 2);
  EXPECT_EQ(summary.intent, "billing");
  EXPECT_EQ(summary.disposition, "resolved");
  ASSERT_EQ(summary.key_sentences.size(), 2U);
  // The caller's problem statement ranks first and comes first; pleasantries never make it.
  EXPECT_EQ(summary.key_sentences[0], "I was charged twice for my March invoice on the family plan.");
  for (const auto& sentence : summary.key_sentences) {
    EXPECT_EQ(sentence.find("Thanks"), std::string::npos);
    EXPECT_NE(sentence, "Hi.");
  }
  // Caller sentiment: thirds of [-0.4, 0.0, 0.3, 0.7] -> [-0.4], [0.0], [0.3, 0.7].
  ASSERT_EQ(summary.sentiment_arc.size(), 3U);
  EXPECT_DOUBLE_EQ(summary.sentiment_arc[0], -0.4);
  EXPECT_DOUBLE_EQ(summary.sentiment_arc[1], 0.0);
  EXPECT_DOUBLE_EQ(summary.sentiment_arc[2], 0.5);
  EXPECT_NE(summary.text.find("Intent: billing."), std::string::npos);
  EXPECT_NE(summary.text.find("I was charged twice"), std::string::npos);
  EXPECT_NE(summary.text.find("-0.40 at the start"), std::string::npos);
  EXPECT_NE(summary.text.find("(improving)"), std::string::npos);
  EXPECT_NE(summary.text.find("Disposition: resolved."), std::string::npos);
}

TEST(ExtractiveSummary, HandlesEmptyAndShortCalls) {
  const auto empty = extractive_summary({}, "", "abandoned");
  EXPECT_TRUE(empty.key_sentences.empty());
  EXPECT_TRUE(empty.sentiment_arc.empty());
  EXPECT_EQ(empty.text, "Intent: unknown. Disposition: abandoned.");

  const std::vector<TranscriptLine> one = {{"Caller", "My internet connection keeps dropping every evening", -0.3}};
  const auto short_call = extractive_summary(one, "tech_support", "");
  ASSERT_EQ(short_call.key_sentences.size(), 1U);
  EXPECT_EQ(short_call.sentiment_arc, (std::vector<double>{-0.3, -0.3, -0.3}));
  EXPECT_EQ(short_call.text.find("Disposition"), std::string::npos);
}

TEST(ExtractiveSummary, RespectsMaxSentencesAndKeepsTranscriptOrder) {
  const auto summary = extractive_summary(kCall, "billing", "resolved", 3);
  ASSERT_EQ(summary.key_sentences.size(), 3U);
  std::vector<std::size_t> positions;
  std::string all;
  for (const auto& line : kCall) all += line.text + " ";
  for (const auto& sentence : summary.key_sentences) positions.push_back(all.find(sentence));
  EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));
}

}  // namespace
}  // namespace vontres::ai::llm
