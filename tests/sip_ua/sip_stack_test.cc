// SipStack over real sockets on 127.0.0.1: built-in answers, malformed input and a garbage flood,
// stack-to-stack calls over UDP, TCP and TLS, CANCEL, timeouts and transport failures.
#include "telephony/ua/sip_stack.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <iostream>
#include <mutex>
#include <random>

#include "sip_ua/stack_fixture.h"
#include "support/subprocess.h"
#include "telephony/ua/dialog.h"

namespace vontres::telephony::ua {
namespace {

using namespace std::chrono_literals;
using testing::IoThread;
using testing::loopback_config;
using testing::options_request;
using testing::RawUdp;
using testing::wait_for;

sip::Message parse(const std::optional<std::string>& raw) {
  EXPECT_TRUE(raw.has_value());
  if (!raw) return {};
  auto parsed = sip::parse_message(*raw);
  EXPECT_TRUE(parsed) << (parsed.error ? parsed.error->detail : "") << "\n" << *raw;
  return parsed ? *parsed.message : sip::Message{};
}

TEST(SipStackTest, AnswersOptionsOverUdpWithAllowAndRport) {
  IoThread io;
  SipStack& stack = io.make_stack(loopback_config());
  RawUdp client;
  client.send_to(stack.port(TransportKind::kUdp), options_request(client.port(), "z9hG4bKopt1"));
  auto response = parse(client.receive());
  EXPECT_EQ(response.status(), 200);
  EXPECT_TRUE(response.header("Allow").value_or("").find("INVITE") != std::string_view::npos);
  EXPECT_EQ(response.header("Accept"), "application/sdp");
  EXPECT_TRUE(response.has_header("Supported"));
  auto via = sip::parse_via(*response.header("Via"));
  ASSERT_TRUE(via);
  EXPECT_EQ(via->param("rport"), std::to_string(client.port()));
  EXPECT_FALSE(tag_of(response.header("To").value_or("")).empty());
}

TEST(SipStackTest, AnswersUnknownMethod501AndUnknownDialog481) {
  IoThread io;
  SipStack& stack = io.make_stack(loopback_config());
  RawUdp client;
  std::string unknown = options_request(client.port(), "z9hG4bKfoo");
  unknown.replace(0, 7, "FOOBAR");
  unknown.replace(unknown.find("1 OPTIONS"), 9, "1 FOOBAR");
  client.send_to(stack.port(TransportKind::kUdp), unknown);
  auto response = parse(client.receive());
  EXPECT_EQ(response.status(), 501);
  EXPECT_TRUE(response.has_header("Allow"));

  std::string bye = options_request(client.port(), "z9hG4bKbye");
  bye.replace(0, 7, "BYE");
  bye.replace(bye.find("1 OPTIONS"), 9, "1 BYE");
  bye.replace(bye.find("To: <sip:ping@127.0.0.1>"), 24, "To: <sip:ping@127.0.0.1>;tag=gone");
  client.send_to(stack.port(TransportKind::kUdp), bye);
  EXPECT_EQ(parse(client.receive()).status(), 481);
}

TEST(SipStackTest, RequireWithUnknownExtensionGets420) {
  IoThread io;
  SipStack& stack = io.make_stack(loopback_config());
  RawUdp client;
  client.send_to(stack.port(TransportKind::kUdp), options_request(client.port(), "z9hG4bKreq", "Require: foo-ext\r\n"));
  auto response = parse(client.receive());
  EXPECT_EQ(response.status(), 420);
  EXPECT_EQ(response.header("Unsupported"), "foo-ext");
}

TEST(SipStackTest, MalformedRequestWithRecoverableViaGetsErrorResponse) {
  IoThread io;
  SipStack& stack = io.make_stack(loopback_config());
  RawUdp client;
  std::string bad = options_request(client.port(), "z9hG4bKbad");
  bad.replace(bad.find("Max-Forwards: 70"), 16, "Max-Forwards: xx");
  client.send_to(stack.port(TransportKind::kUdp), bad);
  auto response = parse(client.receive());
  EXPECT_EQ(response.status(), 400);
  EXPECT_EQ(response.header("Call-ID"), "z9hG4bKbad@127.0.0.1");
  EXPECT_EQ(stack.transport_stats().answered_malformed, 1u);
}

TEST(SipStackTest, StreamFramingErrorIsAnsweredAndTheConnectionClosed) {
  IoThread io;
  SipStack& stack = io.make_stack(loopback_config());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(stack.port(TransportKind::kTcp));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);  // NOLINT
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  // A valid OPTIONS first (answered), then one without Content-Length (mandatory on streams).
  std::string good = options_request(5060, "z9hG4bKtcp1");
  good.replace(good.find("SIP/2.0/UDP"), 11, "SIP/2.0/TCP");
  std::string bad = good;
  bad.replace(bad.find("z9hG4bKtcp1;"), 12, "z9hG4bKtcp2;");
  bad.replace(bad.find("Content-Length: 0\r\n"), 19, "");
  ASSERT_GT(::send(fd, good.data(), good.size(), 0), 0);
  ASSERT_GT(::send(fd, bad.data(), bad.size(), 0), 0);
  std::string received;
  char buffer[4096];
  for (;;) {
    auto n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;  // closed by the stack (or timeout)
    received.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  EXPECT_NE(received.find("SIP/2.0 200"), std::string::npos) << received;
  EXPECT_NE(received.find("SIP/2.0 400"), std::string::npos) << received;
}

TEST(SipStackTest, GarbageFloodNeitherCrashesNorStopsOptions) {
  IoThread io;
  SipStack& stack = io.make_stack(loopback_config());
  RawUdp attacker;
  std::mt19937 rng(4475);
  const std::string valid = options_request(attacker.port(), "z9hG4bKvalid");
  const uint16_t port = stack.port(TransportKind::kUdp);
  for (int i = 0; i < 10000; ++i) {
    std::string datagram;
    switch (i % 4) {
      case 0: {  // random bytes
        datagram.resize(1 + rng() % 1400);
        for (auto& c : datagram) c = static_cast<char>(rng());
        break;
      }
      case 1: {  // a valid request with random bytes flipped
        datagram = valid;
        for (int flips = 0; flips < 8; ++flips) datagram[rng() % datagram.size()] = static_cast<char>(rng());
        break;
      }
      case 2:  // truncated
        datagram = valid.substr(0, rng() % valid.size());
        break;
      default:  // a start line and nonsense headers
        datagram = "INVITE sip:x@y SIP/2.0\r\nVia: \r\n" + std::string(rng() % 200, ':') + "\r\n\r\n";
        break;
    }
    attacker.send_to(port, datagram);
  }
  RawUdp client(/*timeout_seconds=*/1);
  // The flood may still be queued (or the kernel may drop our probe): ask until answered.
  std::optional<sip::Message> answer;
  for (int attempt = 0; attempt < 10 && !answer; ++attempt) {
    client.send_to(port, options_request(client.port(), "z9hG4bKafterflood" + std::to_string(attempt)));
    if (auto raw = client.receive()) answer = parse(raw);
  }
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status(), 200);
  // The kernel may drop part of the flood (socket buffer); most of it must have been looked at.
  auto stats = stack.transport_stats();
  EXPECT_GT(stats.dropped_unparsable + stats.answered_malformed, 1000u);
  std::cout << "flood: dropped_unparsable=" << stats.dropped_unparsable
            << " answered_malformed=" << stats.answered_malformed << " received=" << stats.messages_received << "\n";
}

// A UAS that answers INVITE with 180 + 200 (reliably), BYE with 200, and records ACKs.
struct Callee {
  std::mutex mutex;
  std::vector<std::string> events;
  std::promise<bool> acked;
  std::promise<void> bye;
  bool ring_only = false;
  std::promise<void> cancelled;

  void record(std::string event) {
    std::lock_guard lock(mutex);
    events.push_back(std::move(event));
  }

  SipStackHandlers handlers(SipStack*& stack) {
    SipStackHandlers h;
    h.on_request = [this, &stack](const ServerTransactionHandle& tx) {
      const auto& method = tx.request().method();
      record(method);
      if (method == "INVITE") {
        tx.respond(180);
        if (ring_only) return true;
        auto ok = make_response(tx.request(), 200, {}, tx.local_tag());
        ok.add_header("Contact", stack->contact(tx.source().transport, "callee"));
        tx.respond_reliably(std::move(ok), [this](bool was_acked) { acked.set_value(was_acked); });
        return true;
      }
      if (method == "BYE") {
        tx.respond(200);
        bye.set_value();
        return true;
      }
      return false;
    };
    h.on_ack = [this](const sip::Message&, const Peer&) { record("ACK"); };
    h.on_cancel = [this](const ServerTransactionHandle&) {
      record("CANCELLED");
      cancelled.set_value();
    };
    return h;
  }
};

void call_and_hang_up(TransportKind transport, SipStackConfig callee_config, SipStackConfig caller_config) {
  IoThread io;
  Callee callee;
  SipStack* callee_stack = nullptr;
  callee_stack = &io.make_stack(std::move(callee_config), callee.handlers(callee_stack));
  SipStack& caller = io.make_stack(std::move(caller_config));

  Destination to{transport, "127.0.0.1", callee_stack->port(transport)};
  auto invite =
      caller.new_request("INVITE", "sip:callee@127.0.0.1", "sip:caller@127.0.0.1", "sip:callee@127.0.0.1", transport);
  std::promise<sip::Message> final_response;
  std::atomic<int> provisional{0};
  ASSERT_TRUE(caller.send_request(invite, to, [&](const sip::Message& response) {
    if (response.status() < 200) {
      ++provisional;
    } else {
      final_response.set_value(response);
    }
  }));
  auto future = final_response.get_future();
  auto ok = wait_for(future);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status(), 200);
  EXPECT_GE(provisional.load(), 1);

  auto dialog = Dialog::from_uac(invite, *ok);
  ASSERT_TRUE(dialog) << dialog.status().to_string();
  auto next_hop = destination_for_uri(dialog->next_hop());
  ASSERT_TRUE(next_hop) << next_hop.status().to_string();
  EXPECT_EQ(next_hop->transport, transport);
  ASSERT_TRUE(caller.send_ack(dialog->make_request("ACK"), *next_hop).is_ok());
  auto acked_future = callee.acked.get_future();
  EXPECT_EQ(wait_for(acked_future), std::optional<bool>(true));

  std::promise<int> bye_status;
  ASSERT_TRUE(caller.send_request(dialog->make_request("BYE"), *next_hop, [&](const sip::Message& response) {
    if (response.status() >= 200) bye_status.set_value(response.status());
  }));
  auto bye_future = bye_status.get_future();
  EXPECT_EQ(wait_for(bye_future), std::optional<int>(200));
  if (transport != TransportKind::kUdp) {
    // INVITE, ACK and BYE shared one connection (opened by the caller, reused both ways).
    EXPECT_EQ(callee_stack->transport_stats().connections_open, 1u);
  }
  std::lock_guard lock(callee.mutex);
  EXPECT_EQ(callee.events, (std::vector<std::string>{"INVITE", "ACK", "BYE"}));
}

TEST(SipStackTest, StackToStackCallOverUdp) {
  call_and_hang_up(TransportKind::kUdp, loopback_config(), loopback_config());
}

TEST(SipStackTest, StackToStackCallOverTcp) {
  call_and_hang_up(TransportKind::kTcp, loopback_config(), loopback_config());
}

TEST(SipStackTest, StackToStackCallOverTls) {
  vontres::testing::TempDir dir;
  const std::string cert = dir.path() + "/cert.pem";
  const std::string key = dir.path() + "/key.pem";
  auto made = vontres::testing::run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
                                     cert, "-days", "1", "-subj", "/CN=127.0.0.1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto callee = loopback_config({TransportKind::kTls});
  callee.transport.tls_certificate_file = cert;
  callee.transport.tls_private_key_file = key;
  auto caller = loopback_config({TransportKind::kUdp, TransportKind::kTls});
  caller.transport.tls_certificate_file = cert;
  caller.transport.tls_private_key_file = key;
  call_and_hang_up(TransportKind::kTls, callee, caller);
}

TEST(SipStackTest, TlsListenerWithoutCertificateIsAConfigError) {
  IoThread io;
  SipStack stack(io.io(), loopback_config({TransportKind::kTls}), SystemClock::instance());
  auto status = stack.start();
  EXPECT_EQ(status.code(), "tls_config");
}

TEST(SipStackTest, CancelGets487AndNotifiesTheCallee) {
  IoThread io;
  Callee callee;
  callee.ring_only = true;
  SipStack* callee_stack = nullptr;
  callee_stack = &io.make_stack(loopback_config(), callee.handlers(callee_stack));
  SipStack& caller = io.make_stack(loopback_config());
  Destination to{TransportKind::kUdp, "127.0.0.1", callee_stack->port(TransportKind::kUdp)};
  auto invite = caller.new_request("INVITE", "sip:callee@127.0.0.1", "sip:caller@127.0.0.1", "sip:callee@127.0.0.1");
  std::promise<int> final_status;
  auto branch = caller.send_request(invite, to, [&](const sip::Message& response) {
    if (response.status() >= 200) final_status.set_value(response.status());
  });
  ASSERT_TRUE(branch);
  caller.cancel(*branch);  // before any provisional: sent once the 100/180 arrives
  auto future = final_status.get_future();
  EXPECT_EQ(wait_for(future), std::optional<int>(487));
  auto cancelled = callee.cancelled.get_future();
  EXPECT_EQ(cancelled.wait_for(5s), std::future_status::ready);
}

TEST(SipStackTest, AnswersOverloadWith503) {
  IoThread io;
  auto config = loopback_config();
  config.max_transactions = 1;
  SipStack& stack = io.make_stack(config);
  RawUdp client;
  client.send_to(stack.port(TransportKind::kUdp), options_request(client.port(), "z9hG4bKfirst"));
  EXPECT_EQ(parse(client.receive()).status(), 200);  // its transaction lingers (Timer J)
  client.send_to(stack.port(TransportKind::kUdp), options_request(client.port(), "z9hG4bKsecond"));
  auto busy = parse(client.receive());
  EXPECT_EQ(busy.status(), 503);
  EXPECT_EQ(busy.header("Retry-After"), "5");
}

TEST(SipStackTest, UnansweredRequestTimesOutWith408) {
  IoThread io;
  auto config = loopback_config();
  config.timers.t1 = 10ms;  // Timer F = 640 ms
  SipStack& caller = io.make_stack(config);
  RawUdp silent;  // receives, never answers
  auto request = caller.new_request("OPTIONS", "sip:x@127.0.0.1", "sip:caller@127.0.0.1", "sip:x@127.0.0.1");
  std::promise<int> status;
  ASSERT_TRUE(caller.send_request(request, Destination{TransportKind::kUdp, "127.0.0.1", silent.port()},
                                  [&](const sip::Message& response) { status.set_value(response.status()); }));
  auto future = status.get_future();
  EXPECT_EQ(wait_for(future), std::optional<int>(408));
  // The request was retransmitted (Timer E) before the timeout.
  int received = 0;
  while (silent.receive()) {
    if (++received >= 3) break;
  }
  EXPECT_GE(received, 3);
}

TEST(SipStackTest, TcpConnectFailureIsReportedAs503) {
  IoThread io;
  SipStack& caller = io.make_stack(loopback_config());
  const uint16_t closed = testing::free_udp_and_tcp_port();
  auto request = caller.new_request("OPTIONS", "sip:x@127.0.0.1", "sip:caller@127.0.0.1", "sip:x@127.0.0.1");
  std::promise<int> status;
  ASSERT_TRUE(caller.send_request(request, Destination{TransportKind::kTcp, "127.0.0.1", closed},
                                  [&](const sip::Message& response) { status.set_value(response.status()); }));
  auto future = status.get_future();
  EXPECT_EQ(wait_for(future), std::optional<int>(503));
}

TEST(SipStackTest, RejectsRequestsMissingMandatoryHeadersOrDestinations) {
  IoThread io;
  SipStack& caller = io.make_stack(loopback_config());
  auto bare = sip::Message::request("OPTIONS", "sip:x@127.0.0.1");
  EXPECT_EQ(caller.send_request(bare, Destination{TransportKind::kUdp, "127.0.0.1", 5060}, {}).status().code(),
            "bad_request");
  auto request = caller.new_request("OPTIONS", "sip:x@127.0.0.1", "sip:a@127.0.0.1", "sip:x@127.0.0.1");
  EXPECT_EQ(caller.send_request(request, Destination{TransportKind::kUdp, "pbx.example", 5060}, {}).status().code(),
            "unresolvable_destination");
}

TEST(DestinationTest, FromSipUris) {
  auto udp = destination_for_uri("sip:bob@127.0.0.1");
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->transport, TransportKind::kUdp);
  EXPECT_EQ(udp->port, 5060);
  auto tcp = destination_for_uri("sip:bob@127.0.0.1:5070;transport=TCP");
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->transport, TransportKind::kTcp);
  EXPECT_EQ(tcp->port, 5070);
  auto tls = destination_for_uri("sips:bob@[::1]");
  ASSERT_TRUE(tls);
  EXPECT_EQ(tls->transport, TransportKind::kTls);
  EXPECT_EQ(tls->host, "::1");
  EXPECT_EQ(tls->port, 5061);
  EXPECT_TRUE(destination_for_uri("sip:localhost"));
  EXPECT_EQ(destination_for_uri("sip:bob@pbx.example").status().code(), "unresolvable_uri");
  EXPECT_EQ(destination_for_uri("tel:+15551234").status().code(), "unresolvable_uri");
}

}  // namespace
}  // namespace vontres::telephony::ua
