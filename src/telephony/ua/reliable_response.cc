#include "telephony/ua/reliable_response.h"

#include <algorithm>

namespace vontres::telephony::ua {

std::string ReliableResponses::key_of(const sip::Message& message) {
  std::string number;
  if (auto cseq = message.header("CSeq")) {
    std::string_view text = *cseq;
    number = std::string(text.substr(0, text.find_first_of(" \t")));
  }
  return std::string(message.header("Call-ID").value_or("")) + "|" + number;
}

void ReliableResponses::add(sip::Message response, const Peer& peer, TimePoint now) {
  Pending pending{std::move(response), peer, timers_.t1, std::nullopt, now + timers_.timeout()};
  if (!is_reliable(peer.transport)) pending.resend_at = now + timers_.t1;
  std::string key = key_of(pending.response);
  pending_.insert_or_assign(std::move(key), std::move(pending));
}

bool ReliableResponses::acknowledge(const sip::Message& ack) { return pending_.erase(key_of(ack)) > 0; }

ReliableResponses::Due ReliableResponses::on_timer(TimePoint now) {
  Due due;
  for (auto it = pending_.begin(); it != pending_.end();) {
    Pending& pending = it->second;
    if (pending.give_up_at <= now) {
      due.expired.push_back(it->first);
      it = pending_.erase(it);
      continue;
    }
    while (pending.resend_at && *pending.resend_at <= now) {
      due.resend.emplace_back(pending.response, pending.peer);
      pending.interval = std::min(pending.interval * 2, timers_.t2);
      *pending.resend_at += pending.interval;
    }
    ++it;
  }
  return due;
}

std::optional<TimePoint> ReliableResponses::next_deadline() const {
  std::optional<TimePoint> best;
  for (const auto& [key, pending] : pending_) {
    TimePoint next = pending.resend_at ? std::min(*pending.resend_at, pending.give_up_at) : pending.give_up_at;
    if (!best || next < *best) best = next;
  }
  return best;
}

}  // namespace vontres::telephony::ua
