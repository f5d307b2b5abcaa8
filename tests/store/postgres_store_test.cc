// PostgresStore beyond the shared contract: pool bounds, lost connections and server restarts,
// TLS, concurrent migrate() across processes' worth of pools, value mapping, pg_dump backups. Runs
// against the binary's one PostgreSQL server (registered in store_contract_test.cc).
#include "store/postgres_store.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres_dump.h"
#include "support/peers.h"
#include "support/postgres_server.h"
#include "support/subprocess.h"

namespace vontres::store {
namespace {

using vontres::testing::PostgresEnvironment;
using vontres::testing::PostgresServer;

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = PostgresEnvironment::server();
    ASSERT_NE(server_, nullptr);
    std::string error;
    auto database = server_->create_database(&error);
    ASSERT_TRUE(database.has_value()) << error;
    database_ = *database;
  }
  void TearDown() override {
    if (server_ != nullptr && !database_.empty()) server_->drop_database(database_);
  }

  PostgresOptions options() const {
    PostgresOptions options;
    options.conninfo = server_->conninfo(database_);
    options.pool_size = 4;
    options.connect_timeout = std::chrono::milliseconds(2000);
    options.pool_wait_timeout = std::chrono::milliseconds(5000);
    return options;
  }

  std::unique_ptr<PostgresStore> open(const PostgresOptions& options) {
    auto opened = PostgresStore::open(options, clock_);
    EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
    return opened.is_ok() ? std::move(opened).value() : nullptr;
  }
  std::unique_ptr<PostgresStore> open() { return open(options()); }

  ManualClock clock_;
  PostgresServer* server_ = nullptr;
  std::string database_;
};

TEST_F(PostgresStoreTest, OpenFailsWithStoreUnavailableWhenNothingListens) {
  PostgresOptions unreachable = options();
  unreachable.conninfo = "host=127.0.0.1 port=" + std::to_string(vontres::testing::free_port()) + " dbname=x";
  auto opened = PostgresStore::open(unreachable, clock_);
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), "store_unavailable");
  EXPECT_EQ(opened.status().kind(), ErrorKind::kUnavailable);
}

TEST_F(PostgresStoreTest, ConnectTimeoutEndsAConnectThatTheServerNeverAnswers) {
  // A socket that completes the TCP handshake (the kernel does) but never speaks PostgreSQL.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  PostgresOptions silent = options();
  silent.conninfo = "host=127.0.0.1 port=" + std::to_string(ntohs(address.sin_port)) + " dbname=x sslmode=disable";
  silent.connect_timeout = std::chrono::milliseconds(300);
  auto opened = PostgresStore::open(silent, clock_);
  ::close(listener);
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), "store_unavailable");
  EXPECT_NE(opened.status().message().find("timed out"), std::string::npos) << opened.status().message();
}

TEST_F(PostgresStoreTest, PoolNeverOpensMoreThanItsSize) {
  PostgresOptions small = options();
  small.pool_size = 2;
  auto store = open(small);
  ASSERT_NE(store, nullptr);
  std::atomic<size_t> most{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (!store->query("SELECT pg_sleep(0.002)").is_ok()) failures.fetch_add(1);
        size_t now = store->open_connections();
        size_t seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(most.load(), 2u);
  auto backends = store->query(
      "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'vontres'");
  ASSERT_TRUE(backends.is_ok()) << backends.status().to_string();
  EXPECT_LE((*backends)[0].get_int(0), 2);
}

TEST_F(PostgresStoreTest, AFullPoolIsStoreBusyAfterTheWaitTimeout) {
  PostgresOptions one = options();
  one.pool_size = 1;
  one.pool_wait_timeout = std::chrono::milliseconds(100);
  auto store = open(one);
  ASSERT_NE(store, nullptr);
  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};
  std::thread holder([&] {
    (void)store->transaction([&](Session&) {
      inside.store(true);
      for (int i = 0; i < 1000 && !release.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return Status::ok();
    });
  });
  for (int i = 0; i < 1000 && !inside.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto busy = store->query("SELECT 1");
  release.store(true);
  holder.join();
  ASSERT_FALSE(busy.is_ok());
  EXPECT_EQ(busy.status().code(), "store_busy");
  EXPECT_TRUE(store->ping().is_ok()) << "the connection is free again";
}

TEST_F(PostgresStoreTest, StoreCalledFromInsideATransactionBodyFailsInsteadOfDeadlocking) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  Status status = store->transaction([&](Session&) { return store->execute("SELECT 1").status(); });
  EXPECT_EQ(status.code(), "store_error");
}

TEST_F(PostgresStoreTest, ValuesMapAsDocumented) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(
      store->execute("CREATE TABLE v (big BIGINT, small INTEGER, flag BOOLEAN, real4 REAL, name TEXT)").is_ok());
  const int64_t ms = 1'764'806'400'123;  // a millisecond timestamp: needs more than 32 bits
  ASSERT_TRUE(store
                  ->execute("INSERT INTO v (big, small, flag, real4, name) VALUES ($1, $2, TRUE, $3, $4)",
                            {ms, int64_t{7}, 0.5, std::string("O'Brien ✓")})
                  .is_ok());
  auto rows = store->query(
      "SELECT big, small, flag, real4, name, SUM(big) OVER (), AVG(small) OVER (), 1.5::NUMERIC, NULL FROM v");
  ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
  const Row& row = (*rows)[0];
  EXPECT_EQ(row.get_int(0), ms);
  EXPECT_EQ(row.get_int(1), 7);
  EXPECT_EQ(row.get_int(2), 1) << "BOOLEAN reads as 0/1";
  EXPECT_DOUBLE_EQ(row.get_double(3), 0.5);
  EXPECT_EQ(row.get_string(4), "O'Brien ✓");
  EXPECT_EQ(row.get_int(5), ms) << "an integral NUMERIC (SUM) reads as int64";
  EXPECT_DOUBLE_EQ(row.get_double(6), 7.0) << "a fractional NUMERIC (AVG) reads as double";
  EXPECT_DOUBLE_EQ(row.get_double(7), 1.5);
  EXPECT_TRUE(row.is_null(8));
}

TEST_F(PostgresStoreTest, PlaceholdersFollowTheSameRulesAsSqlite) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->query("SELECT $1", {int64_t{1}, int64_t{2}}).is_ok()) << "an unused value is an error";
  EXPECT_FALSE(store->query("SELECT $2", {int64_t{1}}).is_ok());
  EXPECT_FALSE(store->execute("SELECT 1; SELECT 2").is_ok()) << "one statement per call";
  auto literal = store->query("SELECT '$1' || $$ $2 $$ || \"n\" FROM (SELECT 'x' AS n) AS t -- $3");
  ASSERT_TRUE(literal.is_ok()) << literal.status().to_string();
  EXPECT_EQ((*literal)[0].get_string(0), "$1 $2 x");
  auto sum = store->query("SELECT $1 + $1", {int64_t{21}});
  ASSERT_TRUE(sum.is_ok()) << sum.status().to_string();
  EXPECT_EQ((*sum)[0].get_int(0), 42);
}

TEST_F(PostgresStoreTest, ManyDistinctStatementsOutgrowTheStatementCacheSafely) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < PostgresStore::kStatementCacheSize * 2; ++i) {
      auto rows = store->query("SELECT " + std::to_string(i) + " + $1", {int64_t{1}});
      ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
      ASSERT_EQ((*rows)[0].get_int(0), static_cast<int64_t>(i) + 1);
    }
  }
  auto prepared = store->query("SELECT COUNT(*) FROM pg_prepared_statements");
  ASSERT_TRUE(prepared.is_ok());
  EXPECT_LE((*prepared)[0].get_int(0), static_cast<int64_t>(PostgresStore::kStatementCacheSize) + 1)
      << "evicted statements are deallocated on the server";
}

TEST_F(PostgresStoreTest, CachedStatementsSurviveATableChangingShape) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->execute("CREATE TABLE shape (a INTEGER)").is_ok());
  ASSERT_TRUE(store->execute("INSERT INTO shape (a) VALUES (1)").is_ok());
  ASSERT_TRUE(store->query("SELECT * FROM shape").is_ok());
  ASSERT_TRUE(
      store->transaction([](Session& session) { return session.query("SELECT * FROM shape").status(); }).is_ok());
  ASSERT_TRUE(store->execute("ALTER TABLE shape ADD COLUMN b TEXT DEFAULT 'b'").is_ok());
  auto rows = store->query("SELECT * FROM shape");
  ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
  EXPECT_EQ(rows->columns.size(), 2u);
  Status in_transaction = store->transaction([](Session& session) -> Status {
    VONTRES_ASSIGN_OR_RETURN(Rows inside, session.query("SELECT * FROM shape"));
    return inside.columns.size() == 2 ? Status::ok() : internal_error("stale shape");
  });
  EXPECT_TRUE(in_transaction.is_ok()) << in_transaction.to_string();
}

TEST_F(PostgresStoreTest, AStatementFailureAbortsTheWholeTransaction) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->execute("CREATE TABLE once (k TEXT PRIMARY KEY)").is_ok());
  ASSERT_TRUE(store->execute("INSERT INTO once (k) VALUES ('a')").is_ok());
  Status status = store->transaction([](Session& session) -> Status {
    (void)session.execute("INSERT INTO once (k) VALUES ('b')");
    (void)session.execute("INSERT INTO once (k) VALUES ('a')");  // fails; the body ignores it
    return Status::ok();
  });
  EXPECT_EQ(status.code(), "store_error");
  auto rows = store->query("SELECT COUNT(*) FROM once");
  ASSERT_TRUE(rows.is_ok());
  EXPECT_EQ((*rows)[0].get_int(0), 1) << "'b' was rolled back with the failed transaction";
}

TEST_F(PostgresStoreTest, SerializationFailuresAreRetriedUntilTheTransactionCommits) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->execute("CREATE TABLE ticket (n BIGINT NOT NULL)").is_ok());
  std::atomic<int> runs{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        // Reads the highest ticket and inserts the next one: without serializable isolation two
        // transactions would take the same number (there is no unique constraint to stop them).
        Status status = store->transaction([&](Session& session) -> Status {
          runs.fetch_add(1);
          VONTRES_ASSIGN_OR_RETURN(Rows top, session.query("SELECT COALESCE(MAX(n), 0) FROM ticket"));
          return session.execute("INSERT INTO ticket (n) VALUES ($1)", {top[0].get_int(0) + 1}).status();
        });
        if (!status.is_ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = store->query("SELECT COUNT(*), COUNT(DISTINCT n), MAX(n) FROM ticket");
  ASSERT_TRUE(rows.is_ok());
  EXPECT_EQ((*rows)[0].get_int(0), 80);
  EXPECT_EQ((*rows)[0].get_int(1), 80) << "no ticket was taken twice";
  EXPECT_EQ((*rows)[0].get_int(2), 80);
  EXPECT_GT(runs.load(), 80) << "some bodies ran again after a serialization failure";
}

TEST_F(PostgresStoreTest, MigrateFromManyThreadsAndPoolsAppliesEachMigrationOnce) {
  // Not idempotent on purpose: applying one twice would fail (table exists) or add a second row.
  std::vector<Migration> migrations;
  for (int v = 1; v <= 5; ++v) {
    migrations.push_back({"race", v, "step " + std::to_string(v),
                          "CREATE TABLE race_" + std::to_string(v) + " (n INTEGER); INSERT INTO race_" +
                              std::to_string(v) + " VALUES (1)"});
  }
  std::vector<std::unique_ptr<PostgresStore>> stores;
  for (int s = 0; s < 4; ++s) {
    PostgresOptions separate = options();
    separate.pool_size = 2;
    stores.push_back(open(separate));
    ASSERT_NE(stores.back(), nullptr);
  }
  std::mutex mutex;
  std::vector<std::string> errors;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (auto& store : stores) {
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, target = store.get()] {
        for (int i = 0; i < 10000 && !go.load(); ++i) std::this_thread::yield();
        Status status = target->migrate(migrations);
        if (!status.is_ok()) {
          std::lock_guard lock(mutex);
          errors.push_back(status.to_string());
        }
      });
    }
  }
  go.store(true);
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(errors.empty()) << errors.front();
  auto applied = stores[0]->applied_migrations();
  ASSERT_TRUE(applied.is_ok());
  EXPECT_EQ(applied->size(), 5u);
  for (int v = 1; v <= 5; ++v) {
    auto rows = stores[0]->query("SELECT COUNT(*) FROM race_" + std::to_string(v));
    ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
    EXPECT_EQ((*rows)[0].get_int(0), 1) << "race v" << v;
  }
}

TEST_F(PostgresStoreTest, KilledBackendsAreReplacedOnTheNextCall) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->ping().is_ok());
  auto admin = PostgresStore::open(PostgresOptions{server_->conninfo("postgres"), "", 1}, clock_);
  ASSERT_TRUE(admin.is_ok()) << admin.status().to_string();
  auto killed =
      (*admin)->query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", {database_});
  ASSERT_TRUE(killed.is_ok()) << killed.status().to_string();
  ASSERT_GE(killed->size(), 1u);
  // pg_terminate_backend only signals: wait until those backends have gone.
  for (int i = 0; i < 500; ++i) {
    auto left = (*admin)->query("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1", {database_});
    ASSERT_TRUE(left.is_ok());
    if ((*left)[0].get_int(0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The idle connection learnt of its end while idle; the pool replaces it before use.
  for (int i = 0; i < 3; ++i) {
    Status pinged = store->ping();
    EXPECT_TRUE(pinged.is_ok()) << pinged.to_string();
  }
}

TEST_F(PostgresStoreTest, RestartUnderLoadFailsFastWithStoreUnavailableAndRecovers) {
  PostgresOptions quick = options();
  quick.connect_timeout = std::chrono::milliseconds(1000);
  auto store = open(quick);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->execute("CREATE TABLE items (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
                            " tag TEXT NOT NULL)")
                  .is_ok());

  std::atomic<bool> stop{false};
  std::atomic<int> successes{0};
  std::mutex mutex;
  std::vector<std::string> unexpected;  // any failure other than store_unavailable
  std::vector<std::thread> writers;
  writers.reserve(3);
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 100000 && !stop.load(); ++i) {
        Status status = (i % 2 == 0)
                            ? store->execute("INSERT INTO items (tag) VALUES ($1)", {"w" + std::to_string(t)}).status()
                            : store->query("SELECT COUNT(*) FROM items").status();
        if (status.is_ok()) {
          successes.fetch_add(1);
        } else {
          if (status.code() != "store_unavailable") {
            std::lock_guard lock(mutex);
            unexpected.push_back(status.to_string());
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      }
    });
  }

  // A transaction that has written a row when the server goes away.
  std::atomic<bool> inside{false};
  std::atomic<bool> server_down{false};
  Status in_flight;
  std::thread transaction([&] {
    in_flight = store->transaction([&](Session& session) -> Status {
      VONTRES_RETURN_IF_ERROR(session.execute("INSERT INTO items (tag) VALUES ('partial-1')").status());
      inside.store(true);
      for (int i = 0; i < 3000 && !server_down.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return session.execute("INSERT INTO items (tag) VALUES ('partial-2')").status();
    });
  });
  for (int i = 0; i < 3000 && !inside.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(inside.load());
  for (int i = 0; i < 1000 && successes.load() < 20; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));

  std::string error;
  ASSERT_TRUE(server_->stop(&error)) << error;
  server_down.store(true);
  transaction.join();
  EXPECT_EQ(in_flight.code(), "store_unavailable") << in_flight.to_string();

  // While it is down, every kind of request fails at once with store_unavailable.
  EXPECT_EQ(store->ping().code(), "store_unavailable");
  EXPECT_EQ(store->query("SELECT 1").status().code(), "store_unavailable");
  EXPECT_EQ(store->execute("INSERT INTO items (tag) VALUES ('down')").status().code(), "store_unavailable");
  EXPECT_EQ(store->transaction([](Session&) { return Status::ok(); }).code(), "store_unavailable");
  EXPECT_EQ(store->migrate({{"down", 1, "never", "SELECT 1"}}).code(), "store_unavailable");
  EXPECT_EQ(store->applied_migrations().status().code(), "store_unavailable");

  ASSERT_TRUE(server_->restart(&error)) << error;
  const int before = successes.load();
  // Back up: the next requests succeed (broken pooled connections are replaced, not reused).
  EXPECT_TRUE(store->ping().is_ok()) << store->ping().to_string();
  auto inserted = store->execute("INSERT INTO items (tag) VALUES ('after')");
  EXPECT_TRUE(inserted.is_ok()) << inserted.status().to_string();
  for (int i = 0; i < 2000 && successes.load() < before + 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop.store(true);
  for (auto& writer : writers) writer.join();
  EXPECT_GE(successes.load(), before + 20) << "the writers recovered";
  EXPECT_TRUE(unexpected.empty()) << unexpected.front();

  auto partial = store->query("SELECT COUNT(*) FROM items WHERE tag LIKE 'partial-%'");
  ASSERT_TRUE(partial.is_ok()) << partial.status().to_string();
  EXPECT_EQ((*partial)[0].get_int(0), 0) << "the interrupted transaction left nothing behind";
  EXPECT_LE(store->open_connections(), quick.pool_size);
}

TEST_F(PostgresStoreTest, TlsWithVerifyFullConnectsAndAWrongCaIsRefused) {
  ASSERT_FALSE(server_->ca_file().empty()) << "the test server runs with TLS";
  PostgresOptions tls = options();
  tls.conninfo = "host=127.0.0.1 port=" + std::to_string(server_->port()) + " user=postgres dbname=" + database_ +
                 " sslmode=verify-full sslrootcert=" + server_->ca_file();
  auto store = open(tls);
  ASSERT_NE(store, nullptr);
  auto ssl = store->query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
  ASSERT_TRUE(ssl.is_ok()) << ssl.status().to_string();
  ASSERT_EQ(ssl->size(), 1u);
  EXPECT_EQ((*ssl)[0].get_int(0), 1) << "the connection is encrypted";
  EXPECT_TRUE((*ssl)[0].get_string(1).starts_with("TLSv1.")) << (*ssl)[0].get_string(1);

  // A CA that did not sign the server's certificate.
  vontres::testing::TempDir other;
  const auto made = vontres::testing::run(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       other.path() + "/ca.key", "-out", other.path() + "/ca.crt", "-days", "2", "-subj", "/CN=Wrong CA"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  PostgresOptions wrong = tls;
  wrong.conninfo = "host=127.0.0.1 port=" + std::to_string(server_->port()) + " user=postgres dbname=" + database_ +
                   " sslmode=verify-full sslrootcert=" + other.path() + "/ca.crt";
  auto refused = PostgresStore::open(wrong, clock_);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), "store_unavailable");
  EXPECT_NE(refused.status().message().find("certificate"), std::string::npos) << refused.status().message();
}

TEST_F(PostgresStoreTest, OptionsFromConfigReadThePasswordFileAndNameBadKeys) {
  vontres::testing::TempDir dir;
  std::ofstream(dir.path() + "/password") << "s3cret\n";
  StoreConfig config;
  config.backend = "postgres";
  config.postgres.url = "postgresql://vontres@127.0.0.1:5432/vontres?sslmode=verify-full&sslrootcert=/ca.pem";
  config.postgres.password_file = dir.path() + "/password";
  config.postgres.pool_size = 3;
  auto options = postgres_options_from_config(config);
  ASSERT_TRUE(options.is_ok()) << options.status().to_string();
  EXPECT_EQ(options->password, "s3cret");
  EXPECT_EQ(options->pool_size, 3u);

  config.postgres.password_file = dir.path() + "/missing";
  auto missing = postgres_options_from_config(config);
  EXPECT_EQ(missing.status().code(), "config_invalid");
  EXPECT_NE(missing.status().message().find("store.postgres.password_file"), std::string::npos);

  config.postgres.password_file.clear();
  config.postgres.url = "host=127.0.0.1 nonsense_key=1";
  auto bad = postgres_options_from_config(config);
  EXPECT_EQ(bad.status().code(), "config_invalid");
  EXPECT_NE(bad.status().message().find("store.postgres.url"), std::string::npos) << bad.status().message();
}

TEST_F(PostgresStoreTest, PgDumpWritesABackupThatPgRestoreLoads) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->migrate({{"notes", 1, "create notes", "CREATE TABLE notes (body TEXT NOT NULL)"}}).is_ok());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store->execute("INSERT INTO notes (body) VALUES ($1)", {"n" + std::to_string(i)}).is_ok());
  }
  const std::string pg_dump = find_pg_dump();
  ASSERT_FALSE(pg_dump.empty()) << "pg_dump not found";
  vontres::testing::TempDir dir;
  const std::string backup = dir.path() + "/nested/vontres.dump";
  Status dumped = dump_postgres(options(), backup);
  ASSERT_TRUE(dumped.is_ok()) << dumped.to_string();
  std::ifstream in(backup, std::ios::binary);
  std::string magic(5, '\0');
  in.read(magic.data(), 5);
  EXPECT_EQ(magic, "PGDMP") << "pg_dump's custom format";

  std::string error;
  auto restored_database = server_->create_database(&error);
  ASSERT_TRUE(restored_database.has_value()) << error;
  const std::string pg_restore = std::filesystem::path(pg_dump).parent_path().string() + "/pg_restore";
  const auto restored =
      vontres::testing::run({pg_restore, "--dbname=" + server_->conninfo(*restored_database), backup});
  EXPECT_EQ(restored.exit_code, 0) << restored.err;
  PostgresOptions copy = options();
  copy.conninfo = server_->conninfo(*restored_database);
  {
    auto reopened = open(copy);
    ASSERT_NE(reopened, nullptr);
    auto rows = reopened->query("SELECT COUNT(*) FROM notes");
    ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
    EXPECT_EQ((*rows)[0].get_int(0), 50);
    auto applied = reopened->applied_migrations();
    ASSERT_TRUE(applied.is_ok());
    EXPECT_EQ(applied->size(), 1u);
  }
  server_->drop_database(*restored_database);

  EXPECT_EQ(dump_postgres(options(), dir.path() + "/x.dump", dir.path() + "/no-pg_dump").code(), "pg_dump_not_found");
  PostgresOptions unreachable = options();
  unreachable.conninfo = "host=127.0.0.1 port=" + std::to_string(vontres::testing::free_port()) + " dbname=x";
  Status failed = dump_postgres(unreachable, dir.path() + "/y.dump");
  EXPECT_EQ(failed.code(), "store_backup_failed");
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/y.dump")) << "no partial file at the destination";
}

}  // namespace
}  // namespace vontres::store
