// Store reads and writes per second: PostgresStore against SqliteStore (the baseline) in the same
// run, on the same schema and statements. PostgreSQL is a real server this binary starts on
// 127.0.0.1 (tests/support/postgres_server.h, fsync on and synchronous_commit off: the closest
// match to SQLite's WAL mode with synchronous=NORMAL); SQLite is a file in a temporary directory.
// After the Google Benchmark table, prints each Postgres benchmark's items/s as a ratio of its
// Sqlite twin at the same thread count. Not a test: nothing is asserted.
//
//   build/bench/vontres_store_bench [--benchmark_min_time=1]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"
#include "support/postgres_server.h"
#include "support/subprocess.h"

namespace {

using vontres::store::Session;
using vontres::store::Store;
using vontres::store::Value;

constexpr int64_t kRows = 10'000;

struct Backends {
  vontres::SystemClock clock;
  std::unique_ptr<vontres::testing::TempDir> sqlite_dir;
  std::unique_ptr<vontres::store::SqliteStore> sqlite;
  std::unique_ptr<vontres::testing::PostgresServer> server;
  std::unique_ptr<vontres::store::PostgresStore> postgres;
  std::string error;
};

vontres::Status prepare(Store& store) {
  const std::string id = store.dialect() == "postgres" ? "id BIGINT PRIMARY KEY" : "id INTEGER PRIMARY KEY";
  VONTRES_RETURN_IF_ERROR(store.migrate({{"bench", 1, "bench tables",
                                          "CREATE TABLE agents (" + id +
                                              ", org_id TEXT NOT NULL, name TEXT NOT NULL, calls BIGINT NOT NULL);"
                                              "CREATE TABLE events (seq BIGINT NOT NULL, org_id TEXT NOT NULL, at_ms "
                                              "BIGINT NOT NULL, body TEXT NOT NULL)"}}));
  return store.transaction([](Session& session) -> vontres::Status {
    for (int64_t i = 0; i < kRows; ++i) {
      VONTRES_RETURN_IF_ERROR(session
                                  .execute("INSERT INTO agents (id, org_id, name, calls) VALUES ($1, $2, $3, 0)",
                                           {i, std::string("org-1"), "agent " + std::to_string(i)})
                                  .status());
    }
    return vontres::Status::ok();
  });
}

Backends& backends() {
  static Backends* all = [] {
    auto* b = new Backends();  // NOLINT(cppcoreguidelines-owning-memory): lives for the whole run
    b->sqlite_dir = std::make_unique<vontres::testing::TempDir>();
    vontres::StoreConfig config;
    auto sqlite = vontres::store::SqliteStore::open(config, b->sqlite_dir->path() + "/bench.db", b->clock);
    if (!sqlite.is_ok()) {
      b->error = sqlite.status().to_string();
      return b;
    }
    b->sqlite = std::move(sqlite).value();
    b->server = vontres::testing::PostgresServer::start({.tls = false, .durable = true}, &b->error);
    if (b->server == nullptr) return b;
    auto database = b->server->create_database(&b->error);
    if (!database) return b;
    vontres::store::PostgresOptions options;
    options.conninfo = b->server->conninfo(*database);
    options.pool_size = 8;
    auto postgres = vontres::store::PostgresStore::open(options, b->clock);
    if (!postgres.is_ok()) {
      b->error = postgres.status().to_string();
      return b;
    }
    b->postgres = std::move(postgres).value();
    for (Store* store : {static_cast<Store*>(b->sqlite.get()), static_cast<Store*>(b->postgres.get())}) {
      vontres::Status prepared = prepare(*store);
      if (!prepared.is_ok()) b->error = prepared.to_string();
    }
    return b;
  }();
  return *all;
}

Store* store_for(benchmark::State& state, bool postgres) {
  Backends& b = backends();
  Store* store = postgres ? static_cast<Store*>(b.postgres.get()) : static_cast<Store*>(b.sqlite.get());
  if (!b.error.empty() || store == nullptr) {
    state.SkipWithError(("backends not ready: " + b.error).c_str());
    return nullptr;
  }
  return store;
}

// A point read by primary key, as the users and routing services do per request.
void point_read(benchmark::State& state, bool postgres) {
  Store* store = store_for(state, postgres);
  if (store == nullptr) return;
  int64_t i = state.thread_index() * 7919;
  for (auto _ : state) {
    auto rows = store->query("SELECT name, calls FROM agents WHERE id = $1", {i++ % kRows});
    if (!rows.is_ok() || rows->size() != 1) {
      state.SkipWithError(rows.is_ok() ? "row missing" : rows.status().to_string().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// An auto-commit insert, as call records and transcript lines are written.
void insert(benchmark::State& state, bool postgres) {
  Store* store = store_for(state, postgres);
  if (store == nullptr) return;
  int64_t i = 0;
  const std::string body(200, 'x');
  for (auto _ : state) {
    auto written = store->execute("INSERT INTO events (seq, org_id, at_ms, body) VALUES ($1, $2, $3, $4)",
                                  {i++, std::string("org-1"), int64_t{1'764'806'400'000} + i, body});
    if (!written.is_ok()) {
      state.SkipWithError(written.status().to_string().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// A read-modify-write transaction on one of many rows (little contention).
void read_modify_write(benchmark::State& state, bool postgres) {
  Store* store = store_for(state, postgres);
  if (store == nullptr) return;
  int64_t i = state.thread_index() * 7919;
  for (auto _ : state) {
    const int64_t id = i++ % kRows;
    vontres::Status status = store->transaction([&](Session& session) -> vontres::Status {
      VONTRES_ASSIGN_OR_RETURN(auto rows, session.query("SELECT calls FROM agents WHERE id = $1", {id}));
      return session.execute("UPDATE agents SET calls = $1 WHERE id = $2", {rows[0].get_int(0) + 1, id}).status();
    });
    if (!status.is_ok()) {
      state.SkipWithError(status.to_string().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SqlitePointRead(benchmark::State& state) { point_read(state, false); }
void BM_PostgresPointRead(benchmark::State& state) { point_read(state, true); }
void BM_SqliteInsert(benchmark::State& state) { insert(state, false); }
void BM_PostgresInsert(benchmark::State& state) { insert(state, true); }
void BM_SqliteReadModifyWrite(benchmark::State& state) { read_modify_write(state, false); }
void BM_PostgresReadModifyWrite(benchmark::State& state) { read_modify_write(state, true); }

BENCHMARK(BM_SqlitePointRead)->Threads(1)->Threads(4)->UseRealTime();
BENCHMARK(BM_PostgresPointRead)->Threads(1)->Threads(4)->UseRealTime();
BENCHMARK(BM_SqliteInsert)->Threads(1)->Threads(4)->UseRealTime();
BENCHMARK(BM_PostgresInsert)->Threads(1)->Threads(4)->UseRealTime();
BENCHMARK(BM_SqliteReadModifyWrite)->Threads(1)->Threads(4)->UseRealTime();
BENCHMARK(BM_PostgresReadModifyWrite)->Threads(1)->Threads(4)->UseRealTime();

// Prints the usual table and remembers items/s per run name for the ratio summary.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      auto found = run.counters.find("items_per_second");
      if (found != run.counters.end()) items_per_second_[run.benchmark_name()] = found->second.value;
    }
  }

  void print_ratios() const {
    std::printf("\n%-44s %14s %14s %8s\n", "PostgreSQL vs SQLite (same run)", "postgres/s", "sqlite/s", "ratio");
    for (const auto& [name, rate] : items_per_second_) {
      if (name.rfind("BM_Postgres", 0) != 0) continue;
      const std::string baseline = "BM_Sqlite" + name.substr(std::string("BM_Postgres").size());
      auto found = items_per_second_.find(baseline);
      if (found == items_per_second_.end() || found->second <= 0) continue;
      std::printf("%-44s %14.0f %14.0f %7.2fx\n", name.c_str(), rate, found->second, rate / found->second);
    }
  }

 private:
  std::map<std::string, double> items_per_second_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  // Stop PostgreSQL (by its PID) and remove the temporary directories.
  Backends& b = backends();
  b.postgres.reset();
  b.server.reset();
  b.sqlite.reset();
  b.sqlite_dir.reset();
  return 0;
}
