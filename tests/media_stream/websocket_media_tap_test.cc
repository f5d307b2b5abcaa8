#include "telephony/media_stream/websocket_media_tap.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace vontres::telephony::media_stream {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// An AI endpoint that accepts TCP connections and never answers or reads: the stalled consumer.
TEST(WebSocketMediaTap, AStalledConsumerNeverBlocksOnAudioFramesAreDroppedAndCounted) {
  asio::io_context io;
  tcp::acceptor stalled(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  WebSocketMediaTapOptions options;
  options.port = stalled.local_endpoint().port();
  options.token = "t";
  options.queue_frames = 8;
  WebSocketMediaTap tap(options, [](std::string_view leg_id, rtp::Speaker speaker) {
    return LegStreamIdentity{std::string(leg_id), "org-1", std::string(leg_id), speaker};
  });
  const std::vector<int16_t> frame(160, 0);
  constexpr int kFrames = 1000;
  // Every call returns although nothing is ever read: the loop finishing is the assertion that
  // on_audio does not wait for the consumer.
  for (int i = 0; i < kFrames; ++i) tap.on_audio("call-1", rtp::Speaker::kCaller, frame, TimePoint{});
  // At most the queue's capacity (plus one batch the I/O thread took) can be pending; the rest
  // were dropped and counted.
  EXPECT_GE(tap.dropped_frames(), static_cast<uint64_t>(kFrames - 2 * options.queue_frames));
  EXPECT_EQ(tap.legs_open(), 1U);
  // Resets the connection the I/O thread waits on, so the tap can be destroyed (the I/O thread's
  // socket operations have no timeout yet: see the header).
  stalled.close();
}

}  // namespace
}  // namespace vontres::telephony::media_stream
