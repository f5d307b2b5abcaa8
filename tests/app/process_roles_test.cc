// `vontres serve --services LIST`: one process runs only the services it is given, still answers
// /healthz, /readyz and /metrics, names its node and roles in its start-up line, and a call host
// without the routing service in its process reaches the ACD over the bus.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/node.h"

namespace vontres {
namespace {

using nlohmann::json;
using testing::HttpReply;
using testing::Node;

json serving_line(const Node& node) {
  const std::string log = node.server_log();
  const size_t at = log.find("vontres is serving");
  if (at == std::string::npos) return json::object();
  const size_t begin = log.rfind('\n', at) == std::string::npos ? 0 : log.rfind('\n', at) + 1;
  const size_t end = log.find('\n', at);
  return json::parse(log.substr(begin, end - begin), nullptr, false);
}

TEST(ProcessRolesTest, AnApiAndRoutingProcessServesTheirRoutesAndNoCallHost) {
  Node::Options options;
  options.binary = VONTRES_BINARY;
  options.extra_yaml = "services: api,routing\nnode_id: api-routing-1\n";
  Node node(options);
  ASSERT_EQ(node.error(), "");
  json line = serving_line(node);
  EXPECT_EQ(line.value("vontres.services", ""), "api,routing");
  EXPECT_EQ(line.value("vontres.node_id", ""), "api-routing-1");
  EXPECT_EQ(node.request("GET", "/healthz").status, 200);
  EXPECT_EQ(node.request("GET", "/readyz").status, 200);
  EXPECT_EQ(node.request("GET", "/metrics").status, 200);
  EXPECT_EQ(node.request("GET", "/api/v1/queues", nullptr, node.token(0)).status, 200);  // routing
  EXPECT_EQ(node.request("GET", "/api/v1/users", nullptr, node.token(0)).status, 200);   // api
  EXPECT_EQ(node.request("GET", "/api/v1/calls", nullptr, node.token(0)).status, 404);   // no call host here
  EXPECT_EQ(node.server_log().find("SIP listening"), std::string::npos);
}

TEST(ProcessRolesTest, ACallHostWithoutRoutingReachesTheAcdOverTheBus) {
  Node::Options options;
  options.binary = VONTRES_BINARY;
  options.extra_yaml = "services: telephony,api\n";
  Node node(options);
  ASSERT_EQ(node.error(), "");
  json line = serving_line(node);
  EXPECT_EQ(line.value("vontres.acd_client", ""), "bus");
  EXPECT_NE(node.server_log().find("SIP listening"), std::string::npos);
  EXPECT_EQ(node.request("GET", "/api/v1/queues", nullptr, node.token(0)).status, 404);  // routing runs elsewhere
  EXPECT_EQ(node.request("GET", "/api/v1/calls", nullptr, node.token(0)).status, 200);
}

TEST(ProcessRolesTest, AnUnknownRoleIsRefusedNamingTheKey) {
  testing::RunResult r = testing::run({VONTRES_BINARY, "config", "check", "--services", "telephony,billing"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("services: unknown service 'billing'"), std::string::npos) << r.err;
  r = testing::run({VONTRES_BINARY, "config", "check", "--services", "telephony"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace vontres
