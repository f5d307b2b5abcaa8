// Retransmission of INVITE 2xx responses by the UAS core until the ACK arrives (RFC 3261
// 13.3.1.4): every T1, doubling up to T2, for 64*T1 in total; over reliable transports the
// response is not resent but the ACK is still awaited. Pure: the owner sends what on_timer()
// returns and calls it at next_deadline().
//
// Thread-safety: none; one owner.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "telephony/sip/message.h"
#include "telephony/ua/types.h"

namespace vontres::telephony::ua {

class ReliableResponses {
 public:
  explicit ReliableResponses(const TimerConfig& timers) : timers_(timers) {}

  // The key an ACK and its 2xx share: Call-ID and CSeq number.
  static std::string key_of(const sip::Message& message);

  // Starts retransmitting `response` (already sent once) to `peer`. Replaces an entry with the
  // same key.
  void add(sip::Message response, const Peer& peer, TimePoint now);
  // An ACK arrived; true if it acknowledged a pending 2xx (which stops).
  bool acknowledge(const sip::Message& ack);

  struct Due {
    std::vector<std::pair<sip::Message, Peer>> resend;
    std::vector<std::string> expired;  // keys that got no ACK within 64*T1
  };
  Due on_timer(TimePoint now);
  std::optional<TimePoint> next_deadline() const;
  size_t size() const { return pending_.size(); }

 private:
  struct Pending {
    sip::Message response;
    Peer peer;
    std::chrono::milliseconds interval{0};
    std::optional<TimePoint> resend_at;
    TimePoint give_up_at;
  };
  TimerConfig timers_;
  std::map<std::string, Pending> pending_;
};

}  // namespace vontres::telephony::ua
