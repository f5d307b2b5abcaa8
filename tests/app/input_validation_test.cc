// Request bodies on the server as `vontres serve` wires it (app::Services with routing, telephony
// and AI, the users service's JWT authentication) behind the real HTTP server: every POST, PUT and
// PATCH route declares a bounded body schema (or that it reads no body), the OpenAPI document
// publishes exactly those schemas, and the bodies of issue 11's findings 14-16 (wrong types,
// wrapping integers, any body or content type, 1 MB strings) are 400s naming the field, never a
// 500 and never stored.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "api/schema.h"
#include "api/server.h"
#include "app/platform.h"
#include "app/services.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/log.h"
#include "support/subprocess.h"
#include "users/users_fixture.h"
#include "users/users_service.h"

namespace vontres::app {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using users::testing::http_call;
using users::testing::Reply;

const std::string kAdminPassword = "admin-Pa55word-horse";
const std::string kMegabyte(1 << 20, 'x');

class InputValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::Options log_options;
    log_options.to_stderr = false;
    log::init(log_options);

    config_.data_dir = dir_.path();
    config_.auth = users::testing::fast_auth_config();
    config_.http.listen = {"127.0.0.1", 0};
    config_.http.io_threads = 1;
    config_.http.worker_threads = 2;
    config_.http.max_body_bytes = 4 << 20;  // room for the 1 MB strings: the schema must refuse them
    config_.telephony.sip_udp = "127.0.0.1:0";
    config_.telephony.sip_tcp = "127.0.0.1:0";
    ASSERT_TRUE(validate_config(config_).is_ok());

    auto platform = open_platform(config_, clock_, registry_);
    ASSERT_TRUE(platform.is_ok()) << platform.status().to_string();
    platform_ = std::move(platform).value();
    auto services = Services::start(config_, platform_, clock_, ids_, router_, &registry_);
    ASSERT_TRUE(services.is_ok()) << services.status().to_string();
    services_ = std::move(services).value();
    server_ = std::make_unique<api::HttpServer>(config_.http, router_, services_->authenticator(), registry_, clock_);
    ASSERT_TRUE(server_->start().is_ok());
    ASSERT_TRUE(users::create_admin(services_->users(), "Acme", "admin@acme.test", kAdminPassword).is_ok());
    Reply login = http_call(server_->port(), "POST", "/api/v1/auth/login",
                            json{{"email", "admin@acme.test"}, {"password", kAdminPassword}}.dump());
    ASSERT_EQ(login.status, 200) << login.body;
    token_ = login.json()["access_token"];
    Reply me = call("GET", "/api/v1/auth/me");
    admin_id_ = me.json()["user"]["id"];
  }

  void TearDown() override {
    if (server_) {
      server_->shutdown(1s);
      server_->wait();
    }
    if (services_) services_->stop();
  }

  Reply call(const std::string& method, const std::string& target, const json& body = nullptr) {
    return http_call(server_->port(), method, target, body.is_null() ? std::string() : body.dump(),
                     users::testing::bearer(token_));
  }
  Reply raw(const std::string& method, const std::string& target, const std::string& body,
            const std::string& content_type) {
    auto headers = users::testing::bearer(token_);
    headers.emplace_back("Content-Type", content_type);
    return http_call(server_->port(), method, target, body, headers);
  }

  // A 400 whose error names `field` (empty: the body itself) with a stable code.
  static void expect_rejected(const Reply& reply, const std::string& field, const std::string& what) {
    EXPECT_EQ(reply.status, 400) << what << ": " << reply.body;
    const json error = reply.json().value("error", json::object());
    if (field.empty()) {
      EXPECT_TRUE(error.value("code", "") == "invalid_body" || error.value("code", "") == "invalid_json" ||
                  error.value("code", "") == "invalid_content_type")
          << what << ": " << reply.body;
    } else {
      EXPECT_EQ(error.value("code", ""), "invalid_field") << what << ": " << reply.body;
      EXPECT_EQ(error.value("field", ""), field) << what << ": " << reply.body;
      EXPECT_EQ(error.value("message", "").rfind(field + ": ", 0), 0u) << what << ": " << reply.body;
    }
  }

  testing::TempDir dir_;
  Config config_;
  Clock& clock_ = SystemClock::instance();
  prometheus::Registry registry_;
  IdGenerator ids_{clock_};
  Platform platform_;
  api::Router router_;
  std::unique_ptr<Services> services_;
  std::unique_ptr<api::HttpServer> server_;
  std::string token_;
  std::string admin_id_;
};

bool takes_body(api::Method method) {
  return method == api::Method::kPost || method == api::Method::kPut || method == api::Method::kPatch;
}

TEST_F(InputValidationTest, EveryBodyRouteDeclaresABoundedSchemaOrThatItReadsNoBody) {
  int with_schema = 0;
  for (const auto& route : router_.routes()) {
    if (!takes_body(route->method)) continue;
    const std::string name = std::string(api::method_name(route->method)) + " " + route->pattern;
    const api::RouteOptions& options = route->options;
    EXPECT_EQ(options.body_schema.is_null(), options.body_ignored)
        << name << ": declare a body_schema (api/schema.h) or body_ignored, not both and not neither";
    if (options.body_schema.is_null()) continue;
    ++with_schema;
    Status bounded = api::check_schema(options.body_schema);
    EXPECT_TRUE(bounded.is_ok()) << name << ": " << bounded.message();
  }
  EXPECT_GE(with_schema, 20);  // users, routing, telephony, AI: all of them are here
}

TEST_F(InputValidationTest, TheOpenApiDocumentPublishesTheSchemasTheServerEnforces) {
  Reply document = http_call(server_->port(), "GET", "/api/v1/openapi.json");
  ASSERT_EQ(document.status, 200);
  const json paths = document.json()["paths"];
  for (const auto& route : router_.routes()) {
    if (!takes_body(route->method)) continue;
    std::string method(api::method_name(route->method));
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string name = method + " " + route->pattern;
    ASSERT_TRUE(paths.contains(route->pattern) && paths[route->pattern].contains(method)) << name;
    const json operation = paths[route->pattern][method];
    if (route->options.body_ignored) {
      EXPECT_EQ(operation.value("x-vontres-body-ignored", false), true) << name;
      EXPECT_FALSE(operation.contains("requestBody")) << name;
      continue;
    }
    const std::string media =
        route->options.body_media_type.empty() ? "application/json" : route->options.body_media_type;
    ASSERT_TRUE(operation.contains("requestBody")) << name;
    EXPECT_EQ(operation["requestBody"]["content"][media]["schema"], route->options.body_schema) << name;
  }
}

// Finding 14: wrong types were 500s (a JSON type exception escaped the handler).
TEST_F(InputValidationTest, WrongTypesAre400sNamingTheField) {
  expect_rejected(call("PUT", "/api/v1/skills/billing", {{"description", 42}}), "description", "skill description");
  expect_rejected(call("PUT", "/api/v1/skills/billing", {{"description", {{"a", 1}}}}), "description",
                  "skill description object");
  ASSERT_EQ(call("PUT", "/api/v1/agents/" + admin_id_ + "/routing-profile", {{"name", "Admin"}}).status, 200);
  const std::string state = "/api/v1/agents/" + admin_id_ + "/state";
  expect_rejected(call("PUT", state, {{"state", 1}}), "state", "agent state");
  expect_rejected(call("PUT", state, {{"state", "break"}, {"reason", 7}}), "reason", "agent state reason");
  expect_rejected(call("PUT", state, {{"state", "break"}, {"reason", nullptr}}), "reason", "null reason");
  expect_rejected(call("POST", "/api/v1/queues", {{"id", "q"}, {"name", 5}}), "name", "queue name");
  expect_rejected(call("PUT", "/api/v1/ai/settings", {{"pause_on_card", "yes"}}), "pause_on_card", "ai settings");
  expect_rejected(call("POST", "/api/v1/calls", {{"agent_id", 7}, {"destination", "100"}}), "agent_id",
                  "click-to-call agent");
  expect_rejected(call("POST", "/api/v1/calls/c1/transfer", {{"queue_id", true}}), "queue_id", "transfer");
}

// Finding 15: priority 2147483648 was stored as -2147483648 and max_length -1 as 2^64 - 1.
TEST_F(InputValidationTest, OutOfRangeNumbersAre400sAndNothingIsStored) {
  expect_rejected(call("POST", "/api/v1/queues", json::parse(R"({"id":"q1","priority":2147483648})")), "priority",
                  "int32 overflow");
  expect_rejected(call("POST", "/api/v1/queues", {{"id", "q1"}, {"priority", -1}}), "priority", "negative priority");
  expect_rejected(call("POST", "/api/v1/queues", {{"id", "q1"}, {"max_length", -1}}), "max_length", "negative size");
  expect_rejected(call("POST", "/api/v1/queues", json::parse(R"({"id":"q1","max_length":18446744073709551615})")),
                  "max_length", "uint64 max");
  expect_rejected(call("POST", "/api/v1/queues", {{"id", "q1"}, {"priority", 1.5}}), "priority", "fraction");
  expect_rejected(call("POST", "/api/v1/queues", {{"id", "q1"}, {"escalation", {{{"after_ms", -5}}}}}),
                  "escalation[0].after_ms", "negative delay");
  EXPECT_EQ(call("GET", "/api/v1/queues/q1").status, 404);

  Reply created = call("POST", "/api/v1/queues", {{"id", "q1"}, {"priority", 1000}, {"max_length", 50}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json()["priority"], 1000);
  EXPECT_EQ(created.json()["max_length"], 50);
  // What GET answers can be PUT back as it is.
  Reply fetched = call("GET", "/api/v1/queues/q1");
  ASSERT_EQ(fetched.status, 200);
  EXPECT_EQ(call("PUT", "/api/v1/queues/q1", fetched.json()).status, 200) << fetched.body;
}

// Finding 16: any body and any content type were accepted (and wiped the description).
TEST_F(InputValidationTest, BodiesMustBeJsonObjectsOfTheirSchema) {
  ASSERT_EQ(call("PUT", "/api/v1/skills/billing", {{"description", "Invoices"}}).status, 200);
  expect_rejected(raw("PUT", "/api/v1/skills/billing", "description=gone", "application/x-www-form-urlencoded"), "",
                  "form body");
  expect_rejected(raw("PUT", "/api/v1/skills/billing", R"({"description":"gone"})", "text/plain"), "",
                  "JSON as text/plain");
  expect_rejected(raw("PUT", "/api/v1/skills/billing", "not json", "application/json"), "", "not JSON");
  expect_rejected(raw("PUT", "/api/v1/skills/billing", "", "application/json"), "", "empty body");
  expect_rejected(call("PUT", "/api/v1/skills/billing", json::array({1, 2})), "", "array body");
  expect_rejected(call("PUT", "/api/v1/skills/billing", json::object()), "description", "no description");
  expect_rejected(call("PUT", "/api/v1/skills/billing", {{"description", "x"}, {"colour", "red"}}), "colour",
                  "unknown member");
  Reply skills = call("GET", "/api/v1/skills");
  ASSERT_EQ(skills.status, 200);
  EXPECT_EQ(skills.json()["skills"][0]["description"], "Invoices") << skills.body;  // not wiped

  for (const json& body : {json::array(), json("redact"), json(7), json(nullptr)}) {
    expect_rejected(raw("PUT", "/api/v1/ai/settings", body.dump(), "application/json"), "",
                    "ai settings " + body.dump());
  }
  expect_rejected(raw("PUT", "/api/v1/ai/settings", "{}", "text/html"), "", "ai settings as HTML");
  EXPECT_EQ(call("PUT", "/api/v1/ai/settings", {{"pause_on_card", true}}).status, 200);
}

// Finding 16: 1 MB strings were stored in queue names, skill descriptions, agent-state reasons,
// routing rules and click-to-call ids.
TEST_F(InputValidationTest, MegabyteStringsAreRefusedWherever) {
  expect_rejected(call("POST", "/api/v1/queues", {{"id", "q2"}, {"name", kMegabyte}}), "name", "queue name");
  expect_rejected(call("POST", "/api/v1/queues", {{"id", kMegabyte}}), "id", "queue id");
  expect_rejected(call("PUT", "/api/v1/skills/billing", {{"description", kMegabyte}}), "description",
                  "skill description");
  ASSERT_EQ(call("PUT", "/api/v1/agents/" + admin_id_ + "/routing-profile", {{"name", "Admin"}}).status, 200);
  expect_rejected(call("PUT", "/api/v1/agents/" + admin_id_ + "/state", {{"state", "break"}, {"reason", kMegabyte}}),
                  "reason", "agent-state reason");
  expect_rejected(call("PUT", "/api/v1/agents/" + admin_id_ + "/routing-profile", {{"team", kMegabyte}}), "team",
                  "routing profile team");
  expect_rejected(call("PUT", "/api/v1/routing/rules", {{"intents", {{{"intent", kMegabyte}}}}}), "intents[0].intent",
                  "routing rule intent");
  expect_rejected(call("PUT", "/api/v1/routing/rules", {{"default_queue", kMegabyte}}), "default_queue",
                  "routing default queue");
  expect_rejected(call("PUT", "/api/v1/routing/rules", {{"tier_boost", {{kMegabyte, 1}}}}),
                  "tier_boost." + std::string(64, 'x'), "routing tier name");
  expect_rejected(call("POST", "/api/v1/calls", {{"agent_id", kMegabyte}, {"destination", "100"}}), "agent_id",
                  "click-to-call agent id");
  expect_rejected(call("POST", "/api/v1/calls", {{"agent_id", "a1"}, {"destination", kMegabyte}}), "destination",
                  "click-to-call destination");
  expect_rejected(call("PUT", "/api/v1/sip-accounts/ana", {{"agent_id", kMegabyte}, {"password", "long-enough-pw-1"}}),
                  "agent_id", "SIP account agent id");
  expect_rejected(call("PATCH", "/api/v1/users/" + admin_id_, {{"display_name", kMegabyte}}), "display_name",
                  "user display name");
  EXPECT_EQ(call("GET", "/api/v1/queues/q2").status, 404);
}

TEST_F(InputValidationTest, ActionsWithoutABodyIgnoreWhateverIsSent) {
  // hangup reads no body: garbage reaches the handler, which answers for the unknown call.
  Reply hangup = raw("POST", "/api/v1/calls/no-such-call/hangup", "garbage", "text/plain");
  EXPECT_EQ(hangup.status, 404) << hangup.body;
}

}  // namespace
}  // namespace vontres::app
