// A call exists in the Store from its first second, and a node killed with SIGKILL leaves no call
// unaccounted for: `vontres serve` (embedded backends) answers SIPp calls, is killed with -9 while
// they wait in a queue, and restarted on the same data directory; every call it held then has a
// record that ended with `node_lost` (exactly one record per call SIPp placed, none twice), its
// call.ended was published, and a second restart changes nothing.
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/node.h"
#include "support/peers.h"
#include "support/subprocess.h"

namespace vontres {
namespace {

using nlohmann::json;
using testing::HttpReply;
using testing::Node;
using testing::Subprocess;
using namespace std::chrono_literals;

const std::string kScenarios = std::string(VONTRES_SOURCE_DIR) + "/tests/telephony/scenarios";
constexpr int kCalls = 10;

json history(const Node& node) {
  HttpReply r = node.request("GET", "/api/v1/calls/history?limit=500", nullptr, node.token(0));
  EXPECT_EQ(r.status, 200) << r.raw;
  return r.body.value("calls", json::array());
}

TEST(NodeLostTest, AKilledNodesCallsEndNodeLostAfterItsRestart) {
  ASSERT_TRUE(testing::have_program("sipp")) << "SIPp (Debian sip-tester) is not installed";
  Node::Options options;
  options.binary = VONTRES_BINARY;
  options.telephony_yaml = "  rtp_inactivity_timeout: 120s\n";
  Node node(options);
  ASSERT_EQ(node.error(), "");
  // A queue with one (offline) agent: calls wait in it, nobody answers.
  ASSERT_EQ(node.request("POST", "/api/v1/queues", {{"id", "support"}, {"name", "Support"}}, node.token(0)).status,
            201);
  HttpReply profile =
      node.request("PUT", "/api/v1/agents/agent-a/routing-profile",
                   {{"name", "Agent A"}, {"queues", json::array({json{{"queue", "support"}}})}}, node.token(0));
  ASSERT_TRUE(profile.status == 200 || profile.status == 201) << profile.raw;
  HttpReply number = node.request("PUT", "/api/v1/numbers/+15550100", {{"queue_id", "support"}}, node.token(0));
  ASSERT_TRUE(number.status == 200 || number.status == 201) << number.raw;

  const std::string scenario = testing::local_sipp_scenario(kScenarios + "/caller_long.xml", node.dir());
  Subprocess callers = Subprocess::start({"sipp",      "-sf",
                                          scenario,    "-s",
                                          "+15550100", node.sip_target(),
                                          "-i",        "127.0.0.1",
                                          "-p",        std::to_string(testing::free_port()),
                                          "-m",        std::to_string(kCalls),
                                          "-l",        std::to_string(kCalls),
                                          "-r",        "20",
                                          "-d",        "60000",
                                          "-nostdin",  "-timeout",
                                          "120s",      "-trace_stat",
                                          "-fd",       "1"});

  // Every call is answered and its record is in the store while it lasts.
  std::set<std::string> live;
  for (int i = 0; i < 150 && live.size() < kCalls; ++i) {
    live.clear();
    for (const auto& c : history(node)) {
      if (c.value("ended_at", json()).is_null()) live.insert(c.value("id", ""));
    }
    if (live.size() < kCalls) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(live.size(), static_cast<size_t>(kCalls)) << "live records before the kill";
  for (const auto& c : history(node)) EXPECT_EQ(c.value("phase", ""), "queued") << c.dump();

  node.kill_hard();
  callers.send_signal(SIGKILL);
  (void)callers.wait(10s);

  ASSERT_EQ(node.restart(), "");
  json after = history(node);
  ASSERT_EQ(after.size(), static_cast<size_t>(kCalls)) << after.dump();
  std::set<std::string> ids;
  for (const auto& c : after) {
    ids.insert(c.value("id", ""));
    EXPECT_EQ(c.value("end_reason", json()), "node_lost") << c.dump();
    EXPECT_EQ(c.value("phase", ""), "ended");
    EXPECT_FALSE(c.value("ended_at", json()).is_null());
  }
  EXPECT_EQ(ids, live) << "the records after the restart are the calls that were live";
  EXPECT_NE(node.server_log().find("call ended: its node was lost"), std::string::npos);

  // A second restart finds nothing open: nothing is closed (or counted) twice.
  node.kill_hard();
  ASSERT_EQ(node.restart(), "");
  EXPECT_EQ(history(node), after);
  EXPECT_EQ(node.server_log().find("call ended: its node was lost"), std::string::npos);
}

}  // namespace
}  // namespace vontres
