// Interop with SIPp (Debian sip-tester): SIPp's built-in UAC calls a small UAS built on
// SipStack (over UDP and TCP), and SipStack calls SIPp's built-in UAS.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <iostream>
#include <string>

#include "sip_ua/stack_fixture.h"
#include "support/subprocess.h"
#include "telephony/ua/dialog.h"
#include "telephony/ua/sip_stack.h"

namespace vontres::telephony::ua {
namespace {

using namespace std::chrono_literals;
using testing::IoThread;
using testing::loopback_config;
using testing::wait_for;

constexpr char kSdp[] =
    "v=0\r\no=vontres 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

// Answers INVITE with 200 (retransmitted until ACK), BYE with 200.
SipStackHandlers answering_uas(SipStack*& stack, std::atomic<int>& acks, std::atomic<int>& byes) {
  SipStackHandlers handlers;
  handlers.on_request = [&stack, &byes](const ServerTransactionHandle& tx) {
    if (tx.request().method() == "INVITE") {
      auto ok = make_response(tx.request(), 200, {}, tx.local_tag());
      ok.add_header("Contact", stack->contact(tx.source().transport, "vontres"));
      ok.set_body(kSdp, "application/sdp");
      tx.respond_reliably(std::move(ok));
      return true;
    }
    if (tx.request().method() == "BYE") {
      ++byes;
      tx.respond(200);
      return true;
    }
    return false;
  };
  handlers.on_ack = [&acks](const sip::Message&, const Peer&) { ++acks; };
  return handlers;
}

void sipp_calls_stack(TransportKind transport) {
  IoThread io;
  std::atomic<int> acks{0};
  std::atomic<int> byes{0};
  SipStack* stack = nullptr;
  stack = &io.make_stack(loopback_config(), answering_uas(stack, acks, byes));
  const uint16_t sipp_port = testing::free_udp_and_tcp_port();
  std::vector<std::string> argv = {
      "sipp",     "-sn",       "uac", "127.0.0.1:" + std::to_string(stack->port(transport)),
      "-i",       "127.0.0.1", "-p",  std::to_string(sipp_port),
      "-m",       "20",        "-r",  "20",
      "-nostdin", "-timeout",  "30s", "-timeout_error"};
  if (transport == TransportKind::kTcp) {
    argv.emplace_back("-t");
    argv.emplace_back("t1");
  }
  auto sipp = vontres::testing::Subprocess::start(argv);
  auto exit_code = sipp.wait(60s);
  ASSERT_TRUE(exit_code.has_value()) << "sipp did not finish";
  EXPECT_EQ(*exit_code, 0) << sipp.stdout_text().substr(0, 4000) << sipp.stderr_text().substr(0, 4000);
  EXPECT_EQ(byes.load(), 20);
  EXPECT_GE(acks.load(), 20);
}

TEST(SippInteropTest, SippUacCallsStackOverUdp) { sipp_calls_stack(TransportKind::kUdp); }

TEST(SippInteropTest, SippUacCallsStackOverTcp) { sipp_calls_stack(TransportKind::kTcp); }

void stack_calls_sipp(TransportKind transport) {
  const uint16_t sipp_port = testing::free_udp_and_tcp_port();
  std::vector<std::string> argv = {
      "sipp", "-sn",      "uas",      "-i",  "127.0.0.1",     "-p", std::to_string(sipp_port), "-m",
      "1",    "-nostdin", "-timeout", "30s", "-timeout_error"};
  if (transport == TransportKind::kTcp) {
    argv.emplace_back("-t");
    argv.emplace_back("t1");
  }
  auto sipp = vontres::testing::Subprocess::start(argv);
  IoThread io;
  SipStack& stack = io.make_stack(loopback_config());
  const std::string target =
      "sip:service@127.0.0.1:" + std::to_string(sipp_port) + (transport == TransportKind::kTcp ? ";transport=tcp" : "");
  auto destination = destination_for_uri(target);
  ASSERT_TRUE(destination);

  // SIPp may need a moment to bind; INVITE retransmissions (UDP) cover that, TCP is retried.
  std::optional<sip::Message> ok;
  sip::Message invite;
  for (int attempt = 0; attempt < 20 && !ok; ++attempt) {
    invite = stack.new_request("INVITE", target, "sip:vontres@127.0.0.1", "sip:service@127.0.0.1", transport);
    invite.set_body(kSdp, "application/sdp");
    std::promise<sip::Message> final_response;
    ASSERT_TRUE(stack.send_request(invite, *destination, [&](const sip::Message& response) {
      if (response.status() >= 200) final_response.set_value(response);
    }));
    auto future = final_response.get_future();
    auto response = wait_for(future, 40s);
    ASSERT_TRUE(response);
    if (response->status() == 200) ok = response;
    if (response->status() != 503) break;
    std::this_thread::sleep_for(100ms);  // connection refused: SIPp is not listening yet
  }
  ASSERT_TRUE(ok);
  auto dialog = Dialog::from_uac(invite, *ok);
  ASSERT_TRUE(dialog) << dialog.status().to_string();
  auto next_hop = destination_for_uri(dialog->next_hop());
  ASSERT_TRUE(next_hop) << next_hop.status().to_string() << " " << dialog->next_hop();
  ASSERT_TRUE(stack.send_ack(dialog->make_request("ACK"), *next_hop).is_ok());
  std::promise<int> bye_status;
  ASSERT_TRUE(stack.send_request(dialog->make_request("BYE"), *next_hop, [&](const sip::Message& response) {
    if (response.status() >= 200) bye_status.set_value(response.status());
  }));
  auto bye_future = bye_status.get_future();
  EXPECT_EQ(wait_for(bye_future, 40s), std::optional<int>(200));
  auto exit_code = sipp.wait(60s);
  ASSERT_TRUE(exit_code.has_value()) << "sipp did not finish";
  EXPECT_EQ(*exit_code, 0) << sipp.stdout_text().substr(0, 4000) << sipp.stderr_text().substr(0, 4000);
}

TEST(SippInteropTest, StackCallsSippUasOverUdp) { stack_calls_sipp(TransportKind::kUdp); }

TEST(SippInteropTest, StackCallsSippUasOverTcp) { stack_calls_sipp(TransportKind::kTcp); }

}  // namespace
}  // namespace vontres::telephony::ua

namespace vontres::telephony::ua {
namespace {

// Load measurement, not a test (disabled by default): SIPp's UAC places
// VONTRES_SIPP_CALLS calls (default 5000) at VONTRES_SIPP_RATE calls/s (default 500) against
// the stack; prints the stack's CPU time per call. Run with --gtest_also_run_disabled_tests.
TEST(SippLoad, DISABLED_CpuPerCallUnderSippUac) {
  auto env = [](const char* name, int fallback) {
    const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
    return value ? std::atoi(value) : fallback;
  };
  const int calls = env("VONTRES_SIPP_CALLS", 5000);
  const int rate = env("VONTRES_SIPP_RATE", 500);
  IoThread io;
  std::atomic<int> acks{0};
  std::atomic<int> byes{0};
  SipStack* stack = nullptr;
  stack = &io.make_stack(loopback_config(), answering_uas(stack, acks, byes));
  const uint16_t sipp_port = testing::free_udp_and_tcp_port();
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  auto start = std::chrono::steady_clock::now();
  auto sipp = vontres::testing::Subprocess::start(
      {"sipp", "-sn", "uac", "127.0.0.1:" + std::to_string(stack->port(TransportKind::kUdp)), "-i", "127.0.0.1", "-p",
       std::to_string(sipp_port), "-m", std::to_string(calls), "-r", std::to_string(rate), "-l", "1000", "-nostdin",
       "-timeout", "120s", "-timeout_error"});
  auto exit_code = sipp.wait(180s);
  auto wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  auto cpu_seconds = [](const rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  const double cpu = cpu_seconds(after) - cpu_seconds(before);
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 0);
  std::cout << "calls=" << calls << " rate=" << rate << "/s wall=" << wall << " s stack_cpu=" << cpu
            << " s cpu_per_call=" << (cpu / calls * 1e6) << " us byes=" << byes.load() << "\n";
}

}  // namespace
}  // namespace vontres::telephony::ua
