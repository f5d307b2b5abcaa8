#include "telephony/ua/transaction.h"

#include <algorithm>
#include <utility>

namespace vontres::telephony::ua {
namespace {

using std::chrono::milliseconds;

std::optional<TimePoint> earliest(std::initializer_list<std::optional<TimePoint>> deadlines) {
  std::optional<TimePoint> best;
  for (const auto& d : deadlines) {
    if (d && (!best || *d < *best)) best = d;
  }
  return best;
}

bool due(const std::optional<TimePoint>& deadline, TimePoint now) { return deadline && *deadline <= now; }

// ---- Client INVITE (RFC 3261 17.1.1, RFC 6026 7.2) ----------------------------------------
class ClientInvite final : public ClientTransaction {
 public:
  ClientInvite(sip::Message invite, bool reliable, const TimerConfig& timers)
      : ClientTransaction(std::move(invite), reliable, timers, /*invite=*/true) {
    state_ = TransactionState::kCalling;
  }

  TransactionOutput start(TimePoint now) override {
    TransactionOutput out;
    out.send.push_back(request_);
    if (!reliable_) {
      interval_ = timers_.t1;
      timer_a_ = now + interval_;
    }
    timer_b_ = now + timers_.timeout();
    return out;
  }

  TransactionOutput on_response(const sip::Message& response, TimePoint now) override {
    TransactionOutput out;
    const int status = response.status();
    switch (state_) {
      case TransactionState::kCalling:
      case TransactionState::kProceeding:
        if (status < 200) {
          if (state_ == TransactionState::kCalling) {
            state_ = TransactionState::kProceeding;
            timer_a_.reset();
            timer_b_.reset();
            if (timers_.invite_proceeding_timeout.count() > 0) {
              proceeding_timeout_ = now + timers_.invite_proceeding_timeout;
            }
          }
          out.deliver = response;
        } else if (status < 300) {
          clear_timers();
          state_ = TransactionState::kAccepted;
          timer_m_ = now + timers_.timeout();
          out.deliver = response;
        } else {
          clear_timers();
          out.deliver = response;
          ack_ = make_non_2xx_ack(request_, response);
          out.send.push_back(*ack_);
          enter_completed(now);
        }
        break;
      case TransactionState::kAccepted:
        // Retransmitted (or forked) 2xx go to the TU, which ACKs them; anything else is dropped.
        if (status >= 200 && status < 300) out.deliver = response;
        break;
      case TransactionState::kCompleted:
        if (status >= 300 && ack_) out.send.push_back(*ack_);
        break;
      default: break;
    }
    return out;
  }

  TransactionOutput on_timer(TimePoint now) override {
    TransactionOutput out;
    while (auto deadline = next_deadline()) {
      if (*deadline > now) break;
      if (due(timer_b_, *deadline) || due(proceeding_timeout_, *deadline)) {
        clear_timers();
        state_ = TransactionState::kTerminated;
        out.timed_out = true;
        break;
      }
      if (due(timer_a_, *deadline)) {
        out.send.push_back(request_);
        interval_ *= 2;  // Timer A is not capped by T2 for INVITE (17.1.1.2)
        timer_a_ = *timer_a_ + interval_;
        continue;
      }
      // Timer D or M.
      clear_timers();
      state_ = TransactionState::kTerminated;
    }
    return out;
  }

  TransactionOutput on_transport_error() override {
    TransactionOutput out;
    if (state_ == TransactionState::kCalling || state_ == TransactionState::kProceeding) out.transport_failed = true;
    clear_timers();
    state_ = TransactionState::kTerminated;
    return out;
  }

  std::optional<TimePoint> next_deadline() const override {
    return earliest({timer_a_, timer_b_, timer_d_, timer_m_, proceeding_timeout_});
  }

 private:
  void clear_timers() {
    timer_a_.reset();
    timer_b_.reset();
    timer_d_.reset();
    timer_m_.reset();
    proceeding_timeout_.reset();
  }
  void enter_completed(TimePoint now) {
    if (reliable_) {
      state_ = TransactionState::kTerminated;
      return;
    }
    state_ = TransactionState::kCompleted;
    timer_d_ = now + std::max<milliseconds>(milliseconds(32000), timers_.timeout());
  }

  milliseconds interval_{0};
  std::optional<TimePoint> timer_a_, timer_b_, timer_d_, timer_m_, proceeding_timeout_;
  std::optional<sip::Message> ack_;
};

// ---- Client non-INVITE (RFC 3261 17.1.2) --------------------------------------------------
class ClientNonInvite final : public ClientTransaction {
 public:
  ClientNonInvite(sip::Message request, bool reliable, const TimerConfig& timers)
      : ClientTransaction(std::move(request), reliable, timers, /*invite=*/false) {}

  TransactionOutput start(TimePoint now) override {
    TransactionOutput out;
    out.send.push_back(request_);
    if (!reliable_) {
      interval_ = timers_.t1;
      timer_e_ = now + interval_;
    }
    timer_f_ = now + timers_.timeout();
    return out;
  }

  TransactionOutput on_response(const sip::Message& response, TimePoint now) override {
    TransactionOutput out;
    if (state_ != TransactionState::kTrying && state_ != TransactionState::kProceeding) return out;  // absorbed
    out.deliver = response;
    if (response.status() < 200) {
      state_ = TransactionState::kProceeding;
      return out;
    }
    timer_e_.reset();
    timer_f_.reset();
    if (reliable_) {
      state_ = TransactionState::kTerminated;
    } else {
      state_ = TransactionState::kCompleted;
      timer_k_ = now + timers_.t4;
    }
    return out;
  }

  TransactionOutput on_timer(TimePoint now) override {
    TransactionOutput out;
    while (auto deadline = next_deadline()) {
      if (*deadline > now) break;
      if (due(timer_f_, *deadline)) {
        timer_e_.reset();
        timer_f_.reset();
        state_ = TransactionState::kTerminated;
        out.timed_out = true;
        break;
      }
      if (due(timer_e_, *deadline)) {
        out.send.push_back(request_);
        // Trying: double up to T2; Proceeding: every T2 (17.1.2.2).
        interval_ = state_ == TransactionState::kProceeding ? timers_.t2 : std::min(interval_ * 2, timers_.t2);
        timer_e_ = *timer_e_ + interval_;
        continue;
      }
      timer_k_.reset();
      state_ = TransactionState::kTerminated;
    }
    return out;
  }

  TransactionOutput on_transport_error() override {
    TransactionOutput out;
    if (state_ == TransactionState::kTrying || state_ == TransactionState::kProceeding) out.transport_failed = true;
    timer_e_.reset();
    timer_f_.reset();
    timer_k_.reset();
    state_ = TransactionState::kTerminated;
    return out;
  }

  std::optional<TimePoint> next_deadline() const override { return earliest({timer_e_, timer_f_, timer_k_}); }

 private:
  milliseconds interval_{0};
  std::optional<TimePoint> timer_e_, timer_f_, timer_k_;
};

// ---- Server INVITE (RFC 3261 17.2.1, RFC 6026 7.1) ----------------------------------------
class ServerInvite final : public ServerTransaction {
 public:
  ServerInvite(sip::Message invite, bool reliable, const TimerConfig& timers)
      : ServerTransaction(std::move(invite), reliable, timers, /*invite=*/true) {
    state_ = TransactionState::kProceeding;
  }

  TransactionOutput start(TimePoint /*now*/) override {
    TransactionOutput out;
    last_ = make_response(request_, 100, "Trying");
    out.send.push_back(*last_);
    return out;
  }

  TransactionOutput on_request(const sip::Message& request, TimePoint now) override {
    TransactionOutput out;
    const bool ack = request.method() == "ACK";
    switch (state_) {
      case TransactionState::kProceeding:
        if (!ack && last_) out.send.push_back(*last_);
        break;
      case TransactionState::kCompleted:
        if (ack) {
          timer_g_.reset();
          timer_h_.reset();
          if (reliable_) {
            state_ = TransactionState::kTerminated;
          } else {
            state_ = TransactionState::kConfirmed;
            timer_i_ = now + timers_.t4;
          }
        } else if (last_) {
          out.send.push_back(*last_);
        }
        break;
      case TransactionState::kAccepted:
        // An ACK reusing the INVITE's branch acknowledges the 2xx: the TU (not us) wants it.
        if (ack) out.deliver = request;
        break;
      default: break;  // Confirmed absorbs ACKs; Terminated ignores everything
    }
    return out;
  }

  Result<TransactionOutput> respond(sip::Message response, TimePoint now) override {
    if (!response.is_response() || state_ != TransactionState::kProceeding) {
      return invalid_argument("no response can be sent in state " + std::string(state_name(state_)),
                              "response_not_allowed");
    }
    TransactionOutput out;
    const int status = response.status();
    last_ = std::move(response);
    out.send.push_back(*last_);
    if (status < 200) return out;
    if (status < 300) {
      state_ = TransactionState::kAccepted;
      timer_l_ = now + timers_.timeout();
      return out;
    }
    state_ = TransactionState::kCompleted;
    if (!reliable_) {
      interval_ = timers_.t1;
      timer_g_ = now + interval_;
    }
    timer_h_ = now + timers_.timeout();
    return out;
  }

  TransactionOutput on_timer(TimePoint now) override {
    TransactionOutput out;
    while (auto deadline = next_deadline()) {
      if (*deadline > now) break;
      if (due(timer_h_, *deadline)) {
        timer_g_.reset();
        timer_h_.reset();
        state_ = TransactionState::kTerminated;
        out.timed_out = true;  // the ACK never came
        break;
      }
      if (due(timer_g_, *deadline)) {
        out.send.push_back(*last_);
        interval_ = std::min(interval_ * 2, timers_.t2);
        timer_g_ = *timer_g_ + interval_;
        continue;
      }
      // Timer I or L.
      timer_i_.reset();
      timer_l_.reset();
      state_ = TransactionState::kTerminated;
    }
    return out;
  }

  TransactionOutput on_transport_error() override {
    TransactionOutput out;
    out.transport_failed = state_ != TransactionState::kConfirmed;
    timer_g_.reset();
    timer_h_.reset();
    timer_i_.reset();
    timer_l_.reset();
    state_ = TransactionState::kTerminated;
    return out;
  }

  std::optional<TimePoint> next_deadline() const override { return earliest({timer_g_, timer_h_, timer_i_, timer_l_}); }
  const std::optional<sip::Message>& last_response() const override { return last_; }

 private:
  milliseconds interval_{0};
  std::optional<TimePoint> timer_g_, timer_h_, timer_i_, timer_l_;
  std::optional<sip::Message> last_;
};

// ---- Server non-INVITE (RFC 3261 17.2.2) --------------------------------------------------
class ServerNonInvite final : public ServerTransaction {
 public:
  ServerNonInvite(sip::Message request, bool reliable, const TimerConfig& timers)
      : ServerTransaction(std::move(request), reliable, timers, /*invite=*/false) {}

  TransactionOutput start(TimePoint /*now*/) override { return {}; }

  TransactionOutput on_request(const sip::Message& /*request*/, TimePoint /*now*/) override {
    TransactionOutput out;
    // Trying: the TU has not answered yet, the retransmission is discarded.
    if ((state_ == TransactionState::kProceeding || state_ == TransactionState::kCompleted) && last_) {
      out.send.push_back(*last_);
    }
    return out;
  }

  Result<TransactionOutput> respond(sip::Message response, TimePoint now) override {
    if (!response.is_response() || (state_ != TransactionState::kTrying && state_ != TransactionState::kProceeding)) {
      return invalid_argument("no response can be sent in state " + std::string(state_name(state_)),
                              "response_not_allowed");
    }
    TransactionOutput out;
    const int status = response.status();
    last_ = std::move(response);
    out.send.push_back(*last_);
    if (status < 200) {
      state_ = TransactionState::kProceeding;
    } else if (reliable_) {
      state_ = TransactionState::kTerminated;
    } else {
      state_ = TransactionState::kCompleted;
      timer_j_ = now + timers_.timeout();
    }
    return out;
  }

  TransactionOutput on_timer(TimePoint now) override {
    if (due(timer_j_, now)) {
      timer_j_.reset();
      state_ = TransactionState::kTerminated;
    }
    return {};
  }

  TransactionOutput on_transport_error() override {
    TransactionOutput out;
    out.transport_failed = true;
    timer_j_.reset();
    state_ = TransactionState::kTerminated;
    return out;
  }

  std::optional<TimePoint> next_deadline() const override { return timer_j_; }
  const std::optional<sip::Message>& last_response() const override { return last_; }

 private:
  std::optional<TimePoint> timer_j_;
  std::optional<sip::Message> last_;
};

}  // namespace

std::string_view state_name(TransactionState state) {
  switch (state) {
    case TransactionState::kCalling: return "calling";
    case TransactionState::kTrying: return "trying";
    case TransactionState::kProceeding: return "proceeding";
    case TransactionState::kAccepted: return "accepted";
    case TransactionState::kCompleted: return "completed";
    case TransactionState::kConfirmed: return "confirmed";
    case TransactionState::kTerminated: return "terminated";
  }
  return "unknown";
}

std::unique_ptr<ClientTransaction> make_client_invite(sip::Message invite, bool reliable, const TimerConfig& timers) {
  return std::make_unique<ClientInvite>(std::move(invite), reliable, timers);
}
std::unique_ptr<ClientTransaction> make_client_non_invite(sip::Message request, bool reliable,
                                                          const TimerConfig& timers) {
  return std::make_unique<ClientNonInvite>(std::move(request), reliable, timers);
}
std::unique_ptr<ServerTransaction> make_server_invite(sip::Message invite, bool reliable, const TimerConfig& timers) {
  return std::make_unique<ServerInvite>(std::move(invite), reliable, timers);
}
std::unique_ptr<ServerTransaction> make_server_non_invite(sip::Message request, bool reliable,
                                                          const TimerConfig& timers) {
  return std::make_unique<ServerNonInvite>(std::move(request), reliable, timers);
}

sip::Message make_non_2xx_ack(const sip::Message& invite, const sip::Message& response) {
  sip::Message ack = sip::Message::request("ACK", invite.request_uri());
  if (auto via = invite.header("Via")) ack.add_header("Via", std::string(*via));
  ack.add_header("Max-Forwards", "70");
  for (auto route : invite.headers_named("Route")) ack.add_header("Route", std::string(route));
  if (auto from = invite.header("From")) ack.add_header("From", std::string(*from));
  if (auto to = response.header("To")) ack.add_header("To", std::string(*to));
  if (auto call_id = invite.header("Call-ID")) ack.add_header("Call-ID", std::string(*call_id));
  std::string number = "1";
  if (auto cseq = invite.header("CSeq")) {
    auto text = std::string(*cseq);
    number = text.substr(0, text.find_first_of(" \t"));
  }
  ack.add_header("CSeq", number + " ACK");
  return ack;
}

}  // namespace vontres::telephony::ua
