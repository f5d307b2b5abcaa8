#include "telephony/rtp/bridge.h"

namespace vontres::telephony::rtp {
namespace {

// A listener on `from` that taps its frames and relays them to `to`.
MediaSession::FrameListener relay_to(const std::shared_ptr<MediaSession>& from, const std::weak_ptr<MediaSession>& to,
                                     const std::shared_ptr<void>& keep_alive,
                                     const std::vector<std::shared_ptr<MediaTap>>& taps, std::atomic<uint64_t>& counter,
                                     const std::atomic<bool>& connected) {
  return [leg_id = from->leg_id(), speaker = from->speaker(), to, keep_alive, &taps, &counter,
          &connected](const AudioFrame& frame) {
    if (!connected.load(std::memory_order_relaxed)) return;
    for (const auto& tap : taps) tap->on_audio(leg_id, speaker, frame.pcm, frame.time);
    auto peer = to.lock();
    if (!peer) return;
    if (frame.payload.empty()) {
      // Concealed silence: keep the peer's stream continuous with encoded silence.
      std::vector<uint8_t> silence(frame.pcm.size(), g711_silence(frame.law));
      peer->relay(std::move(silence), frame.law);
    } else {
      peer->relay(std::vector<uint8_t>(frame.payload.begin(), frame.payload.end()), frame.law);
    }
    counter.fetch_add(1, std::memory_order_relaxed);
  };
}

}  // namespace

std::unique_ptr<Bridge> Bridge::connect(std::shared_ptr<MediaSession> a, std::shared_ptr<MediaSession> b,
                                        std::vector<std::shared_ptr<MediaTap>> taps) {
  auto shared = std::make_shared<Shared>();
  shared->taps = std::move(taps);
  return std::make_unique<Bridge>(Key{}, std::move(a), std::move(b), std::move(shared));
}

Bridge::Bridge(Key /*key*/, std::shared_ptr<MediaSession> a, std::shared_ptr<MediaSession> b,
               std::shared_ptr<Shared> shared)
    : a_(std::move(a)), b_(std::move(b)), shared_(std::move(shared)) {
  a_->set_bridged(true);
  b_->set_bridged(true);
  // The listeners hold `shared_` so the taps and counters outlive a frame in flight after disconnect.
  a_listener_ = a_->add_frame_listener(relay_to(a_, b_, shared_, shared_->taps, shared_->a_to_b, shared_->connected));
  b_listener_ = b_->add_frame_listener(relay_to(b_, a_, shared_, shared_->taps, shared_->b_to_a, shared_->connected));
}

Bridge::~Bridge() { disconnect(); }

void Bridge::disconnect() {
  if (!shared_->connected.exchange(false)) return;
  a_->remove_frame_listener(a_listener_);
  b_->remove_frame_listener(b_listener_);
  a_->set_bridged(false);
  b_->set_bridged(false);
}

Bridge::Counters Bridge::counters() const { return Counters{shared_->a_to_b.load(), shared_->b_to_a.load()}; }

}  // namespace vontres::telephony::rtp
