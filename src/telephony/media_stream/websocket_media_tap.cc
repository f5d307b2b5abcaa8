#include "telephony/media_stream/websocket_media_tap.h"

#include <chrono>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace vontres::telephony::media_stream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct WebSocketMediaTap::Leg {
  Leg(LegStreamIdentity identity, std::string sid, size_t capacity, TimePoint now)
      : writer(std::move(identity), std::move(sid)), queue(capacity), opening(writer.open(now)) {}
  std::mutex writer_mutex;
  LegStreamWriter writer;  // GUARDED_BY(writer_mutex)
  BoundedFrameQueue queue;
  const std::vector<std::string> opening;  // connected + start, re-sent on every connection
  bool ended = false;                      // GUARDED_BY(WebSocketMediaTap::mutex_)
  // The I/O thread's alone.
  asio::io_context io;
  std::unique_ptr<websocket::stream<tcp::socket>> socket;
};

namespace {
std::string key_of(std::string_view leg_id, rtp::Speaker speaker) {
  return std::string(leg_id) + "/" + std::string(rtp::speaker_name(speaker));
}
}  // namespace

WebSocketMediaTap::WebSocketMediaTap(WebSocketMediaTapOptions options, Identify identify)
    : options_(std::move(options)), identify_(std::move(identify)), io_thread_([this] { run(); }) {}

WebSocketMediaTap::~WebSocketMediaTap() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  io_thread_.join();
}

std::shared_ptr<WebSocketMediaTap::Leg> WebSocketMediaTap::leg(std::string_view leg_id, rtp::Speaker speaker,
                                                               TimePoint now) {
  const std::string key = key_of(leg_id, speaker);
  {
    std::lock_guard lock(mutex_);
    if (auto it = legs_.find(key); it != legs_.end()) return it->second;
  }
  LegStreamIdentity identity = identify_(leg_id, speaker);
  auto created = std::make_shared<Leg>(std::move(identity), key + "@" + options_.node_id, options_.queue_frames, now);
  std::lock_guard lock(mutex_);
  auto [it, inserted] = legs_.emplace(key, created);
  return it->second;
}

void WebSocketMediaTap::on_audio(std::string_view leg_id, rtp::Speaker speaker, std::span<const int16_t> pcm,
                                 TimePoint timestamp) {
  auto state = leg(leg_id, speaker, timestamp);
  std::vector<std::string> frames;
  {
    std::lock_guard lock(state->writer_mutex);
    frames = state->writer.audio(pcm);
  }
  for (auto& frame : frames) (void)state->queue.push(std::move(frame));
  if (!frames.empty()) wake_.notify_one();
}

void WebSocketMediaTap::on_dtmf(std::string_view leg_id, rtp::Speaker speaker, char digit, TimePoint timestamp) {
  auto state = leg(leg_id, speaker, timestamp);
  std::string frame;
  {
    std::lock_guard lock(state->writer_mutex);
    frame = state->writer.dtmf(digit);
  }
  (void)state->queue.push(std::move(frame));
  wake_.notify_one();
}

void WebSocketMediaTap::end_leg(std::string_view leg_id) {
  for (rtp::Speaker speaker : {rtp::Speaker::kCaller, rtp::Speaker::kAgent}) {
    std::shared_ptr<Leg> state;
    {
      std::lock_guard lock(mutex_);
      auto it = legs_.find(key_of(leg_id, speaker));
      if (it == legs_.end()) continue;
      state = it->second;
      state->ended = true;
    }
    std::string frame;
    {
      std::lock_guard lock(state->writer_mutex);
      frame = state->writer.stop();
    }
    (void)state->queue.push(std::move(frame));
  }
  wake_.notify_one();
}

uint64_t WebSocketMediaTap::dropped_frames() const {
  std::lock_guard lock(mutex_);
  uint64_t total = retired_dropped_;
  for (const auto& [key, state] : legs_) total += state->queue.dropped();
  return total;
}

uint64_t WebSocketMediaTap::legs_open() const {
  std::lock_guard lock(mutex_);
  return legs_.size();
}

void WebSocketMediaTap::flush(Leg& state) {
  std::vector<std::string> frames = state.queue.drain();
  if (frames.empty()) return;
  try {
    if (!state.socket) {
      auto socket = std::make_unique<websocket::stream<tcp::socket>>(state.io);
      tcp::resolver resolver(state.io);
      asio::connect(socket->next_layer(), resolver.resolve(options_.host, std::to_string(options_.port)));
      socket->set_option(websocket::stream_base::decorator([token = options_.token](websocket::request_type& req) {
        req.set(beast::http::field::authorization, "Bearer " + token);
      }));
      socket->handshake(options_.host, options_.target);
      socket->text(true);
      for (const auto& frame : state.opening) socket->write(asio::buffer(frame));
      state.socket = std::move(socket);
    }
    for (const auto& frame : frames) state.socket->write(asio::buffer(frame));
  } catch (const boost::system::system_error&) {
    state.socket.reset();  // reconnect with the next batch (see the header)
    std::lock_guard lock(mutex_);
    retired_dropped_ += frames.size();
  }
}

void WebSocketMediaTap::run() {
  for (;;) {
    std::vector<std::pair<std::string, std::shared_ptr<Leg>>> snapshot;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(100));
      if (stopping_) return;
      snapshot.assign(legs_.begin(), legs_.end());
    }
    for (auto& [key, state] : snapshot) {
      flush(*state);
      bool retire = false;
      {
        std::lock_guard lock(mutex_);
        retire = state->ended && state->queue.size() == 0;
        if (retire) {
          retired_dropped_ += state->queue.dropped();
          legs_.erase(key);
        }
      }
      if (retire && state->socket) {  // outside the lock: closing may wait for the peer
        boost::system::error_code ignored;
        state->socket->close(websocket::close_code::normal, ignored);
      }
    }
  }
}

}  // namespace vontres::telephony::media_stream
