// received/rport stamping (RFC 3261 18.2.1, RFC 3581), response routing (18.2.2), error
// responses for malformed requests, and the 2xx retransmission schedule (13.3.1.4).
#include "telephony/ua/transport_rules.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "sip_ua/test_messages.h"
#include "telephony/ua/reliable_response.h"

namespace vontres::telephony::ua {
namespace {

using namespace std::chrono_literals;
using testing::request;

TEST(TransportRulesTest, StampsReceivedWhenSourceDiffers) {
  auto message = request("OPTIONS", "z9hG4bK1", 1, "10.0.0.1:5060");
  stamp_received(message, Peer{TransportKind::kUdp, "192.0.2.5", 5060, 0});
  auto via = sip::parse_via(*message.header("Via"));
  ASSERT_TRUE(via);
  EXPECT_EQ(via->param("received"), "192.0.2.5");
  EXPECT_FALSE(via->param("rport"));
}

TEST(TransportRulesTest, LeavesViaAloneWhenSourceMatchesAndNoRport) {
  auto message = request("OPTIONS", "z9hG4bK1", 1, "10.0.0.1:5060");
  auto before = std::string(*message.header("Via"));
  stamp_received(message, Peer{TransportKind::kUdp, "10.0.0.1", 5060, 0});
  EXPECT_EQ(*message.header("Via"), before);
}

TEST(TransportRulesTest, FillsRportAndReceived) {
  auto message = request("OPTIONS", "z9hG4bK1;rport", 1, "10.0.0.1:5060");
  message.add_header("Via", "SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKsecond");
  stamp_received(message, Peer{TransportKind::kUdp, "10.0.0.1", 40000, 0});
  auto vias = message.headers_named("Via");
  ASSERT_EQ(vias.size(), 2u);
  auto via = sip::parse_via(vias[0]);
  ASSERT_TRUE(via);
  EXPECT_EQ(via->param("rport"), "40000");
  EXPECT_EQ(via->param("received"), "10.0.0.1");
  EXPECT_EQ(vias[1], "SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKsecond");
}

TEST(TransportRulesTest, ResponseGoesToReceivedAndRport) {
  auto message = request("OPTIONS", "z9hG4bK1;rport", 1, "10.0.0.1:5060");
  Peer source{TransportKind::kUdp, "192.0.2.5", 40000, 0};
  stamp_received(message, source);
  auto response = make_response(message, 200);
  EXPECT_EQ(response_peer(response, source), (Peer{TransportKind::kUdp, "192.0.2.5", 40000, 0}));
}

TEST(TransportRulesTest, ResponseWithoutRportGoesToSentByPort) {
  auto message = request("OPTIONS", "z9hG4bK1", 1, "10.0.0.1:5080");
  Peer source{TransportKind::kUdp, "192.0.2.5", 40000, 0};
  stamp_received(message, source);
  EXPECT_EQ(response_peer(make_response(message, 200), source), (Peer{TransportKind::kUdp, "192.0.2.5", 5080, 0}));
  auto default_port = request("OPTIONS", "z9hG4bK1", 1, "10.0.0.1");
  EXPECT_EQ(response_peer(make_response(default_port, 200), Peer{TransportKind::kUdp, "10.0.0.1", 1234, 0}).port, 5060);
}

TEST(TransportRulesTest, ResponseOverStreamUsesTheConnectionThenSentByPort) {
  auto message = request("OPTIONS", "z9hG4bK1;rport", 1, "10.0.0.1:5070");
  Peer source{TransportKind::kTcp, "192.0.2.5", 40000, 12};
  stamp_received(message, source);
  // connection 12 while open; otherwise a new connection to received:5070 (18.2.2).
  EXPECT_EQ(response_peer(make_response(message, 200), source), (Peer{TransportKind::kTcp, "192.0.2.5", 5070, 12}));
}

TEST(TransportRulesTest, ErrorResponseForRecoverableRequest) {
  std::string raw =
      "INVITE sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\r\nv: SIP/2.0/UDP "
      "10.0.0.3;branch=z9hG4bKy\r\nf: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\ni: abc\r\nCSeq: 1 INVITE\r\n"
      "Content-Length: banana\r\n\r\n";
  sip::ParseError error{400, "Bad Request", "bad Content-Length", {}};
  auto response = error_response_for(raw, error);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status(), 400);
  EXPECT_EQ(response->headers_named("Via").size(), 2u);
  EXPECT_EQ(response->header("Call-ID"), "abc");
  EXPECT_EQ(response->header("CSeq"), "1 INVITE");
  EXPECT_EQ(response->header("From"), "<sip:a@h>;tag=1");
}

TEST(TransportRulesTest, NoErrorResponseForGarbageAckOrResponses) {
  sip::ParseError error{400, "Bad Request", "", {}};
  EXPECT_FALSE(error_response_for("\x01\x02garbage", error));
  EXPECT_FALSE(error_response_for("ACK sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n", error));
  EXPECT_FALSE(error_response_for("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n", error));
  EXPECT_FALSE(error_response_for("OPTIONS sip:b@h SIP/2.0\r\nTo: x\r\n\r\n", error));  // no Via
  sip::ParseError silent{0, "", "", {}};
  EXPECT_FALSE(error_response_for("OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n", silent));
}

TEST(TransportRulesTest, KeepAliveIsOnlyCrlf) {
  EXPECT_TRUE(is_keepalive("\r\n\r\n"));
  EXPECT_TRUE(is_keepalive("\r\n"));
  EXPECT_FALSE(is_keepalive(""));
  EXPECT_FALSE(is_keepalive("\r\nX"));
}

TEST(MakeResponseTest, DialogCreatingResponsesToInviteCarryTheRecordRouteSet) {
  auto invite = request("INVITE");
  invite.add_header("Record-Route", "<sip:edge.example;lr>");
  invite.add_header("Record-Route", "<sip:10.0.0.9;lr>");
  for (int status : {180, 200}) {
    auto response = make_response(invite, status, {}, "t");
    auto routes = response.headers_named("Record-Route");
    ASSERT_EQ(routes.size(), 2u) << status;
    EXPECT_EQ(routes[0], "<sip:edge.example;lr>");
    EXPECT_EQ(routes[1], "<sip:10.0.0.9;lr>");
  }
  EXPECT_TRUE(make_response(invite, 100).headers_named("Record-Route").empty());
  EXPECT_TRUE(make_response(invite, 486, {}, "t").headers_named("Record-Route").empty());
  auto options = request("OPTIONS");
  options.add_header("Record-Route", "<sip:edge.example;lr>");
  EXPECT_TRUE(make_response(options, 200).headers_named("Record-Route").empty());
}

TEST(ReliableResponsesTest, RetransmitsUntilAckDoublingToT2) {
  ManualClock clock;
  const TimePoint start = clock.now();
  ReliableResponses responses{TimerConfig{}};
  auto invite = request("INVITE", "z9hG4bKinv", 7);
  responses.add(make_response(invite, 200, {}, "t"), Peer{TransportKind::kUdp, "10.0.0.1", 5060, 0}, clock.now());
  std::vector<std::chrono::milliseconds> sends;
  while (auto deadline = responses.next_deadline()) {
    if (*deadline - start > 9s) break;
    clock.set(*deadline);
    auto due = responses.on_timer(clock.now());
    for (size_t i = 0; i < due.resend.size(); ++i) {
      sends.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start));
    }
  }
  EXPECT_EQ(sends, (std::vector<std::chrono::milliseconds>{500ms, 1500ms, 3500ms, 7500ms}));
  auto ack = request("ACK", "z9hG4bKack", 7);
  EXPECT_TRUE(responses.acknowledge(ack));
  EXPECT_EQ(responses.size(), 0u);
  EXPECT_FALSE(responses.acknowledge(ack));
}

TEST(ReliableResponsesTest, GivesUpAfter64T1AndNeverResendsOverTcp) {
  ManualClock clock;
  ReliableResponses responses{TimerConfig{}};
  auto invite = request("INVITE", "z9hG4bKinv", 7);
  responses.add(make_response(invite, 200, {}, "t"), Peer{TransportKind::kTcp, "10.0.0.1", 5060, 3}, clock.now());
  EXPECT_EQ(responses.next_deadline(), clock.now() + 32s);
  clock.advance(32s);
  auto due = responses.on_timer(clock.now());
  EXPECT_TRUE(due.resend.empty());
  ASSERT_EQ(due.expired.size(), 1u);
  EXPECT_EQ(due.expired[0], "call-1@10.0.0.1|7");
}

}  // namespace
}  // namespace vontres::telephony::ua
