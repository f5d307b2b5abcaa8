#include "ai/llm/openai_client.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/asio/ip/tcp.hpp>
#include <sstream>

#include "ai_llm/fake_openai_server.h"
#include "core/log.h"

namespace vontres::ai::llm {
namespace {

using std::chrono::milliseconds;
using testing::delta_event;
using testing::FakeOpenAiServer;
using testing::json_reply;
using testing::sse_reply;

constexpr const char* kKey = "sk-test-0123456789abcdef";

const std::string kChatAnswer =
    R"({"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}})";

class ClientTest : public ::testing::Test {
 protected:
  ClientOptions options(const std::string& base_url) {
    ClientOptions o;
    o.base_url = base_url;
    o.api_key = kKey;
    o.chat_model = "test-model";
    o.transcription_model = "whisper-test";
    o.timeout = milliseconds(5000);
    o.sleep = [this](milliseconds delay) {
      sleeps_.push_back(delay);
      clock_.advance(delay);
    };
    return o;
  }
  static ChatRequest hello() {
    ChatRequest request;
    request.messages = {{"system", "Be brief."}, {"user", "Hello"}};
    return request;
  }

  ManualClock clock_;
  std::vector<milliseconds> sleeps_;
  FakeOpenAiServer server_;
};

TEST_F(ClientTest, WithoutKeyNothingIsSent) {
  ClientOptions o = options(server_.base_url());
  o.api_key.clear();
  OpenAiClient client(o, clock_);
  EXPECT_FALSE(client.configured());
  EXPECT_EQ(client.chat(hello()).status().code(), "llm_not_configured");
  EXPECT_EQ(client.chat_stream(hello(), {}, milliseconds(1000)).status().code(), "llm_not_configured");
  const std::vector<int16_t> pcm(160, 0);
  EXPECT_EQ(client.transcribe(pcm, 8000).status().code(), "llm_not_configured");
  EXPECT_EQ(client.attempts(), 0U);
  EXPECT_EQ(server_.connections(), 0);
}

TEST_F(ClientTest, ChatSendsTheExactRequest) {
  server_.enqueue(json_reply(200, kChatAnswer));
  OpenAiClient client(options(server_.base_url()), clock_);
  const auto result = client.chat(hello());
  ASSERT_TRUE(result) << result.status().to_string();
  EXPECT_EQ(result->content, "Hi there");
  EXPECT_EQ(result->finish_reason, "stop");
  EXPECT_EQ(result->prompt_tokens, 9);
  EXPECT_EQ(result->completion_tokens, 2);

  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1U);
  const auto& request = requests[0];
  EXPECT_TRUE(request.raw.starts_with("POST /v1/chat/completions HTTP/1.1\r\n")) << request.raw;
  EXPECT_EQ(request.headers.at("host"), "127.0.0.1:" + std::to_string(server_.port()));
  EXPECT_EQ(request.headers.at("authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(request.headers.at("content-type"), "application/json");
  EXPECT_EQ(request.headers.at("accept"), "application/json");
  EXPECT_EQ(request.headers.at("user-agent"), "vontres/0.1.0");
  EXPECT_EQ(request.headers.at("content-length"), std::to_string(request.body.size()));
  const auto body = nlohmann::json::parse(request.body);
  const nlohmann::json expected = {
      {"model", "test-model"},
      {"messages", {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Hello"}}}},
      {"temperature", 0.2},
      {"max_tokens", 300}};
  EXPECT_EQ(body, expected) << body.dump();
}

TEST_F(ClientTest, ChatWithSchemaAsksForStrictJsonSchema) {
  server_.enqueue(json_reply(200, kChatAnswer));
  OpenAiClient client(options(server_.base_url()), clock_);
  ChatRequest request = hello();
  request.json_schema = nlohmann::json{{"type", "object"}, {"properties", {{"x", {{"type", "number"}}}}}};
  request.schema_name = "answer";
  ASSERT_TRUE(client.chat(request));
  const auto body = nlohmann::json::parse(server_.requests().at(0).body);
  EXPECT_EQ(
      body.at("response_format"),
      (nlohmann::json{{"type", "json_schema"},
                      {"json_schema", {{"name", "answer"}, {"schema", *request.json_schema}, {"strict", true}}}}));
  EXPECT_FALSE(body.contains("stream"));
}

TEST_F(ClientTest, StreamSendsStreamTrueAndDeliversDeltasInOrder) {
  server_.enqueue(sse_reply(
      {": keep-alive\r\n\r\n",
       "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\r\n\r\n",
       delta_event("Please "), delta_event("verify "), delta_event("the address."),
       "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
       "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":5}}\n\n", "data: [DONE]\n\n"}));
  OpenAiClient client(options(server_.base_url()), clock_);
  std::vector<std::string> deltas;
  const auto result = client.chat_stream(
      hello(), [&](std::string_view d) { deltas.emplace_back(d); }, milliseconds(5000));
  ASSERT_TRUE(result) << result.status().to_string();
  EXPECT_EQ(deltas, (std::vector<std::string>{"Please ", "verify ", "the address."}));
  EXPECT_EQ(result->content, "Please verify the address.");
  EXPECT_EQ(result->finish_reason, "stop");
  EXPECT_EQ(result->prompt_tokens, 40);
  EXPECT_EQ(result->completion_tokens, 5);
  const auto request = server_.requests().at(0);
  EXPECT_EQ(request.headers.at("accept"), "text/event-stream");
  EXPECT_EQ(request.headers.at("authorization"), std::string("Bearer ") + kKey);
  const auto body = nlohmann::json::parse(request.body);
  EXPECT_EQ(body.at("stream"), true);
  EXPECT_EQ(body.at("model"), "test-model");
}

TEST_F(ClientTest, StreamFramesSplitAcrossTcpWritesAtOddPlaces) {
  std::string stream =
      delta_event("one ") + ":ping\r\n\r\n" + delta_event("two ") + delta_event("three") + "data: [DONE]\r\n\r\n";
  std::vector<std::string> pieces;
  for (std::size_t at = 0; at < stream.size(); at += 13) pieces.push_back(stream.substr(at, 13));
  server_.enqueue(sse_reply(pieces, milliseconds(1)));
  OpenAiClient client(options(server_.base_url()), clock_);
  std::string text;
  const auto result = client.chat_stream(
      hello(), [&](std::string_view d) { text += d; }, milliseconds(5000));
  ASSERT_TRUE(result) << result.status().to_string();
  EXPECT_EQ(text, "one two three");
}

TEST_F(ClientTest, StreamStopsAtTheBudgetKeepingDeliveredDeltas) {
  server_.enqueue(sse_reply({delta_event("Partial ")}, {}, /*stall_after=*/true));
  ClientOptions o = options(server_.base_url());
  o.timeout = milliseconds(60000);
  OpenAiClient client(o, clock_);
  std::vector<std::string> deltas;
  const auto started = std::chrono::steady_clock::now();
  const auto result = client.chat_stream(
      hello(), [&](std::string_view d) { deltas.emplace_back(d); }, milliseconds(1500));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), "llm_timeout");
  EXPECT_EQ(deltas, std::vector<std::string>{"Partial "});
  EXPECT_LT(elapsed, std::chrono::seconds(30));  // the budget, not the 60 s per-attempt timeout, ended it
  EXPECT_EQ(client.attempts(), 1U);
}

TEST_F(ClientTest, ChatTimesOutWhenTheServerStallsAndDoesNotRetry) {
  testing::Reply stall;
  stall.stall = true;
  server_.enqueue(stall);
  ClientOptions o = options(server_.base_url());
  o.timeout = milliseconds(300);
  OpenAiClient client(o, clock_);
  const auto result = client.chat(hello());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), "llm_timeout");
  EXPECT_EQ(client.attempts(), 1U);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(ClientTest, RateLimitHonoursRetryAfterThenSucceeds) {
  server_.enqueue(
      json_reply(429, R"({"error":{"message":"Rate limit reached","type":"requests"}})", {"Retry-After: 3"}));
  server_.enqueue(json_reply(200, kChatAnswer));
  OpenAiClient client(options(server_.base_url()), clock_);
  const auto result = client.chat(hello());
  ASSERT_TRUE(result) << result.status().to_string();
  EXPECT_EQ(sleeps_, std::vector<milliseconds>{milliseconds(3000)});
  ASSERT_EQ(server_.requests().size(), 2U);
  EXPECT_EQ(server_.requests()[0].body, server_.requests()[1].body);
}

TEST_F(ClientTest, RetryAfterIsCappedByBackoffMax) {
  server_.enqueue(json_reply(429, R"({"error":{"message":"slow down"}})", {"Retry-After: 3600"}));
  server_.enqueue(json_reply(429, R"({"error":{"message":"slow down"}})", {"Retry-After: 3600"}));
  server_.enqueue(json_reply(429, R"({"error":{"message":"slow down"}})", {"Retry-After: 3600"}));
  OpenAiClient client(options(server_.base_url()), clock_);
  const auto result = client.chat(hello());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), "llm_rate_limited");
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{milliseconds(5000), milliseconds(5000)}));
  EXPECT_EQ(server_.requests().size(), 3U);
}

TEST_F(ClientTest, ServerErrorsAreRetriedWithBackoffThenUnavailable) {
  for (int i = 0; i < 3; ++i) server_.enqueue(json_reply(503, R"({"error":{"message":"overloaded"}})"));
  OpenAiClient client(options(server_.base_url()), clock_);
  const auto result = client.chat(hello());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), "llm_unavailable");
  EXPECT_NE(result.status().message().find("overloaded"), std::string::npos);
  EXPECT_EQ(server_.requests().size(), 3U);
  ASSERT_EQ(sleeps_.size(), 2U);
  EXPECT_GE(sleeps_[0], milliseconds(125));
  EXPECT_LE(sleeps_[0], milliseconds(250));
  EXPECT_GE(sleeps_[1], milliseconds(250));
  EXPECT_LE(sleeps_[1], milliseconds(500));
}

TEST_F(ClientTest, ConnectionRefusedIsUnavailableAfterRetries) {
  unsigned short port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = acceptor.local_endpoint().port();
  }  // closed: nothing listens there now
  OpenAiClient client(options("http://127.0.0.1:" + std::to_string(port) + "/v1"), clock_);
  const auto result = client.chat(hello());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), "llm_unavailable");
  EXPECT_EQ(client.attempts(), 3U);
}

TEST_F(ClientTest, MalformedChunkIsBadResponseAndNotRetried) {
  server_.enqueue(sse_reply({delta_event("ok "), "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}\n\n"}));
  OpenAiClient client(options(server_.base_url()), clock_);
  std::string text;
  const auto result = client.chat_stream(
      hello(), [&](std::string_view d) { text += d; }, milliseconds(5000));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), "llm_bad_response");
  EXPECT_EQ(text, "ok ");
  EXPECT_EQ(server_.requests().size(), 1U);
}

TEST_F(ClientTest, MalformedJsonBodyIsBadResponse) {
  server_.enqueue(json_reply(200, R"({"choices": "nope")"));
  OpenAiClient client(options(server_.base_url()), clock_);
  EXPECT_EQ(client.chat(hello()).status().code(), "llm_bad_response");
}

TEST_F(ClientTest, StreamEndingWithoutDoneOrFinishIsAnError) {
  server_.enqueue(sse_reply({delta_event("cut")}));
  ClientOptions o = options(server_.base_url());
  o.max_retries = 0;
  OpenAiClient client(o, clock_);
  EXPECT_EQ(client.chat_stream(hello(), {}, milliseconds(5000)).status().code(), "llm_unavailable");
}

TEST_F(ClientTest, RejectionCarriesServerMessageButNeverTheKey) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  log::init({.service_name = "vontres-test", .level = log::Level::kDebug, .json = true, .to_stderr = false});
  log::add_sink(sink);
  server_.enqueue(json_reply(401, std::string(R"({"error":{"message":"Incorrect API key provided: )") + kKey +
                                      R"(","type":"invalid_request_error","code":"invalid_api_key"}})"));
  server_.enqueue(json_reply(500, std::string(R"({"error":{"message":"boom )") + kKey + R"("}})"));
  ClientOptions o = options(server_.base_url());
  o.max_retries = 0;
  OpenAiClient client(o, clock_);
  const auto rejected = client.chat(hello());
  const auto failed = client.chat(hello());
  log::flush();
  log::remove_sink(sink);
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.status().code(), "llm_rejected");
  EXPECT_NE(rejected.status().message().find("Incorrect API key provided"), std::string::npos);
  EXPECT_EQ(rejected.status().to_string().find(kKey), std::string::npos);
  EXPECT_EQ(failed.status().to_string().find(kKey), std::string::npos);
  EXPECT_NE(captured.str().find("LLM request failed"), std::string::npos);  // something was logged
  EXPECT_EQ(captured.str().find(kKey), std::string::npos) << captured.str();
}

TEST_F(ClientTest, BreakerOpensRejectsWithoutIoAndHalfOpensAfterCooldown) {
  ClientOptions o = options(server_.base_url());
  o.max_retries = 0;
  o.breaker_failures = 2;
  o.breaker_cooldown = milliseconds(30000);
  OpenAiClient client(o, clock_);
  server_.enqueue(json_reply(500, "{}"));
  server_.enqueue(json_reply(500, "{}"));
  EXPECT_EQ(client.chat(hello()).status().code(), "llm_unavailable");
  EXPECT_EQ(client.breaker_state(), BreakerState::kClosed);
  EXPECT_EQ(client.chat(hello()).status().code(), "llm_unavailable");
  EXPECT_EQ(client.breaker_state(), BreakerState::kOpen);

  EXPECT_EQ(client.chat(hello()).status().code(), "llm_circuit_open");
  EXPECT_EQ(client.chat_stream(hello(), {}, milliseconds(1000)).status().code(), "llm_circuit_open");
  EXPECT_EQ(server_.connections(), 2);

  clock_.advance(milliseconds(30000));
  EXPECT_EQ(client.breaker_state(), BreakerState::kHalfOpen);
  server_.enqueue(json_reply(500, "{}"));  // the probe fails: open again
  EXPECT_EQ(client.chat(hello()).status().code(), "llm_unavailable");
  EXPECT_EQ(client.breaker_state(), BreakerState::kOpen);
  EXPECT_EQ(client.chat(hello()).status().code(), "llm_circuit_open");
  EXPECT_EQ(server_.connections(), 3);

  clock_.advance(milliseconds(30000));
  server_.enqueue(json_reply(200, kChatAnswer));  // the probe succeeds: closed
  EXPECT_TRUE(client.chat(hello()));
  EXPECT_EQ(client.breaker_state(), BreakerState::kClosed);
}

uint32_t le32(const std::string& bytes, std::size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])) |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 8U |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 16U |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 3])) << 24U;
}

TEST_F(ClientTest, TranscriptionSendsMultipartWavAndReadsVerboseJson) {
  server_.enqueue(json_reply(
      200,
      R"({"task":"transcribe","language":"english","text":"my card was charged twice","segments":[{"id":0,"avg_logprob":-0.1},{"id":1,"avg_logprob":-0.3}]})"));
  OpenAiClient client(options(server_.base_url()), clock_);
  std::vector<int16_t> pcm(1600);
  for (std::size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<int16_t>((i % 50) * 300 - 7000);
  const auto result = client.transcribe(pcm, 16000, "en");
  ASSERT_TRUE(result) << result.status().to_string();
  EXPECT_EQ(result->text, "my card was charged twice");
  EXPECT_NEAR(result->confidence, std::exp(-0.2), 1e-9);

  const auto request = server_.requests().at(0);
  EXPECT_TRUE(request.raw.starts_with("POST /v1/audio/transcriptions HTTP/1.1\r\n"));
  EXPECT_EQ(request.headers.at("authorization"), std::string("Bearer ") + kKey);
  const std::string& type = request.headers.at("content-type");
  const std::string prefix = "multipart/form-data; boundary=";
  ASSERT_TRUE(type.starts_with(prefix)) << type;
  const std::string boundary = type.substr(prefix.size());
  ASSERT_FALSE(boundary.empty());
  const std::string& body = request.body;
  EXPECT_TRUE(body.ends_with("--" + boundary + "--\r\n"));
  const auto part = [&](const std::string& name) -> std::string {
    const std::string header = "Content-Disposition: form-data; name=\"" + name + "\"";
    const auto at = body.find(header);
    if (at == std::string::npos) return "<missing>";
    const auto start = body.find("\r\n\r\n", at) + 4;
    const auto end = body.find("\r\n--" + boundary, start);
    return body.substr(start, end - start);
  };
  EXPECT_EQ(part("model"), "whisper-test");
  EXPECT_EQ(part("language"), "en");
  EXPECT_EQ(part("response_format"), "verbose_json");
  EXPECT_NE(body.find("name=\"file\"; filename=\"audio.wav\"\r\nContent-Type: audio/wav\r\n\r\n"), std::string::npos);
  const auto file_at = body.find("filename=\"audio.wav\"");
  const std::string wav = body.substr(body.find("\r\n\r\n", file_at) + 4, 44 + pcm.size() * 2);
  EXPECT_EQ(wav.substr(0, 4), "RIFF");
  EXPECT_EQ(le32(wav, 4), 36 + pcm.size() * 2);
  EXPECT_EQ(wav.substr(8, 8), "WAVEfmt ");
  EXPECT_EQ(le32(wav, 16), 16U);
  EXPECT_EQ(le32(wav, 20) & 0xFFFFU, 1U);       // PCM
  EXPECT_EQ(le32(wav, 20) >> 16U, 1U);          // mono
  EXPECT_EQ(le32(wav, 24), 16000U);             // sample rate
  EXPECT_EQ(le32(wav, 28), 32000U);             // byte rate
  EXPECT_EQ(le32(wav, 32), 2U | (16U << 16U));  // block align, bits per sample
  EXPECT_EQ(wav.substr(36, 4), "data");
  EXPECT_EQ(le32(wav, 40), pcm.size() * 2);
  EXPECT_EQ(static_cast<int16_t>(le32(wav, 44) & 0xFFFFU), pcm[0]);
  EXPECT_EQ(body.substr(body.find("\r\n\r\n", file_at) + 4 + wav.size(), 2 + 2 + boundary.size()), "\r\n--" + boundary);
}

TEST_F(ClientTest, PlainTranscriptionHasUnknownConfidence) {
  const auto parsed = parse_transcription_response(R"({"text":"hello"})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->confidence, -1.0);
  EXPECT_EQ(parse_transcription_response(R"({"txt":"hello"})").status().code(), "llm_bad_response");
}

TEST_F(ClientTest, BadBaseUrlIsReportedNotSent) {
  OpenAiClient client(options("ftp://example.com/v1"), clock_);
  EXPECT_FALSE(client.configured());
  EXPECT_EQ(client.chat(hello()).status().code(), "invalid_base_url");
}

}  // namespace
}  // namespace vontres::ai::llm
