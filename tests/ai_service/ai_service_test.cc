// The AI service in-process, from the media tap to the bus, the store and the log: audio goes
// through the real voice-activity segmentation to an OpenAI-compatible transcription endpoint
// (a local HTTP server that answers with a sentence full of PII), and the test checks that no card
// number, expiry or e-mail address comes out anywhere: not in a bus event, not in a stored row, not
// in a log line.
#include "ai/service/ai_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <sstream>
#include <thread>

#include <prometheus/registry.h>
#include <spdlog/sinks/ostream_sink.h>
#include <nlohmann/json.hpp>

#include "api/server.h"
#include "bus/in_process_bus.h"
#include "core/log.h"
#include "store/sqlite_store.h"
#include "support/subprocess.h"

namespace vontres::ai::service {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kSaid =
    "sure my card number is 4111 1111 1111 1111 expiry 05/27 and my email is jane.doe@example.com";

// A stand-in OpenAI-compatible endpoint on 127.0.0.1 (the project's own HTTP server).
class FakeTranscriptionEndpoint {
 public:
  FakeTranscriptionEndpoint() {
    api::RouteOptions open;
    open.public_route = true;
    router_.add(api::Method::kPost, "/v1/audio/transcriptions", open, [this](api::Request& req) {
      ++requests_;
      authorization_ = std::string(req.header("authorization").value_or(""));
      return api::Response::json(200, {{"text", kSaid}});
    });
    HttpConfig config;
    config.listen.host = "127.0.0.1";
    config.listen.port = 0;
    server_ = std::make_unique<api::HttpServer>(config, router_, nullptr, registry_, SystemClock::instance());
    EXPECT_TRUE(server_->start().is_ok());
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1"; }
  int requests() const { return requests_; }
  std::string authorization() const { return authorization_; }

 private:
  api::Router router_;
  prometheus::Registry registry_;
  std::unique_ptr<api::HttpServer> server_;
  std::atomic<int> requests_{0};
  std::string authorization_;
};

class AiServicePiiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::Options log_options;
    log_options.level = log::Level::kTrace;
    log::init(log_options);
    sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_lines_);
    log::add_sink(sink_);
    auto store = store::SqliteStore::open(StoreConfig{}, dir_.path() + "/ai.db", SystemClock::instance());
    ASSERT_TRUE(store.is_ok());
    store_ = std::move(*store);
    ASSERT_TRUE(store_->migrate(AiService::migrations()).is_ok());
    bus_ = std::make_unique<bus::InProcessEventBus>(BusConfig{}, SystemClock::instance());
  }
  void TearDown() override { log::remove_sink(sink_); }

  AiServiceOptions options(bool pause_on_card) {
    AiServiceOptions o;
    o.ai.stt_backend = "openai";
    o.ai.llm_base_url = endpoint_.base_url();
    o.ai.llm_api_key = "sk-test-key-not-secret";
    o.ai.pause_on_card = pause_on_card;
    o.ai.llm_suggestions = false;
    o.ai.llm_summaries = false;
    o.knowledge_dir = std::string(VONTRES_SOURCE_DIR) + "/share/knowledge";
    o.intent_examples_file = std::string(VONTRES_SOURCE_DIR) + "/share/intents/examples.csv";
    return o;
  }

  void publish_call_event(const std::string& type, const json& data) {
    bus::Event e;
    e.topic = "call.events";
    e.key = "call-1";
    e.type = type;
    e.payload = data.dump();
    ASSERT_TRUE(bus_->publish(e, 1s).is_ok());
  }

  // 0.5 s of silence, 1.2 s of a loud tone (speech to the VAD), 1.5 s of silence, in 20 ms frames.
  static void speak_into(AiService& service) {
    std::vector<int16_t> pcm(8000 / 2, 0);
    for (int i = 0; i < 8000 * 12 / 10; ++i) {
      pcm.push_back(static_cast<int16_t>(6000 * std::sin(2 * M_PI * 440 * i / 8000.0) *
                                         (0.6 + 0.4 * std::sin(2 * M_PI * 3 * i / 8000.0))));
    }
    pcm.insert(pcm.end(), 8000 * 3 / 2, 0);
    for (size_t at = 0; at + 160 <= pcm.size(); at += 160) {
      service.on_audio("call-1", telephony::rtp::Speaker::kCaller, std::span<const int16_t>(pcm.data() + at, 160),
                       SystemClock::instance().now());
      std::this_thread::sleep_for(2ms);  // faster than real time, in order
    }
  }

  // Every ai.events payload so far, polling until `done` holds (or 20 s).
  std::vector<bus::Event> collect(const std::function<bool(const std::vector<bus::Event>&)>& done) {
    if (!consumer_) {
      auto consumer = bus_->subscribe({"ai.events"}, "test", {.from_beginning = true});
      EXPECT_TRUE(consumer.is_ok());
      consumer_ = std::move(*consumer);
    }
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until && !done(events_)) {
      auto batch = consumer_->poll(100, 200ms);
      if (!batch.is_ok()) break;
      for (const auto& d : *batch) {
        events_.push_back(d.event);
        (void)consumer_->ack(d);
      }
    }
    return events_;
  }

  static bool has(const std::vector<bus::Event>& events, const std::string& type) {
    return std::any_of(events.begin(), events.end(), [&](const bus::Event& e) { return e.type == type; });
  }

  std::string all_stored_text() {
    std::string out;
    for (const char* sql : {"SELECT text FROM ai_transcripts", "SELECT summary FROM ai_summaries"}) {
      auto rows = store_->query(sql);
      EXPECT_TRUE(rows.is_ok());
      for (const auto& r : rows->rows) out += r.get_string(0) + "\n";
    }
    return out;
  }

  static void expect_no_pii(const std::string& where, const std::string& text) {
    std::string digits;
    for (char c : text) {
      if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
    }
    EXPECT_EQ(digits.find("4111111111111111"), std::string::npos) << where << ": " << text;
    EXPECT_EQ(text.find("4111 1111"), std::string::npos) << where;
    EXPECT_EQ(text.find("05/27"), std::string::npos) << where;
    EXPECT_EQ(text.find("jane.doe"), std::string::npos) << where;
  }

  ::vontres::testing::TempDir dir_;
  FakeTranscriptionEndpoint endpoint_;
  std::ostringstream log_lines_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<bus::InProcessEventBus> bus_;
  std::unique_ptr<bus::Consumer> consumer_;
  std::vector<bus::Event> events_;
};

TEST_F(AiServicePiiTest, RedactedTranscriptReachesBusAndStoreButNoCardOrEmail) {
  auto service = AiService::create(SystemClock::instance(), *bus_, *store_, options(false));
  ASSERT_TRUE(service.is_ok()) << service.status().to_string();
  ASSERT_TRUE((*service)->start().is_ok());
  publish_call_event("call.started", {{"call_id", "call-1"}, {"org_id", "org-1"}});
  std::this_thread::sleep_for(300ms);  // the consumer creates the call's context (the tap would too)
  speak_into(**service);
  auto events = collect([](const std::vector<bus::Event>& e) { return has(e, "ai.sentiment"); });
  publish_call_event("call.ended", {{"call_id", "call-1"}, {"org_id", "org-1"}, {"reason", "caller_hung_up"}});
  auto more = collect([](const std::vector<bus::Event>& e) { return has(e, "ai.summary"); });
  (*service)->stop();
  log::flush();

  EXPECT_GE(endpoint_.requests(), 1);
  EXPECT_EQ(endpoint_.authorization(), "Bearer sk-test-key-not-secret");
  ASSERT_TRUE(has(more, "ai.transcript"));
  ASSERT_TRUE(has(more, "ai.summary"));
  bool saw_redacted = false;
  for (const auto& e : more) {
    expect_no_pii("bus event " + e.type, e.payload);
    if (e.type == "ai.transcript" && e.payload.find("[CARD]") != std::string::npos &&
        e.payload.find("[EMAIL]") != std::string::npos) {
      saw_redacted = true;
    }
  }
  EXPECT_TRUE(saw_redacted) << "the transcript went through redaction, not around it";
  const std::string stored = all_stored_text();
  EXPECT_NE(stored.find("[CARD]"), std::string::npos) << stored;
  expect_no_pii("store", stored);
  expect_no_pii("log", log_lines_.str());
  EXPECT_EQ(log_lines_.str().find("sk-test-key-not-secret"), std::string::npos);
}

TEST_F(AiServicePiiTest, SpokenCardDetailsPauseTranscriptStorage) {
  auto service = AiService::create(SystemClock::instance(), *bus_, *store_, options(true));
  ASSERT_TRUE(service.is_ok()) << service.status().to_string();
  ASSERT_TRUE((*service)->start().is_ok());
  publish_call_event("call.started", {{"call_id", "call-1"}, {"org_id", "org-1"}});
  std::this_thread::sleep_for(300ms);
  speak_into(**service);
  auto events = collect([](const std::vector<bus::Event>& e) { return has(e, "ai.transcript"); });
  (*service)->stop();
  ASSERT_TRUE(has(events, "ai.protection_paused"));
  for (const auto& e : events) {
    expect_no_pii("bus event " + e.type, e.payload);
    if (e.type == "ai.transcript") {
      const json data = json::parse(e.payload);
      EXPECT_EQ(data["protected"], true);
      EXPECT_EQ(data["text"], "");
    }
  }
  auto rows = store_->query("SELECT COUNT(*) FROM ai_transcripts");
  ASSERT_TRUE(rows.is_ok());
  EXPECT_EQ((*rows)[0].get_int(0), 0) << "nothing is stored while protection is on";
}

TEST_F(AiServicePiiTest, RemoteTranscriptionWithoutAKeyIsRefusedAndNothingIsSent) {
  AiServiceOptions o = options(false);
  o.ai.llm_api_key.clear();
  auto service = AiService::create(SystemClock::instance(), *bus_, *store_, o);
  ASSERT_FALSE(service.is_ok());
  EXPECT_EQ(service.status().code(), "stt_remote_not_configured");
  EXPECT_EQ(endpoint_.requests(), 0);
}

}  // namespace
}  // namespace vontres::ai::service
