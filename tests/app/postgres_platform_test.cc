// The app on PostgreSQL: every component's migrations (app::Services::migrations(), the list
// `vontres serve` applies) on a real PostgreSQL 15, `vontres serve` with store.backend postgres,
// and `vontres backup` taking a pg_dump. One server for this binary (tests/support/postgres_server.h).
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "app/platform.h"
#include "app/services.h"
#include "core/clock.h"
#include "core/config.h"
#include "support/node.h"
#include "support/postgres_server.h"
#include "support/subprocess.h"

namespace vontres {
namespace {

using namespace std::chrono_literals;
using testing::PostgresEnvironment;

[[maybe_unused]] ::testing::Environment* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new PostgresEnvironment());  // NOLINT(cppcoreguidelines-owning-memory)

class PostgresPlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = PostgresEnvironment::server();
    ASSERT_NE(server_, nullptr);
    std::string error;
    auto database = server_->create_database(&error);
    ASSERT_TRUE(database.has_value()) << error;
    database_ = *database;
    config_.store.backend = "postgres";
    config_.store.postgres.url = server_->conninfo(database_);
    config_.store.postgres.pool_size = 4;
    ASSERT_TRUE(validate_config(config_).is_ok()) << validate_config(config_).to_string();
  }
  void TearDown() override {
    if (server_ != nullptr && !database_.empty()) server_->drop_database(database_);
  }
  std::map<std::string, std::string> postgres_env() const {
    return {{"VONTRES_STORE_BACKEND", "postgres"},
            {"VONTRES_STORE_POSTGRES_URL", server_->conninfo(database_)},
            {"VONTRES_TELEPHONY_SIP_UDP", "127.0.0.1:0"},
            {"VONTRES_TELEPHONY_SIP_TCP", "127.0.0.1:0"}};
  }

  ManualClock clock_;
  Config config_;
  testing::PostgresServer* server_ = nullptr;
  std::string database_;
};

TEST_F(PostgresPlatformTest, OpenStoreChoosesPostgres) {
  auto store = app::open_store(config_, clock_);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ((*store)->dialect(), "postgres");
  EXPECT_TRUE((*store)->ping().is_ok());
}

TEST_F(PostgresPlatformTest, EveryComponentsMigrationsApplyCleanlyAndOnce) {
  auto store = app::open_store(config_, clock_);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  const auto migrations = app::Services::migrations();
  std::set<std::string> components;
  for (const auto& m : migrations) components.insert(m.component);
  for (const char* expected : {"users", "routing", "telephony", "sip_registrar", "telephony_numbers", "ai"}) {
    EXPECT_TRUE(components.contains(expected)) << expected;
  }
  Status migrated = (*store)->migrate(migrations);
  ASSERT_TRUE(migrated.is_ok()) << migrated.to_string();
  auto applied = (*store)->applied_migrations();
  ASSERT_TRUE(applied.is_ok());
  EXPECT_EQ(applied->size(), migrations.size());
  ASSERT_TRUE((*store)->migrate(migrations).is_ok()) << "running again applies nothing";
  auto again = (*store)->applied_migrations();
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->size(), migrations.size());

  // Millisecond timestamps need 64 bits: every *_ms column is BIGINT.
  auto narrow = (*store)->query(
      "SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns"
      " WHERE table_schema = 'public' AND column_name LIKE '%\\_ms' AND data_type <> 'bigint' ORDER BY 1");
  ASSERT_TRUE(narrow.is_ok()) << narrow.status().to_string();
  std::string listed;
  for (const auto& row : narrow->rows) listed += row.get_string(0) + "; ";
  EXPECT_TRUE(narrow->empty()) << listed;
  // ...and takes one: a call record from today.
  const int64_t now_ms = 1'764'806'400'000;
  auto inserted = (*store)->execute(
      "INSERT INTO calls (id, org_id, started_at_ms, ended_at_ms, record) VALUES ($1, $2, $3, $4, $5)",
      {std::string("c1"), std::string("o1"), now_ms, now_ms + 1, std::string("{}")});
  EXPECT_TRUE(inserted.is_ok()) << inserted.status().to_string();
}

TEST_F(PostgresPlatformTest, ServeRunsOnPostgres) {
  testing::TempDir data;
  auto process = testing::Subprocess::start(
      {VONTRES_BINARY, "serve", "--http-listen", "127.0.0.1:0", "--data-dir", data.path()}, postgres_env());
  auto line = process.wait_for_stderr_line(
      [](const std::string& l) { return l.find("vontres is serving") != std::string::npos; }, 60s);
  ASSERT_TRUE(line.has_value()) << process.stderr_text();
  process.send_signal(SIGTERM);
  EXPECT_EQ(process.wait(30s), 0) << process.stderr_text();

  auto store = app::open_store(config_, clock_);
  ASSERT_TRUE(store.is_ok());
  auto applied = (*store)->applied_migrations();
  ASSERT_TRUE(applied.is_ok());
  EXPECT_EQ(applied->size(), app::Services::migrations().size()) << "serve migrated the PostgreSQL store";
}

TEST_F(PostgresPlatformTest, BackupCommandTakesAPgDump) {
  {
    auto store = app::open_store(config_, clock_);
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE((*store)->migrate(app::Services::migrations()).is_ok());
  }
  testing::TempDir dir;
  const std::string output = dir.path() + "/backups/vontres.dump";
  auto r =
      testing::run({VONTRES_BINARY, "backup", "--data-dir", dir.path() + "/data", "--output", output}, postgres_env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(output, std::ios::binary);
  std::string magic(5, '\0');
  in.read(magic.data(), 5);
  EXPECT_EQ(magic, "PGDMP");

  auto refused =
      testing::run({VONTRES_BINARY, "restore", "--data-dir", dir.path() + "/data", "--input", output}, postgres_env());
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("pg_restore"), std::string::npos) << refused.err;
}

// Every component writes and reads its records through the API of one `vontres serve` on PostgreSQL.
TEST_F(PostgresPlatformTest, EveryComponentsRecordsAreWrittenAndReadThroughTheApi) {
  testing::Node::Options options;
  options.binary = VONTRES_BINARY;
  options.orgs = {"Alpha", "Beta"};
  options.extra_yaml = "store:\n  backend: postgres\n  postgres:\n    url: \"" + server_->conninfo(database_) + "\"\n";
  testing::Node node(options);
  ASSERT_EQ(node.error(), "");
  auto as_alpha = [&](const std::string& method, const std::string& path, const nlohmann::json& body = nullptr) {
    return node.request(method, path, body, node.token(0));
  };
  auto created = [](const testing::HttpReply& r) { return r.status == 200 || r.status == 201; };

  auto user = as_alpha("POST", "/api/v1/users",
                       {{"email", "agent@alpha.example"},
                        {"display_name", "Alpha agent"},
                        {"password", "alpha-user-password-1"},
                        {"roles", {"agent"}}});
  ASSERT_TRUE(created(user)) << user.status << " " << user.raw;
  const std::string user_id = user.body.value("id", "");
  const std::vector<std::tuple<std::string, std::string, nlohmann::json>> writes = {
      {"POST", "/api/v1/roles", {{"name", "alpha-role"}, {"description", "d"}, {"permissions", {"queues.read"}}}},
      {"POST", "/api/v1/teams", {{"name", "Alpha team"}, {"member_ids", {user_id}}}},
      {"POST", "/api/v1/api-keys", {{"name", "Alpha key"}, {"permissions", {"queues.read"}}}},
      {"PUT", "/api/v1/users/" + user_id + "/agent-profile", {{"extension", "101"}, {"sip_username", "alphaphone"}}},
      {"POST", "/api/v1/queues", {{"id", "support"}, {"name", "Support"}}},
      {"PUT", "/api/v1/skills/billing", {{"description", "Billing"}}},
      {"PUT",
       "/api/v1/agents/agent-a/routing-profile",
       {{"name", "Agent A"}, {"queues", nlohmann::json::array({nlohmann::json{{"queue", "support"}}})}}},
      {"PUT", "/api/v1/sip-accounts/alphaphone", {{"agent_id", "agent-a"}, {"password", "a-sip-password-1"}}},
      {"PUT", "/api/v1/numbers/+15550100", {{"queue_id", "support"}}},
      {"PUT", "/api/v1/routing/rules", {{"default_queue", "support"}}},
  };
  for (const auto& [method, path, body] : writes) {
    auto r = as_alpha(method, path, body);
    EXPECT_TRUE(created(r)) << method << " " << path << ": " << r.status << " " << r.raw;
  }
  for (const char* path : {"/api/v1/users", "/api/v1/roles", "/api/v1/teams", "/api/v1/api-keys", "/api/v1/queues",
                           "/api/v1/skills", "/api/v1/sip-accounts", "/api/v1/numbers", "/api/v1/routing/rules",
                           "/api/v1/audit?limit=50", "/api/v1/calls/history"}) {
    auto r = as_alpha("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.raw;
  }
  auto users = as_alpha("GET", "/api/v1/users");
  EXPECT_NE(users.raw.find("agent@alpha.example"), std::string::npos) << users.raw;
  auto beta_users = node.request("GET", "/api/v1/users", nullptr, node.token(1));
  EXPECT_EQ(beta_users.raw.find("agent@alpha.example"), std::string::npos) << "organisations stay apart";

  // PostgreSQL going away is a 503 (store_unavailable), not a crash; the node recovers when it is back.
  std::string error;
  ASSERT_TRUE(server_->stop(&error)) << error;
  auto down = as_alpha("GET", "/api/v1/users");
  EXPECT_EQ(down.status, 503) << down.raw;
  EXPECT_EQ(down.code(), "store_unavailable") << down.raw;
  ASSERT_TRUE(server_->restart(&error)) << error;
  auto back = as_alpha("GET", "/api/v1/users");
  EXPECT_EQ(back.status, 200) << back.raw;

  // The rows are in PostgreSQL.
  auto store = app::open_store(config_, clock_);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  for (const char* table :
       {"organisations", "users", "roles", "teams", "team_members", "api_keys", "agent_profiles", "routing_queues",
        "routing_skills", "routing_agents", "routing_rules", "sip_accounts", "phone_numbers", "audit_events"}) {
    auto rows = (*store)->query(std::string("SELECT COUNT(*) FROM ") + table);
    ASSERT_TRUE(rows.is_ok()) << table << ": " << rows.status().to_string();
    EXPECT_GE((*rows)[0].get_int(0), 1) << table;
  }
}

}  // namespace
}  // namespace vontres
