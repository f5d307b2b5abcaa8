// GET /api/v1/ai/media over a real HttpServer on 127.0.0.1: a call host's leg stream reaches the
// MediaTap as PCM and DTMF; a wrong or missing service token is refused at the upgrade.
#include "ai/service/media_stream_routes.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "api/server.h"
#include "core/config.h"
#include "telephony/media_stream/stream_codec.h"
#include "telephony/media_stream/websocket_media_tap.h"

namespace vontres::ai::service {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
namespace ms = telephony::media_stream;

class RecordingTap final : public telephony::rtp::MediaTap {
 public:
  void on_audio(std::string_view leg_id, telephony::rtp::Speaker /*speaker*/, std::span<const int16_t> pcm,
                TimePoint /*timestamp*/) override {
    std::lock_guard lock(mutex_);
    call_id_ = std::string(leg_id);
    samples_ += pcm.size();
  }
  void on_dtmf(std::string_view /*leg_id*/, telephony::rtp::Speaker /*speaker*/, char digit,
               TimePoint /*timestamp*/) override {
    std::lock_guard lock(mutex_);
    digits_ += digit;
  }
  size_t samples() const {
    std::lock_guard lock(mutex_);
    return samples_;
  }
  std::string digits() const {
    std::lock_guard lock(mutex_);
    return digits_;
  }
  std::string call_id() const {
    std::lock_guard lock(mutex_);
    return call_id_;
  }

 private:
  mutable std::mutex mutex_;
  size_t samples_ = 0;   // GUARDED_BY(mutex_)
  std::string digits_;   // GUARDED_BY(mutex_)
  std::string call_id_;  // GUARDED_BY(mutex_)
};

class MediaStreamRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    register_media_stream_route(router_, tap_, SystemClock::instance(), "service-secret");
    config_.listen = {"127.0.0.1", 0};
    config_.io_threads = 1;
    config_.worker_threads = 1;
    server_ = std::make_unique<api::HttpServer>(config_, router_, nullptr, registry_, SystemClock::instance());
    ASSERT_TRUE(server_->start().is_ok());
  }

  void connect(websocket::stream<tcp::socket>& ws, const std::string& authorization) {
    ws.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    ws.set_option(websocket::stream_base::decorator([authorization](websocket::request_type& request) {
      if (!authorization.empty()) request.set(beast::http::field::authorization, authorization);
    }));
    ws.handshake("127.0.0.1", "/api/v1/ai/media");
  }

  RecordingTap tap_;
  api::Router router_;
  HttpConfig config_;
  prometheus::Registry registry_;
  std::unique_ptr<api::HttpServer> server_;
};

TEST_F(MediaStreamRouteTest, ALegStreamReachesTheTapAsPcmAndDtmf) {
  asio::io_context io;
  websocket::stream<tcp::socket> ws(io);
  connect(ws, "Bearer service-secret");
  ms::LegStreamWriter writer({"call-9", "org-1", "leg-a", telephony::rtp::Speaker::kCaller}, "leg-a-s");
  std::vector<std::string> frames = writer.open(SystemClock::instance().now());
  for (auto& f : writer.audio(std::vector<int16_t>(1600, 100))) frames.push_back(std::move(f));  // 10 frames
  frames.push_back(writer.dtmf('7'));
  frames.push_back(writer.stop());
  ws.text(true);
  for (const auto& f : frames) ws.write(asio::buffer(f));
  for (int i = 0; i < 500 && (tap_.samples() < 1600 || tap_.digits().empty()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(tap_.samples(), 1600U);
  EXPECT_EQ(tap_.digits(), "7");
  EXPECT_EQ(tap_.call_id(), "call-9");
  ws.close(websocket::close_code::normal);
}

TEST_F(MediaStreamRouteTest, AWrongOrMissingServiceTokenIsRefusedAtTheUpgrade) {
  for (const std::string authorization : {"", "Bearer wrong-secret", "Bearer service-secret2", "service-secret"}) {
    asio::io_context io;
    websocket::stream<tcp::socket> ws(io);
    EXPECT_THROW(connect(ws, authorization), boost::system::system_error) << authorization;
  }
  EXPECT_EQ(tap_.samples(), 0U);
}

TEST(MediaToken, MatchesOnlyTheExactBearerToken) {
  EXPECT_TRUE(media_token_matches("Bearer abc", "abc"));
  EXPECT_FALSE(media_token_matches("Bearer abd", "abc"));
  EXPECT_FALSE(media_token_matches("bearer abc", "abc"));
  EXPECT_FALSE(media_token_matches("Bearer ", ""));
}

}  // namespace
}  // namespace vontres::ai::service

namespace vontres::ai::service {
namespace {

TEST_F(MediaStreamRouteTest, TheCallHostsWebSocketTapStreamsALegToTheRoute) {
  ms::WebSocketMediaTapOptions options;
  options.port = server_->port();
  options.token = "service-secret";
  ms::WebSocketMediaTap client(options, [](std::string_view leg_id, telephony::rtp::Speaker speaker) {
    return ms::LegStreamIdentity{std::string(leg_id), "org-1", std::string(leg_id) + "-leg", speaker};
  });
  const std::vector<int16_t> frame(160, 300);
  for (int i = 0; i < 25; ++i) client.on_audio("call-3", telephony::rtp::Speaker::kAgent, frame, TimePoint{});
  client.on_dtmf("call-3", telephony::rtp::Speaker::kAgent, '#', TimePoint{});
  for (int i = 0; i < 500 && (tap_.samples() < 25 * 160 || tap_.digits().empty()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(tap_.samples(), 25U * 160U);
  EXPECT_EQ(tap_.digits(), "#");
  EXPECT_EQ(tap_.call_id(), "call-3");
  EXPECT_EQ(client.dropped_frames(), 0U);
  client.end_leg("call-3");
  for (int i = 0; i < 500 && client.legs_open() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(client.legs_open(), 0U);
}

}  // namespace
}  // namespace vontres::ai::service
