// Store: the system of record (users, queues, calls, audit). SQL is written in the common subset of
// SQLite and PostgreSQL, with positional `$1, $2, ...` placeholders; where the dialects differ a
// caller asks dialect(). Every component registers its schema as numbered migrations that
// migrate() applies once each, in order, at start-up.
//
// Implementations: SqliteStore (store/sqlite_store.h, WAL mode, one writer, prepared statements,
// busy timeout); later PostgresStore. All pass tests/store/store_contract.h.
// Thread-safety: every method may be called from any thread. A Session handed to a transaction
// body belongs to that body's thread and must not escape it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace vontres::store {

struct Blob {
  std::string bytes;
  bool operator==(const Blob&) const = default;
};
// NULL, INTEGER, REAL, TEXT, BLOB.
using Value = std::variant<std::monostate, int64_t, double, std::string, Blob>;

struct Row {
  std::vector<Value> values;
  bool is_null(size_t i) const { return std::holds_alternative<std::monostate>(values.at(i)); }
  // Typed accessors; a NULL or a value of another type yields the fallback.
  int64_t get_int(size_t i, int64_t fallback = 0) const;
  double get_double(size_t i, double fallback = 0) const;
  std::string get_string(size_t i, const std::string& fallback = {}) const;
  std::optional<std::string> get_optional_string(size_t i) const;
};

struct Rows {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  bool empty() const { return rows.empty(); }
  size_t size() const { return rows.size(); }
  const Row& operator[](size_t i) const { return rows[i]; }
};

// One unit of work on a connection: inside a transaction, or auto-commit on the Store itself.
// Errors: "store_constraint" (unique/foreign key violation, kind already_exists), "store_busy"
// (kind unavailable, retry), "store_error" (anything else, kind internal).
class Session {
 public:
  virtual ~Session() = default;
  virtual Result<Rows> query(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  // Returns the number of rows changed.
  virtual Result<int64_t> execute(std::string_view sql, const std::vector<Value>& params = {}) = 0;
};

struct Migration {
  std::string component;  // e.g. "users"; versions are numbered per component
  int version = 0;        // 1, 2, 3, ... applied in ascending order
  std::string description;
  std::string sql;  // one or more statements separated by ';'
};

struct AppliedMigration {
  std::string component;
  int version = 0;
  std::string description;
  int64_t applied_at_ms = 0;
};

class Store : public Session {
 public:
  // "sqlite" or "postgres".
  virtual std::string_view dialect() const = 0;

  // Runs `body` in one transaction: commits if it returns OK, rolls back otherwise (and on
  // exceptions, which are rethrown). Transactions are serialised with other writers.
  virtual Status transaction(const std::function<Status(Session&)>& body) = 0;

  // Applies the migrations not yet applied, each in its own transaction, in version order per
  // component. Idempotent: running it again applies nothing. Fails with "migration_conflict" if
  // an applied version's description differs (someone edited history).
  virtual Status migrate(const std::vector<Migration>& migrations) = 0;
  virtual Result<std::vector<AppliedMigration>> applied_migrations() = 0;

  virtual Status ping() = 0;
};

}  // namespace vontres::store
