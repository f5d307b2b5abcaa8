// Matching (RFC 3261 17.1.3 / 17.2.3, RFC 2543 fallback), CANCEL lookup, deadlines and TU
// callbacks of the TransactionLayer, with a recording TransactionUser and a ManualClock.
#include "telephony/ua/transaction_layer.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "sip_ua/test_messages.h"

namespace vontres::telephony::ua {
namespace {

using namespace std::chrono_literals;
using testing::request;
using testing::response_to;
using testing::udp_peer;

struct RecordingUser : TransactionUser {
  struct Sent {
    TransactionId id;
    sip::Message message;
    Peer peer;
  };
  std::vector<Sent> sent;
  std::vector<std::pair<TransactionId, int>> responses;
  std::vector<std::pair<TransactionId, bool>> client_failures;
  std::vector<std::pair<TransactionId, bool>> server_failures;
  std::vector<std::pair<TransactionId, sip::Message>> requests;
  std::vector<sip::Message> strays;
  std::vector<TransactionId> terminated;
  std::function<void(TransactionId, const sip::Message&)> on_request_hook;

  void send(TransactionId id, const sip::Message& message, const Peer& peer) override {
    sent.push_back({id, message, peer});
  }
  void on_response(TransactionId id, const sip::Message& response) override {
    responses.emplace_back(id, response.status());
  }
  void on_client_failure(TransactionId id, bool timed_out) override { client_failures.emplace_back(id, timed_out); }
  void on_request(TransactionId id, const sip::Message& request, const Peer&) override {
    requests.emplace_back(id, request);
    if (on_request_hook) on_request_hook(id, request);
  }
  void on_server_failure(TransactionId id, bool timed_out) override { server_failures.emplace_back(id, timed_out); }
  void on_stray(const sip::Message& message, const Peer&) override { strays.push_back(message); }
  void on_terminated(TransactionId id) override { terminated.push_back(id); }
};

class TransactionLayerTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  RecordingUser user_;
  TransactionLayer layer_{clock_, TimerConfig{}, user_};
};

TEST_F(TransactionLayerTest, ClientResponseMatchesByBranchAndMethod) {
  auto invite = request("INVITE", "z9hG4bKinv");
  auto id = layer_.send_request(invite, udp_peer());
  ASSERT_TRUE(id);
  ASSERT_EQ(user_.sent.size(), 1u);
  EXPECT_EQ(user_.sent[0].peer, udp_peer());

  layer_.receive(response_to(invite, 180), udp_peer());
  ASSERT_EQ(user_.responses.size(), 1u);
  EXPECT_EQ(user_.responses[0], std::make_pair(*id, 180));

  // Same branch, other CSeq method: not this transaction (17.1.3).
  auto other = response_to(request("CANCEL", "z9hG4bKinv"), 200);
  layer_.receive(other, udp_peer());
  EXPECT_EQ(user_.responses.size(), 1u);
  EXPECT_EQ(user_.strays.size(), 1u);

  // Other branch: stray.
  layer_.receive(response_to(request("INVITE", "z9hG4bKother"), 200), udp_peer());
  EXPECT_EQ(user_.strays.size(), 2u);
}

TEST_F(TransactionLayerTest, RejectsRequestsWithoutMagicCookieBranchOrDuplicates) {
  auto bad = request("OPTIONS", "1234");
  auto result = layer_.send_request(bad, udp_peer());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), "missing_branch");
  ASSERT_TRUE(layer_.send_request(request("OPTIONS"), udp_peer()));
  auto duplicate = layer_.send_request(request("OPTIONS"), udp_peer());
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.status().code(), "duplicate_transaction");
  EXPECT_FALSE(layer_.send_request(request("ACK"), udp_peer()));
}

TEST_F(TransactionLayerTest, TimeoutIsReportedOnceAndTheTransactionRemoved) {
  auto id = layer_.send_request(request("OPTIONS"), udp_peer());
  ASSERT_TRUE(id);
  EXPECT_EQ(layer_.next_deadline(), clock_.now() + 500ms);
  for (int i = 0; i < 100 && layer_.next_deadline(); ++i) {
    clock_.set(*layer_.next_deadline());
    layer_.on_timer();
  }
  ASSERT_EQ(user_.client_failures.size(), 1u);
  EXPECT_EQ(user_.client_failures[0], std::make_pair(*id, true));
  EXPECT_EQ(user_.sent.size(), 11u);  // the request + 10 retransmissions
  EXPECT_EQ(layer_.size(), 0u);
  EXPECT_EQ(user_.terminated, std::vector<TransactionId>{*id});
}

TEST_F(TransactionLayerTest, NewRequestCreatesServerTransactionAndRetransmissionIsAbsorbed) {
  auto invite = request("INVITE");
  layer_.receive(invite, udp_peer());
  ASSERT_EQ(user_.requests.size(), 1u);
  ASSERT_EQ(user_.sent.size(), 1u);
  EXPECT_EQ(user_.sent[0].message.status(), 100);
  layer_.receive(invite, udp_peer());
  EXPECT_EQ(user_.requests.size(), 1u);  // not passed up again
  EXPECT_EQ(user_.sent.size(), 2u);      // 100 Trying replayed
  EXPECT_EQ(layer_.size(), 1u);
}

TEST_F(TransactionLayerTest, ServerMatchingUsesSentByAndMethod) {
  layer_.receive(request("OPTIONS", "z9hG4bKsame", 1, "10.0.0.1:5060"), udp_peer());
  layer_.receive(request("OPTIONS", "z9hG4bKsame", 1, "10.0.0.9:5060"), udp_peer());  // other sent-by
  layer_.receive(request("INFO", "z9hG4bKsame", 1, "10.0.0.1:5060"), udp_peer());     // other method
  EXPECT_EQ(user_.requests.size(), 3u);
  // "host" and "host:5060" are the same sent-by.
  layer_.receive(request("OPTIONS", "z9hG4bKsame", 1, "10.0.0.1"), udp_peer());
  EXPECT_EQ(user_.requests.size(), 3u);
}

TEST_F(TransactionLayerTest, AckForNonSuccessFinalMatchesTheInviteTransaction) {
  auto invite = request("INVITE", "z9hG4bKinv");
  TransactionId id = 0;
  user_.on_request_hook = [&](TransactionId server, const sip::Message&) { id = server; };
  layer_.receive(invite, udp_peer());
  ASSERT_TRUE(layer_.respond(id, response_to(invite, 486)).is_ok());
  layer_.receive(request("ACK", "z9hG4bKinv"), udp_peer());
  EXPECT_TRUE(user_.strays.empty());
  ASSERT_NE(layer_.server(id), nullptr);
  EXPECT_EQ(layer_.server(id)->state(), TransactionState::kConfirmed);
}

TEST_F(TransactionLayerTest, AckForSuccessHasNewBranchAndGoesToTheCore) {
  auto invite = request("INVITE", "z9hG4bKinv");
  TransactionId id = 0;
  user_.on_request_hook = [&](TransactionId server, const sip::Message&) { id = server; };
  layer_.receive(invite, udp_peer());
  ASSERT_TRUE(layer_.respond(id, response_to(invite, 200)).is_ok());
  layer_.receive(request("ACK", "z9hG4bKack"), udp_peer());
  ASSERT_EQ(user_.strays.size(), 1u);
  EXPECT_EQ(user_.strays[0].method(), "ACK");
}

TEST_F(TransactionLayerTest, Rfc2543RequestsMatchWithoutMagicCookie) {
  auto invite = request("INVITE", "oldstyle-branch");
  invite.remove_header("Via");
  invite.add_header("Via", "SIP/2.0/UDP 10.0.0.1:5060");
  TransactionId id = 0;
  user_.on_request_hook = [&](TransactionId server, const sip::Message&) { id = server; };
  layer_.receive(invite, udp_peer());
  layer_.receive(invite, udp_peer());
  EXPECT_EQ(user_.requests.size(), 1u);
  ASSERT_TRUE(layer_.respond(id, response_to(invite, 404)).is_ok());
  auto ack = request("ACK");
  ack.remove_header("Via");
  ack.add_header("Via", "SIP/2.0/UDP 10.0.0.1:5060");
  ack.set_header("To", "<sip:bob@10.0.0.2>;tag=to1");
  layer_.receive(ack, udp_peer());
  EXPECT_TRUE(user_.strays.empty());
  EXPECT_EQ(layer_.server(id)->state(), TransactionState::kConfirmed);
}

TEST_F(TransactionLayerTest, CancelFindsItsInviteButIsItsOwnTransaction) {
  layer_.receive(request("INVITE", "z9hG4bKinv"), udp_peer());
  auto cancel = request("CANCEL", "z9hG4bKinv");
  layer_.receive(cancel, udp_peer());
  ASSERT_EQ(user_.requests.size(), 2u);
  EXPECT_EQ(user_.requests[1].second.method(), "CANCEL");
  auto invite_id = layer_.find_invite_for_cancel(cancel);
  ASSERT_TRUE(invite_id);
  EXPECT_EQ(*invite_id, user_.requests[0].first);
  EXPECT_FALSE(layer_.find_invite_for_cancel(request("CANCEL", "z9hG4bKnone")));
}

TEST_F(TransactionLayerTest, TuMayRespondFromInsideOnRequest) {
  user_.on_request_hook = [&](TransactionId id, const sip::Message& req) {
    ASSERT_TRUE(layer_.respond(id, response_to(req, 200)).is_ok());
  };
  layer_.receive(request("OPTIONS"), testing::tcp_peer());
  ASSERT_EQ(user_.sent.size(), 1u);
  EXPECT_EQ(user_.sent[0].message.status(), 200);
  EXPECT_EQ(user_.sent[0].peer.connection, 7u);
  EXPECT_EQ(layer_.size(), 0u);  // reliable: Timer J = 0
}

TEST_F(TransactionLayerTest, RespondToUnknownTransactionFails) {
  auto status = layer_.respond(42, sip::Message::response(200, "OK"));
  EXPECT_EQ(status.code(), "transaction_not_found");
}

TEST_F(TransactionLayerTest, NextDeadlineIsTheEarliestOfAllTransactions) {
  ASSERT_TRUE(layer_.send_request(request("OPTIONS", "z9hG4bK1"), udp_peer()));  // E at +500
  clock_.advance(100ms);
  ASSERT_TRUE(layer_.send_request(request("INVITE", "z9hG4bK2"), testing::tcp_peer()));  // B at +32.1 s
  auto start = clock_.now() - 100ms;
  EXPECT_EQ(layer_.next_deadline(), start + 500ms);
  clock_.set(start + 500ms);
  layer_.on_timer();
  EXPECT_EQ(layer_.next_deadline(), start + 1500ms);
}

TEST_F(TransactionLayerTest, ServerTimerHReportsFailure) {
  auto invite = request("INVITE");
  TransactionId id = 0;
  user_.on_request_hook = [&](TransactionId server, const sip::Message&) { id = server; };
  layer_.receive(invite, udp_peer());
  ASSERT_TRUE(layer_.respond(id, response_to(invite, 486)).is_ok());
  clock_.advance(32s);
  layer_.on_timer();
  ASSERT_EQ(user_.server_failures.size(), 1u);
  EXPECT_EQ(user_.server_failures[0], std::make_pair(id, true));
}

TEST_F(TransactionLayerTest, TransportErrorFailsClientTransaction) {
  auto id = layer_.send_request(request("INVITE"), udp_peer());
  ASSERT_TRUE(id);
  layer_.on_transport_error(*id);
  ASSERT_EQ(user_.client_failures.size(), 1u);
  EXPECT_EQ(user_.client_failures[0], std::make_pair(*id, false));
  EXPECT_EQ(layer_.size(), 0u);
}

TEST(TransactionKeysTest, ServerKeyTreatsAckAsInviteAndIgnoresHostCase) {
  auto a = request("INVITE", "z9hG4bKx", 1, "Host.Example:5060");
  auto b = request("ACK", "z9hG4bKx", 1, "host.example");
  EXPECT_EQ(server_key(a), server_key(b));
  EXPECT_NE(server_key(a), server_key(request("CANCEL", "z9hG4bKx", 1, "host.example")));
  EXPECT_EQ(server_key(a), server_key(request("CANCEL", "z9hG4bKx", 1, "host.example"), "INVITE"));
  EXPECT_EQ(client_key(a), "z9hG4bKx|INVITE");
}

}  // namespace
}  // namespace vontres::telephony::ua
