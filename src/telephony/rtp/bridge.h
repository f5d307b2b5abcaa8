// Relays audio between two MediaSessions (the caller's and the agent's leg) while tapping both
// directions. Each side's played-out frames are sent by the other side: passed through unchanged
// when both legs use the same G.711 law, transcoded mu-law <-> A-law when they differ. Every tap
// sees every frame of both sides (speaker from each session's options).
//
// Threading: frames travel from one session's strand to the other's via post; taps run on the
// receiving session's strand (see media_tap.h). Create and destroy from any thread; destruction
// (or disconnect()) unhooks both sessions and returns them to their own AudioSource.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "telephony/rtp/media_session.h"
#include "telephony/rtp/media_tap.h"

namespace vontres::telephony::rtp {

class Bridge {
 public:
  struct Counters {
    uint64_t a_to_b = 0;  // frames relayed from a to b
    uint64_t b_to_a = 0;
  };

  static std::unique_ptr<Bridge> connect(std::shared_ptr<MediaSession> a, std::shared_ptr<MediaSession> b,
                                         std::vector<std::shared_ptr<MediaTap>> taps);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  void disconnect();
  Counters counters() const;

 private:
  struct Shared {
    std::vector<std::shared_ptr<MediaTap>> taps;
    std::atomic<uint64_t> a_to_b{0};
    std::atomic<uint64_t> b_to_a{0};
    std::atomic<bool> connected{true};
  };
  struct Key {};

 public:
  Bridge(Key key, std::shared_ptr<MediaSession> a, std::shared_ptr<MediaSession> b, std::shared_ptr<Shared> shared);

 private:
  std::shared_ptr<MediaSession> a_;
  std::shared_ptr<MediaSession> b_;
  std::shared_ptr<Shared> shared_;
  uint64_t a_listener_ = 0;
  uint64_t b_listener_ = 0;
};

}  // namespace vontres::telephony::rtp
