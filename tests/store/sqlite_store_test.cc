#include "store/sqlite_store.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

namespace vontres::store {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = fs::temp_directory_path() /
            ("vontres-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

Result<std::unique_ptr<SqliteStore>> open_store(const std::string& path, const Clock& clock) {
  StoreConfig config;
  config.busy_timeout = std::chrono::milliseconds(5000);
  return SqliteStore::open(config, path, clock);
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteStore> open(const std::string& path) {
    auto opened = open_store(path, clock_);
    EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
    return opened.is_ok() ? std::move(opened).value() : nullptr;
  }

  static std::vector<Migration> schema() {
    return {{"notes", 1, "create notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"}};
  }

  ManualClock clock_;
  TempDir directory_;
};

TEST_F(SqliteStoreTest, OpensInWalModeWithForeignKeysOn) {
  auto store = open(directory_.file("a/b/c.db"));
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::exists(directory_.file("a/b/c.db"))) << "parent directories are created";
  auto mode = store->query("PRAGMA journal_mode");
  ASSERT_TRUE(mode.is_ok()) << mode.status().to_string();
  EXPECT_EQ((*mode)[0].get_string(0), "wal");
  auto foreign_keys = store->query("PRAGMA foreign_keys");
  ASSERT_TRUE(foreign_keys.is_ok());
  EXPECT_EQ((*foreign_keys)[0].get_int(0), 1);
  auto synchronous = store->query("PRAGMA synchronous");
  ASSERT_TRUE(synchronous.is_ok());
  EXPECT_EQ((*synchronous)[0].get_int(0), 1) << "NORMAL";
  EXPECT_EQ(store->dialect(), "sqlite");
}

TEST_F(SqliteStoreTest, DataSurvivesReopening) {
  const std::string path = directory_.file("reopen.db");
  {
    auto store = open(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->migrate(schema()).is_ok());
    ASSERT_TRUE(store->execute("INSERT INTO notes (body) VALUES ($1)", {std::string("kept")}).is_ok());
  }
  auto store = open(path);
  ASSERT_NE(store, nullptr);
  auto rows = store->query("SELECT body FROM notes");
  ASSERT_TRUE(rows.is_ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].get_string(0), "kept");
}

TEST_F(SqliteStoreTest, WithCteThatWritesIsRoutedToTheWriter) {
  auto store = open(directory_.file("cte.db"));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->migrate(schema()).is_ok());
  auto rows = store->query("WITH v(b) AS (SELECT $1) INSERT INTO notes (body) SELECT b FROM v RETURNING id",
                           {std::string("from cte")});
  ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
  EXPECT_EQ(rows->size(), 1u);
}

TEST_F(SqliteStoreTest, StoreWritesInsideATransactionBodyFailInsteadOfDeadlocking) {
  auto store = open(directory_.file("reentrant.db"));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->migrate(schema()).is_ok());
  Status status =
      store->transaction([&](Session&) { return store->execute("INSERT INTO notes (body) VALUES ('x')").status(); });
  EXPECT_EQ(status.code(), "store_error");
}

TEST_F(SqliteStoreTest, OnlyDollarNumberPlaceholdersAreAccepted) {
  auto store = open(directory_.file("placeholders.db"));
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->query("SELECT ?", {int64_t{1}}).is_ok());
  EXPECT_FALSE(store->query("SELECT :name", {int64_t{1}}).is_ok());
  EXPECT_FALSE(store->query("SELECT $1", {int64_t{1}, int64_t{2}}).is_ok()) << "an unused value is an error";
  EXPECT_FALSE(store->execute("SELECT 1; SELECT 2").is_ok()) << "one statement per call";
  auto rows = store->query("SELECT $1 + $1", {int64_t{21}});
  ASSERT_TRUE(rows.is_ok());
  EXPECT_EQ((*rows)[0].get_int(0), 42);
}

TEST_F(SqliteStoreTest, ManyDistinctStatementsOutgrowTheStatementCacheSafely) {
  auto store = open(directory_.file("cache.db"));
  ASSERT_NE(store, nullptr);
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < SqliteStore::kStatementCacheSize * 2; ++i) {
      auto rows = store->query("SELECT " + std::to_string(i) + " + $1", {int64_t{1}});
      ASSERT_TRUE(rows.is_ok());
      ASSERT_EQ((*rows)[0].get_int(0), static_cast<int64_t>(i) + 1);
    }
  }
}

TEST_F(SqliteStoreTest, BackupTakenDuringWritesRestoresIntoANewPath) {
  const std::string live_path = directory_.file("live/vontres.db");
  const std::string backup_path = directory_.file("backups/vontres-backup.db");
  const std::string restored_path = directory_.file("restored/vontres.db");
  auto store = open(live_path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->migrate(schema()).is_ok());
  // Enough rows that the copy takes several steps.
  ASSERT_TRUE(store
                  ->transaction([](Session& session) -> Status {
                    for (int i = 0; i < 5000; ++i) {
                      VONTRES_RETURN_IF_ERROR(
                          session.execute("INSERT INTO notes (body) VALUES ($1)", {std::string(200, 'a')}).status());
                    }
                    return Status::ok();
                  })
                  .is_ok());

  std::atomic<bool> stop{false};
  std::atomic<int> write_failures{0};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    while (!stop.load()) {
      if (store->execute("INSERT INTO notes (body) VALUES ($1)", {std::string("during")}).is_ok()) {
        writes.fetch_add(1);
      } else {
        write_failures.fetch_add(1);
      }
    }
  });
  Status backed_up = store->backup_to(backup_path);
  stop.store(true);
  writer.join();
  ASSERT_TRUE(backed_up.is_ok()) << backed_up.to_string();
  EXPECT_EQ(write_failures.load(), 0);
  EXPECT_GT(writes.load(), 0) << "writers kept going during the backup";
  auto live_count = store->query("SELECT COUNT(*) FROM notes");
  ASSERT_TRUE(live_count.is_ok());
  store.reset();

  Status restored = restore_sqlite_backup(backup_path, restored_path);
  ASSERT_TRUE(restored.is_ok()) << restored.to_string();
  auto reopened = open(restored_path);
  ASSERT_NE(reopened, nullptr);
  auto rows = reopened->query("SELECT COUNT(*) FROM notes WHERE body <> 'during'");
  ASSERT_TRUE(rows.is_ok());
  EXPECT_EQ((*rows)[0].get_int(0), 5000);
  auto total = reopened->query("SELECT COUNT(*) FROM notes");
  ASSERT_TRUE(total.is_ok());
  EXPECT_LE((*total)[0].get_int(0), (*live_count)[0].get_int(0)) << "a snapshot, never more than the live data";
  auto applied = reopened->applied_migrations();
  ASSERT_TRUE(applied.is_ok());
  EXPECT_EQ(applied->size(), 1u);
  auto integrity = reopened->query("PRAGMA integrity_check");
  ASSERT_TRUE(integrity.is_ok());
  EXPECT_EQ((*integrity)[0].get_string(0), "ok");
}

TEST_F(SqliteStoreTest, RestoreReplacesAnExistingDatabaseAndItsStaleWal) {
  const std::string path = directory_.file("db/vontres.db");
  const std::string backup_path = directory_.file("backup.db");
  {
    auto store = open(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->migrate(schema()).is_ok());
    ASSERT_TRUE(store->execute("INSERT INTO notes (body) VALUES ('in backup')").is_ok());
    ASSERT_TRUE(store->backup_to(backup_path).is_ok());
    ASSERT_TRUE(store->execute("INSERT INTO notes (body) VALUES ('after backup')").is_ok());
  }
  std::ofstream(path + "-wal") << "stale";  // what a crashed server might leave behind
  ASSERT_TRUE(restore_sqlite_backup(backup_path, path).is_ok());
  EXPECT_FALSE(fs::exists(path + "-wal"));
  auto store = open(path);
  ASSERT_NE(store, nullptr);
  auto rows = store->query("SELECT body FROM notes ORDER BY id");
  ASSERT_TRUE(rows.is_ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].get_string(0), "in backup");
}

TEST_F(SqliteStoreTest, RestoreRefusesAFileThatIsNotADatabase) {
  const std::string bogus = directory_.file("bogus.db");
  std::ofstream(bogus) << std::string(8192, 'x');
  const std::string target = directory_.file("target.db");
  Status status = restore_sqlite_backup(bogus, target);
  EXPECT_EQ(status.code(), "store_backup_invalid");
  EXPECT_NE(status.message().find("not a database"), std::string::npos) << status.message();
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(SqliteStoreTest, RestoreRefusesACorruptedBackup) {
  const std::string live_path = directory_.file("live.db");
  const std::string backup_path = directory_.file("backup.db");
  {
    auto store = open(live_path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->migrate(schema()).is_ok());
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(store->execute("INSERT INTO notes (body) VALUES ($1)", {std::string(500, 'z')}).is_ok());
    }
    ASSERT_TRUE(store->backup_to(backup_path).is_ok());
  }
  {
    // Scribble over a b-tree page in the middle of the file, leaving the header intact.
    std::fstream file(backup_path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(fs::file_size(backup_path) / 2));
    const std::string garbage(4096, '\x5a');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  Status status = restore_sqlite_backup(backup_path, directory_.file("target.db"));
  EXPECT_EQ(status.code(), "store_backup_invalid") << status.to_string();
  EXPECT_FALSE(fs::exists(directory_.file("target.db")));
}

TEST_F(SqliteStoreTest, RestoreRefusesADatabaseWithoutMigrations) {
  const std::string other = directory_.file("other.db");
  {
    auto store = open(other);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->execute("CREATE TABLE unrelated (x INTEGER)").is_ok());
  }
  Status status = restore_sqlite_backup(other, directory_.file("target.db"));
  EXPECT_EQ(status.code(), "store_backup_invalid");
  EXPECT_NE(status.message().find("schema_migrations"), std::string::npos);
}

TEST_F(SqliteStoreTest, RestoreOfAMissingBackupIsNotFound) {
  Status status = restore_sqlite_backup(directory_.file("nope.db"), directory_.file("target.db"));
  EXPECT_EQ(status.code(), "store_backup_not_found");
  EXPECT_EQ(status.kind(), ErrorKind::kNotFound);
}

}  // namespace
}  // namespace vontres::store
