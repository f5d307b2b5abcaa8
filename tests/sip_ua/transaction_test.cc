// The four RFC 3261 17 state machines, driven by a ManualClock: every timer, every state.
#include "telephony/ua/transaction.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "core/clock.h"
#include "sip_ua/test_messages.h"

namespace vontres::telephony::ua {
namespace {

using namespace std::chrono_literals;
using testing::request;
using testing::response_to;

// Steps the clock from deadline to deadline until `until` (offset from start), recording the
// offsets at which something was sent, and when the machine timed out.
struct Trace {
  std::vector<std::chrono::milliseconds> sends;
  std::optional<std::chrono::milliseconds> timed_out_at;
  std::optional<std::chrono::milliseconds> terminated_at;
};

Trace drive(Transaction& machine, ManualClock& clock, TimePoint start, std::chrono::milliseconds until) {
  Trace trace;
  while (auto deadline = machine.next_deadline()) {
    if (*deadline - start > until) break;
    clock.set(*deadline);
    auto out = machine.on_timer(clock.now());
    auto offset = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start);
    for (size_t i = 0; i < out.send.size(); ++i) trace.sends.push_back(offset);
    if (out.timed_out) trace.timed_out_at = offset;
    if (machine.terminated()) {
      trace.terminated_at = offset;
      break;
    }
  }
  return trace;
}

std::vector<std::chrono::milliseconds> ms(std::initializer_list<int> values) {
  std::vector<std::chrono::milliseconds> out;
  for (int v : values) out.emplace_back(v);
  return out;
}

class TransactionTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  TimerConfig timers_;
  TimePoint start_ = clock_.now();
};

// ---- Client INVITE ----

TEST_F(TransactionTest, ClientInviteRetransmitsWithTimerADoublingUncappedUntilTimerB) {
  auto machine = make_client_invite(request("INVITE"), /*reliable=*/false, timers_);
  auto out = machine->start(clock_.now());
  ASSERT_EQ(out.send.size(), 1u);
  EXPECT_EQ(machine->state(), TransactionState::kCalling);
  auto trace = drive(*machine, clock_, start_, 40s);
  EXPECT_EQ(trace.sends, ms({500, 1500, 3500, 7500, 15500, 31500}));
  EXPECT_EQ(trace.timed_out_at, 32000ms);
  EXPECT_TRUE(machine->terminated());
}

TEST_F(TransactionTest, ClientInviteDoesNotFireBeforeTheDeadline) {
  auto machine = make_client_invite(request("INVITE"), false, timers_);
  (void)machine->start(clock_.now());
  clock_.advance(499ms);
  EXPECT_TRUE(machine->on_timer(clock_.now()).send.empty());
  clock_.advance(1ms);
  EXPECT_EQ(machine->on_timer(clock_.now()).send.size(), 1u);
}

TEST_F(TransactionTest, ClientInviteHonoursConfiguredT1) {
  timers_.t1 = 100ms;
  auto machine = make_client_invite(request("INVITE"), false, timers_);
  (void)machine->start(clock_.now());
  auto trace = drive(*machine, clock_, start_, 10s);
  EXPECT_EQ(trace.sends, ms({100, 300, 700, 1500, 3100, 6300}));
  EXPECT_EQ(trace.timed_out_at, 6400ms);
}

TEST_F(TransactionTest, ClientInviteOverReliableTransportNeverRetransmits) {
  auto machine = make_client_invite(request("INVITE"), /*reliable=*/true, timers_);
  (void)machine->start(clock_.now());
  auto trace = drive(*machine, clock_, start_, 40s);
  EXPECT_TRUE(trace.sends.empty());
  EXPECT_EQ(trace.timed_out_at, 32000ms);
}

TEST_F(TransactionTest, ClientInviteProvisionalStopsRetransmissionsAndPassesUp) {
  auto invite = request("INVITE");
  auto machine = make_client_invite(invite, false, timers_);
  (void)machine->start(clock_.now());
  clock_.advance(200ms);
  auto out = machine->on_response(response_to(invite, 180), clock_.now());
  ASSERT_TRUE(out.deliver);
  EXPECT_EQ(out.deliver->status(), 180);
  EXPECT_EQ(machine->state(), TransactionState::kProceeding);
  // Only the proceeding timeout (3 min by default) remains.
  auto trace = drive(*machine, clock_, start_, 170s);
  EXPECT_TRUE(trace.sends.empty());
  EXPECT_FALSE(trace.timed_out_at);
  trace = drive(*machine, clock_, start_, 200s);
  EXPECT_EQ(trace.timed_out_at, 180200ms);
}

TEST_F(TransactionTest, ClientInviteWithoutProceedingTimeoutWaitsForever) {
  timers_.invite_proceeding_timeout = 0ms;
  auto invite = request("INVITE");
  auto machine = make_client_invite(invite, false, timers_);
  (void)machine->start(clock_.now());
  (void)machine->on_response(response_to(invite, 100), clock_.now());
  EXPECT_FALSE(machine->next_deadline());
}

TEST_F(TransactionTest, ClientInviteAcksNonSuccessFinalAndAbsorbsItsRetransmissions) {
  auto invite = request("INVITE");
  invite.add_header("Route", "<sip:proxy.example;lr>");
  auto machine = make_client_invite(invite, false, timers_);
  (void)machine->start(clock_.now());
  auto busy = response_to(invite, 486, "callee-tag");
  auto out = machine->on_response(busy, clock_.now());
  ASSERT_TRUE(out.deliver);
  EXPECT_EQ(out.deliver->status(), 486);
  ASSERT_EQ(out.send.size(), 1u);
  const sip::Message& ack = out.send[0];
  EXPECT_EQ(ack.method(), "ACK");
  EXPECT_EQ(ack.request_uri(), invite.request_uri());
  EXPECT_EQ(ack.header("CSeq"), "1 ACK");
  EXPECT_EQ(ack.header("Via"), invite.header("Via"));
  EXPECT_EQ(ack.header("To"), busy.header("To"));
  EXPECT_EQ(ack.header("From"), invite.header("From"));
  EXPECT_EQ(ack.header("Route"), "<sip:proxy.example;lr>");
  EXPECT_EQ(machine->state(), TransactionState::kCompleted);

  out = machine->on_response(busy, clock_.now());
  EXPECT_FALSE(out.deliver);
  ASSERT_EQ(out.send.size(), 1u);
  EXPECT_EQ(out.send[0].method(), "ACK");

  auto trace = drive(*machine, clock_, start_, 40s);
  EXPECT_TRUE(trace.sends.empty());
  EXPECT_EQ(trace.terminated_at, 32000ms);  // Timer D
  EXPECT_FALSE(trace.timed_out_at);
}

TEST_F(TransactionTest, ClientInviteOverReliableTransportTerminatesRightAfterAckingFailure) {
  auto invite = request("INVITE");
  auto machine = make_client_invite(invite, true, timers_);
  (void)machine->start(clock_.now());
  auto out = machine->on_response(response_to(invite, 503), clock_.now());
  EXPECT_EQ(out.send.size(), 1u);
  EXPECT_TRUE(machine->terminated());  // Timer D = 0
}

TEST_F(TransactionTest, ClientInviteAcceptedPassesEvery2xxUpUntilTimerM) {
  auto invite = request("INVITE");
  auto machine = make_client_invite(invite, false, timers_);
  (void)machine->start(clock_.now());
  auto ok = response_to(invite, 200);
  auto out = machine->on_response(ok, clock_.now());
  ASSERT_TRUE(out.deliver);
  EXPECT_TRUE(out.send.empty());  // the TU ACKs a 2xx
  EXPECT_EQ(machine->state(), TransactionState::kAccepted);
  out = machine->on_response(ok, clock_.now());
  EXPECT_TRUE(out.deliver);
  out = machine->on_response(response_to(invite, 486), clock_.now());
  EXPECT_FALSE(out.deliver);
  EXPECT_TRUE(out.send.empty());
  auto trace = drive(*machine, clock_, start_, 40s);
  EXPECT_TRUE(trace.sends.empty());
  EXPECT_EQ(trace.terminated_at, 32000ms);
}

TEST_F(TransactionTest, ClientInviteTransportErrorFailsIt) {
  auto machine = make_client_invite(request("INVITE"), false, timers_);
  (void)machine->start(clock_.now());
  auto out = machine->on_transport_error();
  EXPECT_TRUE(out.transport_failed);
  EXPECT_TRUE(machine->terminated());
}

// ---- Client non-INVITE ----

TEST_F(TransactionTest, ClientNonInviteRetransmitsWithTimerECappedByT2UntilTimerF) {
  auto machine = make_client_non_invite(request("OPTIONS"), false, timers_);
  EXPECT_EQ(machine->start(clock_.now()).send.size(), 1u);
  EXPECT_EQ(machine->state(), TransactionState::kTrying);
  auto trace = drive(*machine, clock_, start_, 40s);
  // Intervals 500 ms, 1 s, 2 s, 4 s, 4 s ... (17.1.2.2).
  EXPECT_EQ(trace.sends, ms({500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}));
  EXPECT_EQ(trace.timed_out_at, 32000ms);
}

TEST_F(TransactionTest, ClientNonInviteInProceedingRetransmitsEveryT2) {
  auto bye = request("BYE");
  auto machine = make_client_non_invite(bye, false, timers_);
  (void)machine->start(clock_.now());
  clock_.advance(600ms);
  (void)machine->on_timer(clock_.now());  // the 500 ms retransmission
  auto out = machine->on_response(response_to(bye, 100), clock_.now());
  EXPECT_TRUE(out.deliver);
  EXPECT_EQ(machine->state(), TransactionState::kProceeding);
  auto trace = drive(*machine, clock_, start_, 40s);
  EXPECT_EQ(trace.sends, ms({1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500}));
  EXPECT_EQ(trace.timed_out_at, 32000ms);
}

TEST_F(TransactionTest, ClientNonInviteCompletedAbsorbsRetransmissionsThenTimerK) {
  auto bye = request("BYE");
  auto machine = make_client_non_invite(bye, false, timers_);
  (void)machine->start(clock_.now());
  clock_.advance(100ms);
  auto ok = response_to(bye, 200);
  auto out = machine->on_response(ok, clock_.now());
  ASSERT_TRUE(out.deliver);
  EXPECT_EQ(machine->state(), TransactionState::kCompleted);
  EXPECT_FALSE(machine->on_response(ok, clock_.now()).deliver);
  auto trace = drive(*machine, clock_, start_, 40s);
  EXPECT_TRUE(trace.sends.empty());
  EXPECT_EQ(trace.terminated_at, 5100ms);  // Timer K = T4
}

TEST_F(TransactionTest, ClientNonInviteOverReliableTransport) {
  auto bye = request("BYE");
  auto machine = make_client_non_invite(bye, true, timers_);
  (void)machine->start(clock_.now());
  EXPECT_EQ(machine->next_deadline(), start_ + 32s);  // only Timer F
  (void)machine->on_response(response_to(bye, 200), clock_.now());
  EXPECT_TRUE(machine->terminated());  // Timer K = 0

  auto other = make_client_non_invite(bye, true, timers_);
  (void)other->start(clock_.now());
  auto trace = drive(*other, clock_, clock_.now(), 40s);
  EXPECT_TRUE(trace.sends.empty());
  EXPECT_TRUE(trace.timed_out_at);
}

// ---- Server INVITE ----

TEST_F(TransactionTest, ServerInviteSends100AtOnceAndRepeatsLastProvisional) {
  auto invite = request("INVITE");
  auto machine = make_server_invite(invite, false, timers_);
  auto out = machine->start(clock_.now());
  ASSERT_EQ(out.send.size(), 1u);
  EXPECT_EQ(out.send[0].status(), 100);
  EXPECT_EQ(machine->state(), TransactionState::kProceeding);
  out = machine->on_request(invite, clock_.now());
  ASSERT_EQ(out.send.size(), 1u);
  EXPECT_EQ(out.send[0].status(), 100);
  ASSERT_TRUE(machine->respond(response_to(invite, 180), clock_.now()));
  out = machine->on_request(invite, clock_.now());
  ASSERT_EQ(out.send.size(), 1u);
  EXPECT_EQ(out.send[0].status(), 180);
  EXPECT_FALSE(machine->next_deadline());
}

TEST_F(TransactionTest, ServerInviteRetransmitsNonSuccessFinalWithTimerGUntilTimerH) {
  auto invite = request("INVITE");
  auto machine = make_server_invite(invite, false, timers_);
  (void)machine->start(clock_.now());
  auto sent = machine->respond(response_to(invite, 486), clock_.now());
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->send.size(), 1u);
  EXPECT_EQ(machine->state(), TransactionState::kCompleted);
  auto trace = drive(*machine, clock_, start_, 40s);
  EXPECT_EQ(trace.sends, ms({500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}));
  EXPECT_EQ(trace.timed_out_at, 32000ms);  // Timer H: no ACK
}

TEST_F(TransactionTest, ServerInviteAckConfirmsThenTimerITerminates) {
  auto invite = request("INVITE");
  auto machine = make_server_invite(invite, false, timers_);
  (void)machine->start(clock_.now());
  (void)machine->respond(response_to(invite, 404), clock_.now());
  // A retransmitted INVITE gets the final again.
  auto out = machine->on_request(invite, clock_.now());
  ASSERT_EQ(out.send.size(), 1u);
  EXPECT_EQ(out.send[0].status(), 404);
  clock_.advance(700ms);
  EXPECT_EQ(machine->on_timer(clock_.now()).send.size(), 1u);  // G at 500 ms
  out = machine->on_request(request("ACK"), clock_.now());
  EXPECT_TRUE(out.send.empty());
  EXPECT_FALSE(out.deliver);
  EXPECT_EQ(machine->state(), TransactionState::kConfirmed);
  EXPECT_TRUE(machine->on_request(request("ACK"), clock_.now()).send.empty());  // absorbed
  auto trace = drive(*machine, clock_, start_, 40s);
  EXPECT_TRUE(trace.sends.empty());
  EXPECT_EQ(trace.terminated_at, 5700ms);  // Timer I = T4
}

TEST_F(TransactionTest, ServerInviteOverReliableTransportNeitherRetransmitsNorLingers) {
  auto invite = request("INVITE");
  auto machine = make_server_invite(invite, true, timers_);
  (void)machine->start(clock_.now());
  (void)machine->respond(response_to(invite, 486), clock_.now());
  EXPECT_EQ(machine->next_deadline(), start_ + 32s);  // only Timer H
  (void)machine->on_request(request("ACK"), clock_.now());
  EXPECT_TRUE(machine->terminated());  // Timer I = 0
}

TEST_F(TransactionTest, ServerInviteAcceptedAbsorbsRetransmissionsUntilTimerL) {
  auto invite = request("INVITE");
  auto machine = make_server_invite(invite, false, timers_);
  (void)machine->start(clock_.now());
  ASSERT_TRUE(machine->respond(response_to(invite, 200), clock_.now()));
  EXPECT_EQ(machine->state(), TransactionState::kAccepted);
  EXPECT_TRUE(machine->on_request(invite, clock_.now()).send.empty());
  EXPECT_FALSE(machine->respond(response_to(invite, 486), clock_.now()));
  auto trace = drive(*machine, clock_, start_, 40s);
  EXPECT_TRUE(trace.sends.empty());  // 2xx retransmission is the TU's job
  EXPECT_EQ(trace.terminated_at, 32000ms);
}

// ---- Server non-INVITE ----

TEST_F(TransactionTest, ServerNonInviteDiscardsRetransmissionsWhileTrying) {
  auto options = request("OPTIONS");
  auto machine = make_server_non_invite(options, false, timers_);
  EXPECT_TRUE(machine->start(clock_.now()).send.empty());
  EXPECT_EQ(machine->state(), TransactionState::kTrying);
  EXPECT_TRUE(machine->on_request(options, clock_.now()).send.empty());
}

TEST_F(TransactionTest, ServerNonInviteRepeatsLastResponseAndLingersForTimerJ) {
  auto bye = request("BYE");
  auto machine = make_server_non_invite(bye, false, timers_);
  (void)machine->start(clock_.now());
  ASSERT_TRUE(machine->respond(response_to(bye, 100), clock_.now()));
  EXPECT_EQ(machine->state(), TransactionState::kProceeding);
  EXPECT_EQ(machine->on_request(bye, clock_.now()).send.at(0).status(), 100);
  ASSERT_TRUE(machine->respond(response_to(bye, 200), clock_.now()));
  EXPECT_EQ(machine->state(), TransactionState::kCompleted);
  EXPECT_EQ(machine->on_request(bye, clock_.now()).send.at(0).status(), 200);
  auto second = machine->respond(response_to(bye, 500), clock_.now());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.status().code(), "response_not_allowed");
  auto trace = drive(*machine, clock_, start_, 40s);
  EXPECT_TRUE(trace.sends.empty());
  EXPECT_EQ(trace.terminated_at, 32000ms);  // Timer J = 64*T1
}

TEST_F(TransactionTest, ServerNonInviteOverReliableTransportTerminatesOnFinal) {
  auto bye = request("BYE");
  auto machine = make_server_non_invite(bye, true, timers_);
  (void)machine->start(clock_.now());
  ASSERT_TRUE(machine->respond(response_to(bye, 200), clock_.now()));
  EXPECT_TRUE(machine->terminated());  // Timer J = 0
}

TEST_F(TransactionTest, ServerRejectsARequestAsResponse) {
  auto bye = request("BYE");
  auto machine = make_server_non_invite(bye, false, timers_);
  EXPECT_FALSE(machine->respond(request("BYE"), clock_.now()));
}

}  // namespace
}  // namespace vontres::telephony::ua
