// The behaviour every Store backend promises (store/store.h), as a parameterised suite. A backend's
// test file instantiates it with a factory that opens a fresh, empty store:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContractTest,
//       ::testing::Values(StoreBackend{"Sqlite", [](const Clock& clock) { return ...; }}),
//       StoreContractTest::backend_name);
//
// The factory returns a StoreUnderTest whose destructor cleans up (removes the temp file, drops the
// database). This header defines the TEST_Ps, so include it from exactly one .cc per test binary
// and put every backend's INSTANTIATE_TEST_SUITE_P of that binary in that file.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "store/store.h"

namespace vontres::store::testing {

class StoreUnderTest {
 public:
  virtual ~StoreUnderTest() = default;  // closes the store and removes what it created
  virtual Store& store() = 0;
};

struct StoreBackend {
  std::string name;
  // Returns an empty store stamping migrations with `clock`, or null (the test then fails).
  std::function<std::unique_ptr<StoreUnderTest>(const Clock& clock)> make;

  friend void PrintTo(const StoreBackend& backend, std::ostream* out) { *out << backend.name; }
};

class StoreContractTest : public ::testing::TestWithParam<StoreBackend> {
 public:
  static std::string backend_name(const ::testing::TestParamInfo<StoreBackend>& info) { return info.param.name; }

 protected:
  void SetUp() override {
    instance_ = GetParam().make(clock_);
    ASSERT_NE(instance_, nullptr);
  }
  void TearDown() override { instance_.reset(); }

  Store& store() { return instance_->store(); }

  void create_people_table() {
    auto created = store().execute(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, age INTEGER,"
        " score DOUBLE PRECISION, photo BYTEA, nickname TEXT)");
    ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  }

  int64_t count(const std::string& table) {
    auto rows = store().query("SELECT COUNT(*) FROM " + table);
    EXPECT_TRUE(rows.is_ok()) << rows.status().to_string();
    return rows.is_ok() ? (*rows)[0].get_int(0, -1) : -1;
  }

  ManualClock clock_;
  std::unique_ptr<StoreUnderTest> instance_;
};

TEST_P(StoreContractTest, PingSucceedsAndDialectIsNamed) {
  EXPECT_TRUE(store().ping().is_ok());
  EXPECT_TRUE(store().dialect() == "sqlite" || store().dialect() == "postgres");
}

TEST_P(StoreContractTest, RoundTripsEveryValueType) {
  create_people_table();
  const std::string bytes("\x00\x01\xfe\xff", 4);
  auto inserted =
      store().execute("INSERT INTO people (id, name, age, score, photo, nickname) VALUES ($1, $2, $3, $4, $5, $6)",
                      {int64_t{1}, std::string("Ada"), int64_t{36}, 97.5, Blob{bytes}, std::monostate{}});
  ASSERT_TRUE(inserted.is_ok()) << inserted.status().to_string();
  EXPECT_EQ(*inserted, 1);

  auto rows = store().query("SELECT id, name, age, score, photo, nickname FROM people WHERE id = $1", {int64_t{1}});
  ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->columns, (std::vector<std::string>{"id", "name", "age", "score", "photo", "nickname"}));
  const Row& row = (*rows)[0];
  EXPECT_EQ(row.get_int(0), 1);
  EXPECT_EQ(row.get_string(1), "Ada");
  EXPECT_EQ(row.get_int(2), 36);
  EXPECT_DOUBLE_EQ(row.get_double(3), 97.5);
  EXPECT_EQ(row.values[4], Value(Blob{bytes}));
  EXPECT_TRUE(row.is_null(5));
  EXPECT_EQ(row.get_optional_string(5), std::nullopt);
  EXPECT_EQ(row.get_string(5, "none"), "none") << "NULL yields the fallback";
  EXPECT_EQ(row.get_int(1, -1), -1) << "a value of another type yields the fallback";
}

TEST_P(StoreContractTest, UpdateAndDeleteReportRowsChanged) {
  create_people_table();
  for (int64_t id = 1; id <= 3; ++id) {
    ASSERT_TRUE(store()
                    .execute("INSERT INTO people (id, name, age) VALUES ($1, $2, $3)",
                             {id, "p" + std::to_string(id), int64_t{20}})
                    .is_ok());
  }
  auto updated = store().execute("UPDATE people SET age = age + 1 WHERE age = $1", {int64_t{20}});
  ASSERT_TRUE(updated.is_ok());
  EXPECT_EQ(*updated, 3);
  auto deleted = store().execute("DELETE FROM people WHERE id = $1", {int64_t{2}});
  ASSERT_TRUE(deleted.is_ok());
  EXPECT_EQ(*deleted, 1);
  auto none = store().execute("DELETE FROM people WHERE id = $1", {int64_t{2}});
  ASSERT_TRUE(none.is_ok());
  EXPECT_EQ(*none, 0);
  EXPECT_EQ(count("people"), 2);
}

TEST_P(StoreContractTest, PlaceholdersBindByNumberNotByPosition) {
  create_people_table();
  // $2 appears before $1, and $1 is used twice.
  ASSERT_TRUE(store()
                  .execute("INSERT INTO people (name, id, age) VALUES ($2, $1, $1)", {int64_t{7}, std::string("Grace")})
                  .is_ok());
  auto rows =
      store().query("SELECT id, age FROM people WHERE name = $2 AND id = $1", {int64_t{7}, std::string("Grace")});
  ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].get_int(0), 7);
  EXPECT_EQ((*rows)[0].get_int(1), 7);
}

TEST_P(StoreContractTest, MissingParameterIsAnError) {
  create_people_table();
  EXPECT_FALSE(store().query("SELECT name FROM people WHERE id = $2", {int64_t{1}}).is_ok());
}

TEST_P(StoreContractTest, SqlErrorsAreReportedAsStoreError) {
  auto result = store().query("SELECT * FROM no_such_table");
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), "store_error");
  EXPECT_EQ(result.status().kind(), ErrorKind::kInternal);
}

TEST_P(StoreContractTest, UniqueViolationIsStoreConstraint) {
  create_people_table();
  ASSERT_TRUE(store().execute("INSERT INTO people (name) VALUES ($1)", {std::string("Ada")}).is_ok());
  auto duplicate = store().execute("INSERT INTO people (name) VALUES ($1)", {std::string("Ada")});
  ASSERT_FALSE(duplicate.is_ok());
  EXPECT_EQ(duplicate.status().code(), "store_constraint");
  EXPECT_EQ(duplicate.status().kind(), ErrorKind::kAlreadyExists);
}

TEST_P(StoreContractTest, ForeignKeysAreEnforced) {
  ASSERT_TRUE(store().execute("CREATE TABLE queues (id INTEGER PRIMARY KEY)").is_ok());
  ASSERT_TRUE(store().execute("CREATE TABLE members (queue_id INTEGER NOT NULL REFERENCES queues (id))").is_ok());
  auto orphan = store().execute("INSERT INTO members (queue_id) VALUES ($1)", {int64_t{42}});
  ASSERT_FALSE(orphan.is_ok());
  EXPECT_EQ(orphan.status().code(), "store_constraint");
}

TEST_P(StoreContractTest, InsertReturningWorksThroughQuery) {
  create_people_table();
  auto rows = store().query("INSERT INTO people (name, age) VALUES ($1, $2) RETURNING id, name",
                            {std::string("Linus"), int64_t{55}});
  ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_GT((*rows)[0].get_int(0), 0);
  EXPECT_EQ((*rows)[0].get_string(1), "Linus");
  EXPECT_EQ(count("people"), 1) << "the insert was committed";
}

TEST_P(StoreContractTest, TransactionCommitsWhenTheBodySucceeds) {
  create_people_table();
  Status status = store().transaction([](Session& session) -> Status {
    VONTRES_RETURN_IF_ERROR(session.execute("INSERT INTO people (name) VALUES ($1)", {std::string("a")}).status());
    VONTRES_RETURN_IF_ERROR(session.execute("INSERT INTO people (name) VALUES ($1)", {std::string("b")}).status());
    auto inside = session.query("SELECT COUNT(*) FROM people");
    if (!inside.is_ok()) return inside.status();
    if ((*inside)[0].get_int(0) != 2) return internal_error("body does not see its own writes");
    return Status::ok();
  });
  ASSERT_TRUE(status.is_ok()) << status.to_string();
  EXPECT_EQ(count("people"), 2);
}

TEST_P(StoreContractTest, TransactionRollsBackWhenTheBodyFails) {
  create_people_table();
  Status status = store().transaction([](Session& session) -> Status {
    VONTRES_RETURN_IF_ERROR(session.execute("INSERT INTO people (name) VALUES ($1)", {std::string("a")}).status());
    return failed_precondition("changed my mind", "test_abort");
  });
  EXPECT_EQ(status.code(), "test_abort") << "the body's error is returned unchanged";
  EXPECT_EQ(count("people"), 0);
}

TEST_P(StoreContractTest, TransactionRollsBackOnAFailingStatement) {
  create_people_table();
  Status status = store().transaction([](Session& session) -> Status {
    VONTRES_RETURN_IF_ERROR(session.execute("INSERT INTO people (name) VALUES ($1)", {std::string("a")}).status());
    return session.execute("INSERT INTO people (name) VALUES ($1)", {std::string("a")}).status();
  });
  EXPECT_EQ(status.code(), "store_constraint");
  EXPECT_EQ(count("people"), 0);
}

TEST_P(StoreContractTest, TransactionRollsBackAndRethrowsOnException) {
  create_people_table();
  EXPECT_THROW((void)store().transaction([](Session& session) -> Status {
    (void)session.execute("INSERT INTO people (name) VALUES ($1)", {std::string("a")});
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_EQ(count("people"), 0);
  // The store is usable afterwards.
  ASSERT_TRUE(store()
                  .transaction([](Session& session) {
                    return session.execute("INSERT INTO people (name) VALUES ($1)", {std::string("b")}).status();
                  })
                  .is_ok());
  EXPECT_EQ(count("people"), 1);
}

TEST_P(StoreContractTest, ConcurrentWritersDoNotLoseUpdates) {
  ASSERT_TRUE(store().execute("CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)").is_ok());
  ASSERT_TRUE(store().execute("INSERT INTO counters (name, n) VALUES ('atomic', 0), ('read_modify_write', 0)").is_ok());
  constexpr int kThreads = 4;
  constexpr int kUpdatesPerThread = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kUpdatesPerThread; ++i) {
        if (!store().execute("UPDATE counters SET n = n + 1 WHERE name = 'atomic'").is_ok()) failures.fetch_add(1);
        // Read, then write what was read plus one: only correct if transactions are serialised.
        Status status = store().transaction([](Session& session) -> Status {
          auto current = session.query("SELECT n FROM counters WHERE name = 'read_modify_write'");
          if (!current.is_ok()) return current.status();
          return session
              .execute("UPDATE counters SET n = $1 WHERE name = 'read_modify_write'", {(*current)[0].get_int(0) + 1})
              .status();
        });
        if (!status.is_ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = store().query("SELECT name, n FROM counters ORDER BY name");
  ASSERT_TRUE(rows.is_ok());
  EXPECT_EQ((*rows)[0].get_int(1), kThreads * kUpdatesPerThread);
  EXPECT_EQ((*rows)[1].get_int(1), kThreads * kUpdatesPerThread);
}

TEST_P(StoreContractTest, ReadsFromOtherThreadsSeeCommittedWrites) {
  create_people_table();
  std::atomic<bool> stop{false};
  std::atomic<int> read_failures{0};
  std::thread reader([&] {
    int64_t last = 0;
    while (!stop.load()) {
      auto rows = store().query("SELECT COUNT(*) FROM people");
      if (!rows.is_ok() || (*rows)[0].get_int(0) < last) read_failures.fetch_add(1);
      if (rows.is_ok()) last = (*rows)[0].get_int(0);
    }
  });
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(store().execute("INSERT INTO people (name) VALUES ($1)", {"n" + std::to_string(i)}).is_ok());
  }
  stop.store(true);
  reader.join();
  EXPECT_EQ(read_failures.load(), 0);
  EXPECT_EQ(count("people"), 100);
}

std::vector<Migration> people_migrations() {
  return {
      {"people", 1, "create people", "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"},
      {"people", 2, "add email",
       "ALTER TABLE people ADD COLUMN email TEXT; CREATE UNIQUE INDEX people_email ON people (email);"},
  };
}

TEST_P(StoreContractTest, MigrationsApplyInVersionOrderAndOnlyOnce) {
  auto migrations = people_migrations();
  std::swap(migrations[0], migrations[1]);  // listed out of order on purpose
  ASSERT_TRUE(store().migrate(migrations).is_ok());
  ASSERT_TRUE(store()
                  .execute("INSERT INTO people (name, email) VALUES ($1, $2)",
                           {std::string("Ada"), std::string("ada@example.org")})
                  .is_ok());

  auto applied = store().applied_migrations();
  ASSERT_TRUE(applied.is_ok()) << applied.status().to_string();
  ASSERT_EQ(applied->size(), 2u);
  EXPECT_EQ((*applied)[0].component, "people");
  EXPECT_EQ((*applied)[0].version, 1);
  EXPECT_EQ((*applied)[0].description, "create people");
  EXPECT_EQ((*applied)[0].applied_at_ms, clock_.now_unix_ms());
  EXPECT_EQ((*applied)[1].version, 2);

  clock_.advance(std::chrono::hours(1));
  ASSERT_TRUE(store().migrate(people_migrations()).is_ok()) << "running again applies nothing";
  auto again = store().applied_migrations();
  ASSERT_TRUE(again.is_ok());
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[1].applied_at_ms, (*applied)[1].applied_at_ms);
  EXPECT_EQ(count("people"), 1);
}

TEST_P(StoreContractTest, LaterMigrationsApplyOnTopOfEarlierOnes) {
  auto migrations = people_migrations();
  ASSERT_TRUE(store().migrate({migrations[0]}).is_ok());
  ASSERT_TRUE(store().migrate(migrations).is_ok());
  auto applied = store().applied_migrations();
  ASSERT_TRUE(applied.is_ok());
  EXPECT_EQ(applied->size(), 2u);
}

TEST_P(StoreContractTest, EditedHistoryIsAMigrationConflict) {
  ASSERT_TRUE(store().migrate(people_migrations()).is_ok());
  auto edited = people_migrations();
  edited[0].description = "create persons";
  edited.push_back({"people", 3, "add phone", "ALTER TABLE people ADD COLUMN phone TEXT"});
  Status status = store().migrate(edited);
  EXPECT_EQ(status.code(), "migration_conflict");
  auto applied = store().applied_migrations();
  ASSERT_TRUE(applied.is_ok());
  EXPECT_EQ(applied->size(), 2u) << "nothing is applied when history conflicts";
}

TEST_P(StoreContractTest, FailingMigrationRollsBackAndKeepsEarlierOnes) {
  auto migrations = people_migrations();
  migrations.push_back(
      {"people", 3, "broken", "CREATE TABLE half_done (id INTEGER); INSERT INTO no_such_table VALUES (1);"});
  Status status = store().migrate(migrations);
  ASSERT_FALSE(status.is_ok());
  auto applied = store().applied_migrations();
  ASSERT_TRUE(applied.is_ok());
  EXPECT_EQ(applied->size(), 2u);
  EXPECT_FALSE(store().query("SELECT * FROM half_done").is_ok()) << "the failed migration's first statement was undone";
  EXPECT_TRUE(store().query("SELECT email FROM people").is_ok());
}

TEST_P(StoreContractTest, ComponentsAreVersionedIndependently) {
  std::vector<Migration> migrations = people_migrations();
  migrations.push_back({"queues", 1, "create queues", "CREATE TABLE queues (id INTEGER PRIMARY KEY)"});
  ASSERT_TRUE(store().migrate(migrations).is_ok());
  auto applied = store().applied_migrations();
  ASSERT_TRUE(applied.is_ok());
  EXPECT_EQ(applied->size(), 3u);
}

}  // namespace vontres::store::testing
