// Accounts and sessions (issue 11, findings 6, 8, 9): the escalation guard covers every change to
// a more privileged user, an organisation keeps an active admin, revocations are exact to the
// millisecond, and an open WebSocket closes when its session ends. Real HTTP against the users
// service (users_fixture.h); the ManualClock never moves unless a test moves it.
#include <sys/socket.h>
#include <sys/time.h>

#include <gtest/gtest.h>
#include <boost/beast/websocket.hpp>

#include "bus/in_process_bus.h"
#include "users/events.h"
#include "users_fixture.h"

namespace vontres::users {
namespace {

using nlohmann::json;
using testing::Reply;
using testing::UsersEnvironment;

const std::string kAdminPassword = "admin-Pa55word-horse";
const std::string kUserPassword = "user-Pa55word-battery";

class AccountSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(create_admin(env_.service(), "Acme", "admin@acme.test", kAdminPassword).is_ok());
    admin_token_ = env_.login("admin@acme.test", kAdminPassword).first;
    admin_id_ = env_.call("GET", "/api/v1/auth/me", nullptr, admin_token_).json().value("subject", "");
    ASSERT_FALSE(admin_id_.empty());
  }

  std::string create_role(const std::string& name, const std::vector<std::string>& permissions) {
    Reply reply = env_.call("POST", "/api/v1/roles", {{"name", name}, {"permissions", permissions}}, admin_token_);
    EXPECT_EQ(reply.status, 201) << reply.body;
    return name;
  }
  std::string create_user(const std::string& email, const std::vector<std::string>& roles) {
    Reply reply = env_.call("POST", "/api/v1/users", {{"email", email}, {"password", kUserPassword}, {"roles", roles}},
                            admin_token_);
    EXPECT_EQ(reply.status, 201) << reply.body;
    return reply.json().value("id", "");
  }
  std::string login(const std::string& email, const std::string& password = kUserPassword) {
    return env_.login(email, password).first;
  }
  bool active(const std::string& id) {
    return env_.call("GET", "/api/v1/users/" + id, nullptr, admin_token_).json().value("active", false);
  }

  UsersEnvironment env_;
  std::string admin_token_;
  std::string admin_id_;
};

// ---- finding 6 ----

TEST_F(AccountSecurityTest, UsersWriteCannotChangeAnyDetailOfAMorePrivilegedUser) {
  create_role("helpdesk",
              {"users.read", "users.write", "teams.read", "teams.write", "agents.read", "agents.write", "queues.read"});
  create_user("help@acme.test", {"helpdesk"});
  const std::string agent = create_user("agent@acme.test", {"agent"});
  const std::string helpdesk = login("help@acme.test");
  const std::string users = "/api/v1/users/" + admin_id_;

  for (const json& change : {json{{"active", false}}, json{{"email", "mine@acme.test"}},
                             json{{"display_name", "Not the admin"}}, json{{"roles", json::array({"admin"})}}}) {
    Reply reply = env_.call("PATCH", users, change, helpdesk);
    EXPECT_EQ(reply.status, 403) << change.dump() << " " << reply.body;
    EXPECT_EQ(reply.code(), "permission_escalation") << change.dump();
  }
  EXPECT_EQ(env_.call("PUT", users + "/agent-profile", {{"sip_username", "mine"}}, helpdesk).code(),
            "permission_escalation");
  EXPECT_EQ(
      env_.call("POST", "/api/v1/teams", {{"name", "Mine"}, {"member_ids", json::array({admin_id_})}}, helpdesk).code(),
      "permission_escalation");
  EXPECT_EQ(env_.call("POST", users + "/password", {{"new_password", "taken-over-account"}}, helpdesk).code(),
            "permission_escalation");
  EXPECT_EQ(env_.call("DELETE", users, nullptr, helpdesk).code(), "permission_escalation");

  Reply admin = env_.call("GET", users, nullptr, admin_token_);
  EXPECT_TRUE(admin.json().value("active", false));
  EXPECT_EQ(admin.json().value("email", ""), "admin@acme.test");
  // Within its powers the role still works.
  EXPECT_EQ(env_.call("PATCH", "/api/v1/users/" + agent, {{"display_name", "Ann"}}, helpdesk).status, 200);
  EXPECT_EQ(
      env_.call("POST", "/api/v1/teams", {{"name", "Agents"}, {"member_ids", json::array({agent})}}, helpdesk).status,
      201);
}

TEST_F(AccountSecurityTest, AnOrganisationNeverLosesItsLastActiveAdmin) {
  std::vector<std::string> everything;
  for (const char* p :
       {"users.read", "users.write", "roles.read", "roles.write", "teams.read", "teams.write", "agents.read",
        "agents.write", "api_keys.read", "api_keys.write", "audit.read", "queues.read", "queues.write", "calls.read",
        "calls.handle", "calls.monitor", "reports.read", "settings.write"}) {
    everything.emplace_back(p);
  }
  create_role("operator", everything);
  create_user("ops@acme.test", {"operator"});
  const std::string ops = login("ops@acme.test");
  const std::string admin = "/api/v1/users/" + admin_id_;

  for (const json& change : {json{{"active", false}}, json{{"roles", json::array({"operator"})}}}) {
    Reply reply = env_.call("PATCH", admin, change, ops);
    EXPECT_EQ(reply.status, 409) << change.dump() << " " << reply.body;
    EXPECT_EQ(reply.code(), "last_admin") << change.dump();
  }
  Reply deleted = env_.call("DELETE", admin, nullptr, ops);
  EXPECT_EQ(deleted.status, 409) << deleted.body;
  EXPECT_EQ(deleted.code(), "last_admin");
  EXPECT_TRUE(active(admin_id_));

  // With a second active admin the first may go; then the second is the last one.
  const std::string second = create_user("admin2@acme.test", {"admin"});
  EXPECT_EQ(env_.call("PATCH", admin, {{"active", false}}, ops).status, 200);
  EXPECT_EQ(env_.call("DELETE", "/api/v1/users/" + second, nullptr, ops).code(), "last_admin");
  EXPECT_EQ(env_.call("PATCH", "/api/v1/users/" + second, {{"active", false}}, ops).code(), "last_admin");
  // An inactive admin does not count, so removing it is fine.
  EXPECT_EQ(env_.call("DELETE", admin, nullptr, ops).status, 204);
  EXPECT_TRUE(env_.call("GET", "/api/v1/users/" + second, nullptr, ops).json().value("active", false));
}

// ---- finding 8 ----

TEST_F(AccountSecurityTest, TokensIssuedInTheSameMillisecondAsARevocationAreRefused) {
  // The ManualClock stands still: login, revocation and the next login share one millisecond.
  const std::string id = create_user("agent@acme.test", {"agent"});
  const std::string before_reset = login("agent@acme.test");
  ASSERT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, before_reset).status, 200);
  ASSERT_EQ(env_.call("POST", "/api/v1/users/" + id + "/password", {{"new_password", "a-fresh-password"}}, admin_token_)
                .status,
            204);
  EXPECT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, before_reset).code(), "token_revoked");
  // Logging in again right after is not locked out.
  const std::string after_reset = login("agent@acme.test", "a-fresh-password");
  EXPECT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, after_reset).status, 200);

  // Own password change and deactivation, in the same second but a later millisecond.
  env_.clock().advance(std::chrono::milliseconds(400));
  ASSERT_EQ(
      env_.call("POST", "/api/v1/auth/password",
                {{"current_password", "a-fresh-password"}, {"new_password", "another-fresh-password"}}, after_reset)
          .status,
      204);
  EXPECT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, after_reset).code(), "token_revoked");
  env_.clock().advance(std::chrono::milliseconds(1));
  const std::string before_deactivation = login("agent@acme.test", "another-fresh-password");
  env_.clock().advance(std::chrono::milliseconds(1));
  ASSERT_EQ(env_.call("PATCH", "/api/v1/users/" + id, {{"active", false}}, admin_token_).status, 200);
  EXPECT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, before_deactivation).code(), "token_revoked");
}

TEST_F(AccountSecurityTest, UserRevocationCoversTokensWithoutASessionToTheMillisecond) {
  const std::string id = create_user("agent@acme.test", {"agent"});
  AccessClaims claims;
  claims.subject = id;
  claims.org_id = env_.call("GET", "/api/v1/auth/me", nullptr, admin_token_).json().value("org_id", "");
  claims.roles = {"agent"};
  claims.jti = "no-session-token";
  auto token = env_.core().jwt().issue(claims);
  ASSERT_TRUE(token.is_ok());
  env_.clock().advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(env_.core().revoke_user_sessions(claims.org_id, id).is_ok());
  EXPECT_EQ(env_.core().verify_access_token(*token).status().code(), "token_revoked");
  AccessClaims later = claims;
  later.jti = "issued-after";
  auto fresh = env_.core().jwt().issue(later);
  ASSERT_TRUE(fresh.is_ok());
  EXPECT_TRUE(env_.core().verify_access_token(*fresh).is_ok());
}

// ---- finding 7, users side ----

TEST_F(AccountSecurityTest, DeactivationReactivationAndDeletionArePublishedOnTheBus) {
  SystemClock& clock = SystemClock::instance();
  bus::InProcessEventBus bus(BusConfig{}, clock);
  auto consumer = bus.subscribe({std::string(events::kTopic)}, "test");
  ASSERT_TRUE(consumer.is_ok());
  env_.core().set_event_bus(&bus);
  const std::string id = create_user("agent@acme.test", {"agent"});
  ASSERT_EQ(env_.call("PATCH", "/api/v1/users/" + id, {{"display_name", "Ann"}}, admin_token_).status, 200);
  ASSERT_EQ(env_.call("PATCH", "/api/v1/users/" + id, {{"active", false}}, admin_token_).status, 200);
  ASSERT_EQ(env_.call("PATCH", "/api/v1/users/" + id, {{"active", true}}, admin_token_).status, 200);
  ASSERT_EQ(env_.call("DELETE", "/api/v1/users/" + id, nullptr, admin_token_).status, 204);
  std::vector<std::string> types;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (types.size() < 3 && std::chrono::steady_clock::now() < until) {
    auto deliveries = (*consumer)->poll(10, std::chrono::milliseconds(100));
    ASSERT_TRUE(deliveries.is_ok());
    for (const auto& delivery : *deliveries) {
      auto change = events::parse_user_lifecycle(delivery.event);
      ASSERT_TRUE(change.has_value()) << delivery.event.payload;
      EXPECT_EQ(change->user_id, id);
      EXPECT_FALSE(change->org_id.empty());
      types.push_back(change->type);
      (void)(*consumer)->ack(delivery);
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{"user.deactivated", "user.reactivated", "user.deleted"}));
  env_.core().set_event_bus(nullptr);
}

// ---- finding 9 ----

// A WebSocket route that greets and echoes, on a server of our own (the fixture's starts at once).
class StreamingServer {
 public:
  explicit StreamingServer(UsersEnvironment& env, std::chrono::milliseconds recheck) {
    env.router().websocket(
        "/api/v1/test/stream", {.public_route = false, .permission = "", .summary = "", .tag = ""},
        [](api::Request&,
           std::shared_ptr<api::WebSocketConnection> connection) -> Result<std::unique_ptr<api::WebSocketSession>> {
          connection->send_text("hello");
          return std::unique_ptr<api::WebSocketSession>(std::make_unique<Echo>(std::move(connection)));
        });
    HttpConfig http;
    http.listen = {"127.0.0.1", 0};
    http.io_threads = 1;
    http.worker_threads = 2;
    server_ =
        std::make_unique<api::HttpServer>(http, env.router(), &env.service().authenticator(), registry_, env.clock());
    server_->set_websocket_recheck_interval(recheck);
    Status started = server_->start();
    EXPECT_TRUE(started.is_ok()) << started.to_string();
  }
  ~StreamingServer() {
    server_->shutdown(std::chrono::milliseconds(1000));
    server_->wait();
  }
  uint16_t port() const { return server_->port(); }

 private:
  class Echo final : public api::WebSocketSession {
   public:
    explicit Echo(std::shared_ptr<api::WebSocketConnection> connection) : connection_(std::move(connection)) {}
    void on_message(std::string_view text) override { connection_->send_text(std::string(text)); }

   private:
    std::shared_ptr<api::WebSocketConnection> connection_;
  };
  prometheus::Registry registry_;
  std::unique_ptr<api::HttpServer> server_;
};

class StreamClient {
 public:
  StreamClient(uint16_t port, const std::string& token) : ws_(io_) {
    namespace asio = boost::asio;
    ws_.next_layer().connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval timeout{5, 0};  // a read that never ends fails the test instead of hanging it
    ::setsockopt(ws_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ws_.set_option(
        boost::beast::websocket::stream_base::decorator([token](boost::beast::websocket::request_type& request) {
          request.set(boost::beast::http::field::sec_websocket_protocol, "bearer, " + token);
        }));
    ws_.handshake("127.0.0.1", "/api/v1/test/stream", error_);
  }
  bool open() const { return !error_; }
  // The next text message, or empty with the close reason in `closed_by` when the server closed.
  std::string read() {
    boost::beast::flat_buffer buffer;
    ws_.read(buffer, error_);
    if (error_) return {};
    return boost::beast::buffers_to_string(buffer.data());
  }
  void write(const std::string& text) { ws_.write(boost::asio::buffer(text), error_); }
  boost::beast::error_code error() const { return error_; }
  boost::beast::websocket::close_reason reason() const { return ws_.reason(); }
  std::string reason_text() const { return {ws_.reason().reason.data(), ws_.reason().reason.size()}; }

 private:
  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  boost::beast::error_code error_;
};

TEST(AccountSecurityWebSocket, AnOpenWebSocketClosesWhenItsSessionIsLoggedOutOrTheUserDeactivated) {
  UsersEnvironment env(testing::fast_auth_config(), /*start_server=*/false);
  ASSERT_TRUE(create_admin(env.service(), "Acme", "admin@acme.test", kAdminPassword).is_ok());
  StreamingServer server(env, std::chrono::milliseconds(100));
  auto call = [&](const std::string& method, const std::string& target, const json& body, const std::string& token) {
    return testing::http_call(server.port(), method, target, body.is_null() ? std::string() : body.dump(),
                              testing::bearer(token));
  };
  auto login = [&](const std::string& email, const std::string& password) {
    Reply reply = testing::http_call(server.port(), "POST", "/api/v1/auth/login",
                                     json{{"email", email}, {"password", password}}.dump());
    return reply.json().value("access_token", "");
  };
  const std::string admin = login("admin@acme.test", kAdminPassword);
  ASSERT_FALSE(admin.empty());

  // Logout of the session that opened the socket.
  StreamClient stream(server.port(), admin);
  ASSERT_TRUE(stream.open()) << stream.error().message();
  EXPECT_EQ(stream.read(), "hello");
  stream.write("ping");
  EXPECT_EQ(stream.read(), "ping");
  ASSERT_EQ(call("POST", "/api/v1/auth/logout", nullptr, admin).status, 204);
  EXPECT_EQ(stream.read(), "");
  EXPECT_EQ(stream.error(), boost::beast::websocket::error::closed) << stream.error().message();
  EXPECT_EQ(stream.reason().code, boost::beast::websocket::close_code::policy_error);
  EXPECT_EQ(stream.reason_text(), "token_revoked");

  // Deactivation of the user by an admin.
  const std::string admin2 = login("admin@acme.test", kAdminPassword);
  Reply created =
      call("POST", "/api/v1/users",
           {{"email", "agent@acme.test"}, {"password", kUserPassword}, {"roles", json::array({"agent"})}}, admin2);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string agent = login("agent@acme.test", kUserPassword);
  StreamClient agent_stream(server.port(), agent);
  ASSERT_TRUE(agent_stream.open());
  EXPECT_EQ(agent_stream.read(), "hello");
  ASSERT_EQ(call("PATCH", "/api/v1/users/" + created.json().value("id", ""), {{"active", false}}, admin2).status, 200);
  EXPECT_EQ(agent_stream.read(), "");
  EXPECT_EQ(agent_stream.error(), boost::beast::websocket::error::closed) << agent_stream.error().message();

  // Expiry of the access token with the clock.
  StreamClient expiring(server.port(), admin2);
  ASSERT_TRUE(expiring.open());
  EXPECT_EQ(expiring.read(), "hello");
  env.clock().advance(env.auth().access_token_ttl + env.auth().clock_skew_leeway + std::chrono::seconds(1));
  EXPECT_EQ(expiring.read(), "");
  EXPECT_EQ(expiring.reason_text(), "token_expired");
}

}  // namespace
}  // namespace vontres::users
