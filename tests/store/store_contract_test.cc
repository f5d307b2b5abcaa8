// The Store contract (store_contract.h) on every backend: SQLite in a temporary file, PostgreSQL in
// a fresh database of the binary's one test server (tests/support/postgres_server.h).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "store/postgres_store.h"
#include "store/sqlite_store.h"
#include "store/store_contract.h"
#include "support/postgres_server.h"
#include "support/subprocess.h"

namespace vontres::store {
namespace {

using testing::StoreBackend;
using testing::StoreContractTest;
using testing::StoreUnderTest;

// The binary's PostgreSQL server (with TLS, for postgres_store_test.cc), started on first use.
[[maybe_unused]] ::testing::Environment* const kPostgresEnvironment = ::testing::AddGlobalTestEnvironment(
    new vontres::testing::PostgresEnvironment({.tls = true}));  // NOLINT(cppcoreguidelines-owning-memory)

class SqliteUnderTest final : public StoreUnderTest {
 public:
  explicit SqliteUnderTest(const Clock& clock) {
    StoreConfig config;
    config.busy_timeout = std::chrono::milliseconds(5000);
    auto opened = SqliteStore::open(config, directory_.path() + "/nested/dir/vontres.db", clock);
    EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
    if (opened.is_ok()) store_ = std::move(opened).value();
  }
  Store& store() override { return *store_; }
  bool ok() const { return store_ != nullptr; }

 private:
  vontres::testing::TempDir directory_;  // declared first so it is removed after the store closes
  std::unique_ptr<SqliteStore> store_;
};

class PostgresUnderTest final : public StoreUnderTest {
 public:
  explicit PostgresUnderTest(const Clock& clock) : server_(vontres::testing::PostgresEnvironment::server()) {
    if (server_ == nullptr) return;
    std::string error;
    auto database = server_->create_database(&error);
    EXPECT_TRUE(database.has_value()) << error;
    if (!database) return;
    database_ = *database;
    PostgresOptions options;
    options.conninfo = server_->conninfo(database_);
    options.pool_size = 4;
    auto opened = PostgresStore::open(options, clock);
    EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
    if (opened.is_ok()) store_ = std::move(opened).value();
  }
  ~PostgresUnderTest() override {
    store_.reset();
    if (server_ != nullptr && !database_.empty()) server_->drop_database(database_);
  }
  Store& store() override { return *store_; }
  bool ok() const { return store_ != nullptr; }

 private:
  vontres::testing::PostgresServer* server_;
  std::string database_;
  std::unique_ptr<PostgresStore> store_;
};

template <typename Backend>
std::unique_ptr<StoreUnderTest> make(const Clock& clock) {
  auto instance = std::make_unique<Backend>(clock);
  if (!instance->ok()) return nullptr;
  return instance;
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest,
                         ::testing::Values(StoreBackend{"Sqlite", make<SqliteUnderTest>},
                                           StoreBackend{"Postgres", make<PostgresUnderTest>}),
                         StoreContractTest::backend_name);

}  // namespace
}  // namespace vontres::store
