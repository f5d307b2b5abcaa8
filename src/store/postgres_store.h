// PostgresStore: the distributed Store backend on PostgreSQL 15, through libpq.
//
// Connections: a bounded pool (PostgresOptions::pool_size) opened lazily; a caller waits at most
// pool_wait_timeout for a free connection ("store_busy" after that). A connection is checked before
// each use (pending server messages are read without blocking), and one found broken, or broken by
// the call, is discarded: the next call opens a new one. Every connect is bounded by connect_timeout.
// Each connection keeps an LRU cache of prepared statements keyed by SQL text and parameter types;
// statements other than SELECT/INSERT/UPDATE/DELETE/WITH/VALUES (DDL, SET, ...) are not cached.
//
// Values: int64 is sent as BIGINT, double as DOUBLE PRECISION, Blob as BYTEA (binary), text and
// NULL untyped (the server infers them from context). Read back: SMALLINT/INTEGER/BIGINT/BOOLEAN as
// int64, REAL/DOUBLE PRECISION as double, NUMERIC as int64 when integral (SUM) else double, BYTEA
// as Blob, everything else as text. Placeholders are `$1, $2, ...`; as with SqliteStore, every
// placeholder needs a value and every value a placeholder.
//
// Transactions run at SERIALIZABLE isolation, so a read-modify-write in a body behaves as if
// transactions ran one at a time. A body whose transaction fails with a serialization failure or a
// deadlock (SQLSTATE 40001/40P01) is rolled back and RUN AGAIN, up to kMaxTransactionAttempts times
// with a jittered back-off: a body must not have effects outside its Session that cannot be
// repeated. Unlike SQLite, a failing statement aborts the whole transaction (PostgreSQL semantics):
// later statements in the body fail, and the transaction is rolled back even if the body returns OK.
// Auto-commit statements on the store itself run at READ COMMITTED and are retried the same way.
//
// Errors: as store.h ("store_constraint" for SQLSTATE class 23, "store_busy" for exhausted retries,
// lock timeouts and a full pool, "store_error" otherwise), plus "store_unavailable" (kind
// unavailable) when the server cannot be reached or the connection is lost (also for a caller that
// waited for the pool while connects to the server were failing). A transaction that
// loses its connection before COMMIT has written nothing; one that loses it during COMMIT has an
// unknown outcome (reported as store_unavailable).
//
// migrate() holds a session-level advisory lock (pg_advisory_lock(kMigrationLockKey)) on one
// connection while it reads and applies migrations, so many processes starting at once apply each
// migration exactly once; the lock is released with the connection if the process dies.
//
// Thread-safety: every method may be called from any thread. A transaction body must use the
// Session it is given; calling the store from inside a body (same thread) fails with "store_error"
// (it would need a second connection and could deadlock against the first). No exception escapes
// except one thrown by a transaction body, which is rethrown after rollback.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "store/store.h"

namespace vontres::store {

namespace detail {
class PgConnection;
}  // namespace detail

struct PostgresOptions {
  // libpq conninfo ("host=... port=... dbname=... sslmode=verify-full sslrootcert=...") or URI
  // ("postgresql://user@host:port/db?sslmode=verify-full&sslrootcert=/etc/vontres/ca.pem").
  std::string conninfo;
  std::string password;  // empty: whatever conninfo/libpq says (e.g. ~/.pgpass); never logged
  size_t pool_size = 8;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds pool_wait_timeout{5'000};
};

// Turns the configuration into options: reads the password file (first line) if one is named and
// checks that the conninfo parses. Errors name the configuration key ("config_invalid").
Result<PostgresOptions> postgres_options_from_config(const StoreConfig& config);

class PostgresStore final : public Store {
 public:
  static constexpr size_t kStatementCacheSize = 128;  // per connection
  static constexpr int kMaxTransactionAttempts = 10;
  static constexpr int64_t kMigrationLockKey = 0x766f6e7472657301;  // "vontres" + 1

  // Opens the pool and one connection (so an unreachable server fails here, "store_unavailable").
  // `clock` stamps applied migrations and must outlive the store.
  static Result<std::unique_ptr<PostgresStore>> open(const PostgresOptions& options, const Clock& clock);
  static Result<std::unique_ptr<PostgresStore>> open(const StoreConfig& config, const Clock& clock);

  struct PrivateTag {
    explicit PrivateTag() = default;
  };
  PostgresStore(PrivateTag, PostgresOptions options, const Clock& clock);  // use open()
  ~PostgresStore() override;

  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  Result<Rows> query(std::string_view sql, const std::vector<Value>& params = {}) override;
  Result<int64_t> execute(std::string_view sql, const std::vector<Value>& params = {}) override;
  std::string_view dialect() const override { return "postgres"; }
  Status transaction(const std::function<Status(Session&)>& body) override;
  Status migrate(const std::vector<Migration>& migrations) override;
  Result<std::vector<AppliedMigration>> applied_migrations() override;
  Status ping() override;

  const PostgresOptions& options() const { return options_; }
  // Connections currently open (idle or in use); for tests and metrics.
  size_t open_connections();

 private:
  class Lease;
  class TransactionSession;

  Status check_not_reentrant() const;
  Result<Lease> acquire();
  void release(std::unique_ptr<detail::PgConnection> connection);
  // One auto-commit statement with retries; `want_rows` chooses query() or execute() semantics.
  Result<Rows> run_autocommit(std::string_view sql, const std::vector<Value>& params, int64_t* changed);
  // Runs `body` in one transaction on `connection` (no retries). REQUIRES: connection idle.
  Status transaction_once(detail::PgConnection& connection, const std::string& begin,
                          const std::function<Status(Session&)>& body);
  void back_off(int attempt);

  PostgresOptions options_;
  const Clock& clock_;

  std::mutex pool_mutex_;
  std::condition_variable connection_available_;
  std::vector<std::unique_ptr<detail::PgConnection>> idle_;     // GUARDED_BY(pool_mutex_)
  size_t open_count_ = 0;                                       // GUARDED_BY(pool_mutex_), idle + leased
  std::minstd_rand jitter_;                                     // GUARDED_BY(pool_mutex_)
  Status last_connect_error_;                                   // GUARDED_BY(pool_mutex_), OK after a success
  std::chrono::steady_clock::time_point last_connect_failure_;  // GUARDED_BY(pool_mutex_)
};

}  // namespace vontres::store
