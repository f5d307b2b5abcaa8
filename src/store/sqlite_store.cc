#include "store/sqlite_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <exception>
#include <filesystem>
#include <list>
#include <map>
#include <unordered_map>
#include <utility>

#include "store/detail/common.h"

namespace vontres::store {

namespace fs = std::filesystem;

namespace detail {
namespace {

struct DatabaseCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using DatabaseHandle = std::unique_ptr<sqlite3, DatabaseCloser>;
using StatementHandle = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

Status sqlite_error(sqlite3* db, int rc, std::string_view context) {
  std::string message(context);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {  // primary code; extended codes are on
    case SQLITE_CONSTRAINT: return already_exists(std::move(message), "store_constraint");
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return unavailable(std::move(message), "store_busy");
    default: return internal_error(std::move(message), "store_error");
  }
}

Status store_error(std::string message) { return internal_error(std::move(message), "store_error"); }

// "$7" -> 7; anything else (?, ?7, :name, @name, $name) -> 0.
size_t placeholder_number(const char* name) {
  if (name == nullptr || name[0] != '$' || name[1] == '\0') return 0;
  std::string_view digits(name + 1);
  size_t number = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (error != std::errc() || end != digits.data() + digits.size()) return 0;
  return number;
}

int bind_value(sqlite3_stmt* statement, int index, const Value& value) {
  struct Binder {
    sqlite3_stmt* statement;
    int index;
    int operator()(std::monostate) const { return sqlite3_bind_null(statement, index); }
    int operator()(int64_t v) const { return sqlite3_bind_int64(statement, index, v); }
    int operator()(double v) const { return sqlite3_bind_double(statement, index, v); }
    int operator()(const std::string& v) const {
      return sqlite3_bind_text64(statement, index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
    int operator()(const Blob& v) const {
      return sqlite3_bind_blob64(statement, index, v.bytes.data(), v.bytes.size(), SQLITE_TRANSIENT);
    }
  };
  return std::visit(Binder{statement, index}, value);
}

Value column_value(sqlite3_stmt* statement, int column) {
  switch (sqlite3_column_type(statement, column)) {
    case SQLITE_INTEGER: return static_cast<int64_t>(sqlite3_column_int64(statement, column));
    case SQLITE_FLOAT: return sqlite3_column_double(statement, column);
    case SQLITE_TEXT: {
      // Text first, then its length: the documented order that avoids a conversion in between.
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
      const int length = sqlite3_column_bytes(statement, column);
      return text == nullptr ? std::string() : std::string(text, static_cast<size_t>(length));
    }
    case SQLITE_BLOB: {
      const auto* bytes = static_cast<const char*>(sqlite3_column_blob(statement, column));
      const int length = sqlite3_column_bytes(statement, column);
      return Blob{bytes == nullptr ? std::string() : std::string(bytes, static_cast<size_t>(length))};
    }
    default: return std::monostate{};
  }
}

// Leaves a cached statement ready for its next use, and releases the read snapshot it holds,
// whatever way the run ends.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* statement) : statement_(statement) {}
  ~ResetOnExit() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* statement_;
};

std::string unique_suffix() {
  static std::atomic<uint64_t> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace

// One sqlite3 connection and its prepared-statement cache. Not thread-safe: the store hands each
// connection to one thread at a time (the writer under its mutex, readers through the pool).
class SqliteConnection {
 public:
  explicit SqliteConnection(DatabaseHandle db) : db_(std::move(db)) {}  // use open()
  static Result<std::unique_ptr<SqliteConnection>> open(const std::string& path, bool read_only,
                                                        std::chrono::milliseconds busy_timeout) {
    sqlite3* raw = nullptr;
    // NOMUTEX: SQLite's own per-connection mutex would only duplicate the store's locking.
    const int flags =
        (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    DatabaseHandle db(raw);  // a handle is returned even on failure and must be closed
    if (rc != SQLITE_OK) return sqlite_error(db.get(), rc, "opening " + path);
    sqlite3_extended_result_codes(db.get(), 1);
    sqlite3_busy_timeout(db.get(), static_cast<int>(busy_timeout.count()));
    return std::make_unique<SqliteConnection>(std::move(db));
  }

  sqlite3* db() const { return db_.get(); }

  // A statement for `sql` from the cache (prepared and cached on a miss). The caller must reset it.
  Result<sqlite3_stmt*> prepare_cached(std::string_view sql) {
    if (auto found = index_.find(sql); found != index_.end()) {
      cache_.splice(cache_.begin(), cache_, found->second);
      return found->second->statement.get();
    }
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc =
        sqlite3_prepare_v3(db(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw, &tail);
    StatementHandle statement(raw);
    if (rc != SQLITE_OK) return sqlite_error(db(), rc, "preparing statement");
    if (statement == nullptr) return invalid_argument("empty SQL statement", "store_error");
    if (!skip_blank(std::string_view(tail, static_cast<size_t>(sql.data() + sql.size() - tail))).empty()) {
      return store_error("query() and execute() take one statement; put scripts in a migration");
    }
    cache_.push_front(CachedStatement{std::string(sql), std::move(statement)});
    index_.emplace(std::string_view(cache_.front().sql), cache_.begin());
    if (cache_.size() > SqliteStore::kStatementCacheSize) {
      index_.erase(std::string_view(cache_.back().sql));
      cache_.pop_back();
    }
    return cache_.front().statement.get();
  }

  Result<Rows> query(std::string_view sql, const std::vector<Value>& params) {
    VONTRES_ASSIGN_OR_RETURN(sqlite3_stmt * statement, prepare_cached(sql));
    return run(statement, params);
  }

  // Runs a prepared statement to completion, collecting its rows.
  Result<Rows> run(sqlite3_stmt* statement, const std::vector<Value>& params) {
    ResetOnExit reset(statement);
    VONTRES_RETURN_IF_ERROR(bind(statement, params));
    Rows rows;
    const int columns = sqlite3_column_count(statement);
    rows.columns.reserve(static_cast<size_t>(columns));
    for (int c = 0; c < columns; ++c) rows.columns.emplace_back(sqlite3_column_name(statement, c));
    while (true) {
      const int rc = sqlite3_step(statement);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return sqlite_error(db(), rc, "running statement");
      Row row;
      row.values.reserve(static_cast<size_t>(columns));
      for (int c = 0; c < columns; ++c) row.values.push_back(column_value(statement, c));
      rows.rows.push_back(std::move(row));
    }
    return rows;
  }

  Result<int64_t> execute(std::string_view sql, const std::vector<Value>& params) {
    VONTRES_ASSIGN_OR_RETURN(sqlite3_stmt * statement, prepare_cached(sql));
    ResetOnExit reset(statement);
    VONTRES_RETURN_IF_ERROR(bind(statement, params));
    const int64_t total_before = sqlite3_total_changes64(db());
    int rc = SQLITE_ROW;
    while (rc == SQLITE_ROW) rc = sqlite3_step(statement);
    if (rc != SQLITE_DONE) return sqlite_error(db(), rc, "running statement");
    // sqlite3_changes64 keeps the count of the last DML statement, so DDL would report a stale
    // number; an unchanged total means this statement changed nothing.
    return sqlite3_total_changes64(db()) == total_before ? 0 : sqlite3_changes64(db());
  }

  // Runs every statement of a script (uncached; migrations run once).
  Status execute_script(std::string_view sql) {
    while (true) {
      sql = skip_blank(sql);
      if (sql.empty()) return Status::ok();
      sqlite3_stmt* raw = nullptr;
      const char* tail = nullptr;
      const int rc = sqlite3_prepare_v2(db(), sql.data(), static_cast<int>(sql.size()), &raw, &tail);
      StatementHandle statement(raw);
      if (rc != SQLITE_OK) return sqlite_error(db(), rc, "preparing script statement");
      if (statement != nullptr) {
        int step = SQLITE_ROW;
        while (step == SQLITE_ROW) step = sqlite3_step(statement.get());
        if (step != SQLITE_DONE) return sqlite_error(db(), step, "running script statement");
      }
      sql = std::string_view(tail, static_cast<size_t>(sql.data() + sql.size() - tail));
    }
  }

 private:
  struct CachedStatement {
    std::string sql;
    StatementHandle statement;
  };

  Status bind(sqlite3_stmt* statement, const std::vector<Value>& params) {
    // SQLite numbers named parameters by first appearance, so "$2 ... $1" makes "$2" index 1:
    // bind by name, and insist every placeholder is $N and every value is used, as PostgreSQL does.
    const int count = sqlite3_bind_parameter_count(statement);
    std::vector<bool> used(params.size(), false);
    for (int index = 1; index <= count; ++index) {
      const char* name = sqlite3_bind_parameter_name(statement, index);
      const size_t number = placeholder_number(name);
      if (number == 0) {
        return invalid_argument(std::string("placeholder ") + (name != nullptr ? name : "?") + " is not of the form $N",
                                "store_error");
      }
      if (number > params.size()) {
        return invalid_argument(
            "placeholder $" + std::to_string(number) + " has no value (" + std::to_string(params.size()) + " given)",
            "store_error");
      }
      used[number - 1] = true;
      const int rc = bind_value(statement, index, params[number - 1]);
      if (rc != SQLITE_OK) return sqlite_error(db(), rc, "binding $" + std::to_string(number));
    }
    if (auto unused = std::find(used.begin(), used.end(), false); unused != used.end()) {
      return invalid_argument("value " + std::to_string(unused - used.begin() + 1) + " has no placeholder",
                              "store_error");
    }
    return Status::ok();
  }

  // Declared before the cache so statements are finalised before the connection closes.
  DatabaseHandle db_;
  std::list<CachedStatement> cache_;                                                  // front = most recently used
  std::unordered_map<std::string_view, std::list<CachedStatement>::iterator> index_;  // views CachedStatement::sql
};

}  // namespace detail

using detail::SqliteConnection;

namespace {

Status exception_status(const char* what) {
  return internal_error(std::string("unexpected exception in SQLite store: ") + what, "store_error");
}

Result<std::string> single_text(SqliteConnection& connection, std::string_view sql) {
  VONTRES_ASSIGN_OR_RETURN(Rows rows, connection.query(sql, {}));
  if (rows.empty() || rows[0].values.empty())
    return internal_error("no result from " + std::string(sql), "store_error");
  return rows[0].get_string(0);
}

// Copies the whole of `source` into the file at `destination_path` in one step, then leaves the copy
// in rollback-journal mode so it is a single self-contained file.
Status copy_database(sqlite3* source, const std::string& destination_path) {
  VONTRES_ASSIGN_OR_RETURN(auto destination,
                           SqliteConnection::open(destination_path, false, std::chrono::milliseconds(5000)));
  sqlite3_backup* backup = sqlite3_backup_init(destination->db(), "main", source, "main");
  if (backup == nullptr)
    return detail::sqlite_error(destination->db(), sqlite3_errcode(destination->db()), "starting copy");
  const int step = sqlite3_backup_step(backup, -1);
  const int finish = sqlite3_backup_finish(backup);
  if (step != SQLITE_DONE) return detail::sqlite_error(destination->db(), step, "copying database");
  if (finish != SQLITE_OK) return detail::sqlite_error(destination->db(), finish, "finishing copy");
  return single_text(*destination, "PRAGMA journal_mode=DELETE").status();
}

void remove_quietly(const fs::path& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
}

void remove_with_sidecars(const std::string& path) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) remove_quietly(path + suffix);
}

Status create_parent_directories(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) return Status::ok();
  std::error_code error;
  fs::create_directories(parent, error);
  if (error) return internal_error("creating " + parent.string() + ": " + error.message(), "store_error");
  return Status::ok();
}

}  // namespace

// Marks the writer as held by this thread, so re-entry from a transaction body is reported
// instead of deadlocking.
class SqliteStore::WriterGuard {
 public:
  explicit WriterGuard(SqliteStore& store) : store_(store), lock_(store.writer_mutex_) {
    store_.writer_owner_.store(std::this_thread::get_id());
  }
  ~WriterGuard() { store_.writer_owner_.store(std::thread::id()); }
  WriterGuard(const WriterGuard&) = delete;
  WriterGuard& operator=(const WriterGuard&) = delete;

 private:
  SqliteStore& store_;
  std::lock_guard<std::mutex> lock_;
};

// The Session a transaction body sees: everything on the writer, whose lock the body's thread holds.
class SqliteStore::WriterSession final : public Session {
 public:
  explicit WriterSession(SqliteConnection& writer) : writer_(writer) {}
  Result<Rows> query(std::string_view sql, const std::vector<Value>& params) override {
    try {
      return writer_.query(sql, params);
    } catch (const std::exception& e) {
      return exception_status(e.what());
    }
  }
  Result<int64_t> execute(std::string_view sql, const std::vector<Value>& params) override {
    try {
      return writer_.execute(sql, params);
    } catch (const std::exception& e) {
      return exception_status(e.what());
    }
  }

 private:
  SqliteConnection& writer_;
};

SqliteStore::SqliteStore(PrivateTag, std::string path, const Clock& clock) : path_(std::move(path)), clock_(clock) {}

SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const StoreConfig& config, const std::string& path,
                                                       const Clock& clock) {
  try {
    if (path.empty()) return invalid_argument("SQLite database path is empty", "store_error");
    VONTRES_RETURN_IF_ERROR(create_parent_directories(path));
    auto store = std::make_unique<SqliteStore>(PrivateTag(), path, clock);
    VONTRES_ASSIGN_OR_RETURN(store->writer_, SqliteConnection::open(path, false, config.busy_timeout));
    VONTRES_ASSIGN_OR_RETURN(std::string mode, single_text(*store->writer_, "PRAGMA journal_mode=WAL"));
    if (mode != "wal")
      return internal_error("could not enable WAL mode on " + path + " (got " + mode + ")", "store_error");
    VONTRES_RETURN_IF_ERROR(store->writer_->execute_script("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
    // Readers open after the writer has put the file in WAL mode (a read-only connection cannot).
    for (size_t i = 0; i < kReaderConnections; ++i) {
      VONTRES_ASSIGN_OR_RETURN(auto reader, SqliteConnection::open(path, true, config.busy_timeout));
      store->idle_readers_.push_back(reader.get());
      store->readers_.push_back(std::move(reader));
    }
    return store;
  } catch (const std::exception& e) {
    return exception_status(e.what());
  }
}

Status SqliteStore::check_not_reentrant() const {
  if (writer_owner_.load() == std::this_thread::get_id()) {
    return internal_error("SQLite store write re-entered from inside a transaction body; use its Session",
                          "store_error");
  }
  return Status::ok();
}

SqliteConnection* SqliteStore::acquire_reader() {
  std::unique_lock lock(readers_mutex_);
  reader_available_.wait(lock, [&] { return !idle_readers_.empty(); });
  SqliteConnection* reader = idle_readers_.back();
  idle_readers_.pop_back();
  return reader;
}

void SqliteStore::release_reader(SqliteConnection* reader) {
  {
    std::lock_guard lock(readers_mutex_);
    idle_readers_.push_back(reader);
  }
  reader_available_.notify_one();
}

Result<Rows> SqliteStore::query(std::string_view sql, const std::vector<Value>& params) {
  try {
    const std::string_view statement = detail::skip_blank(sql);
    if (detail::starts_with_keyword(statement, "SELECT") || detail::starts_with_keyword(statement, "WITH") ||
        detail::starts_with_keyword(statement, "VALUES")) {
      SqliteConnection* reader = acquire_reader();
      struct Release {
        SqliteStore* store;
        SqliteConnection* reader;
        ~Release() { store->release_reader(reader); }
      } release{this, reader};
      VONTRES_ASSIGN_OR_RETURN(sqlite3_stmt * prepared, reader->prepare_cached(sql));
      // "WITH ... INSERT ..." looks like a read but is not; SQLite knows for sure.
      if (sqlite3_stmt_readonly(prepared) != 0) return reader->run(prepared, params);
    }
    VONTRES_RETURN_IF_ERROR(check_not_reentrant());
    WriterGuard guard(*this);
    return writer_->query(sql, params);
  } catch (const std::exception& e) {
    return exception_status(e.what());
  }
}

Result<int64_t> SqliteStore::execute(std::string_view sql, const std::vector<Value>& params) {
  try {
    VONTRES_RETURN_IF_ERROR(check_not_reentrant());
    WriterGuard guard(*this);
    return writer_->execute(sql, params);
  } catch (const std::exception& e) {
    return exception_status(e.what());
  }
}

Status SqliteStore::transaction(const std::function<Status(Session&)>& body) {
  Status reentrant = check_not_reentrant();
  if (!reentrant.is_ok()) return reentrant;
  WriterGuard guard(*this);
  return transaction_locked(body);
}

void SqliteStore::rollback_locked() {
  // Some errors (SQLITE_FULL, IOERR, ...) already rolled the transaction back.
  if (sqlite3_get_autocommit(writer_->db()) == 0) (void)writer_->execute_script("ROLLBACK");
}

Status SqliteStore::transaction_locked(const std::function<Status(Session&)>& body) {
  Status begin = writer_->execute_script("BEGIN IMMEDIATE");
  if (!begin.is_ok()) return begin;
  WriterSession session(*writer_);
  Status result;
  try {
    result = body(session);
  } catch (...) {
    rollback_locked();
    throw;
  }
  if (!result.is_ok()) {
    rollback_locked();
    return result;
  }
  Status commit = writer_->execute_script("COMMIT");
  if (!commit.is_ok()) rollback_locked();
  return commit;
}

Status SqliteStore::ensure_migrations_table_locked() {
  return writer_->execute_script(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " component TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL,"
      " applied_at_ms INTEGER NOT NULL, PRIMARY KEY (component, version))");
}

Status SqliteStore::migrate(const std::vector<Migration>& migrations) {
  try {
    VONTRES_ASSIGN_OR_RETURN(detail::MigrationPlan plan, detail::MigrationPlan::check(migrations));
    VONTRES_RETURN_IF_ERROR(check_not_reentrant());
    WriterGuard guard(*this);
    VONTRES_RETURN_IF_ERROR(ensure_migrations_table_locked());
    VONTRES_ASSIGN_OR_RETURN(Rows applied,
                             writer_->query("SELECT component, version, description FROM schema_migrations", {}));
    VONTRES_ASSIGN_OR_RETURN(std::vector<const Migration*> pending,
                             plan.pending(detail::applied_descriptions(applied)));

    for (const Migration* migration : pending) {
      Status status = transaction_locked([&](Session&) -> Status {
        VONTRES_RETURN_IF_ERROR(writer_->execute_script(migration->sql));
        return writer_
            ->execute(
                "INSERT INTO schema_migrations (component, version, description, applied_at_ms)"
                " VALUES ($1, $2, $3, $4)",
                {migration->component, int64_t{migration->version}, migration->description, clock_.now_unix_ms()})
            .status();
      });
      if (!status.is_ok()) {
        return status.with_context("migration " + migration->component + " v" + std::to_string(migration->version) +
                                   " (" + migration->description + ")");
      }
    }
    return Status::ok();
  } catch (const std::exception& e) {
    return exception_status(e.what());
  }
}

Result<std::vector<AppliedMigration>> SqliteStore::applied_migrations() {
  try {
    VONTRES_RETURN_IF_ERROR(check_not_reentrant());
    WriterGuard guard(*this);
    VONTRES_RETURN_IF_ERROR(ensure_migrations_table_locked());
    VONTRES_ASSIGN_OR_RETURN(
        Rows rows, writer_->query("SELECT component, version, description, applied_at_ms FROM schema_migrations"
                                  " ORDER BY component, version",
                                  {}));
    return detail::applied_migrations_of(rows);
  } catch (const std::exception& e) {
    return exception_status(e.what());
  }
}

Status SqliteStore::ping() { return query("SELECT 1").status(); }

Status SqliteStore::backup_to(const std::string& destination_path) {
  try {
    VONTRES_RETURN_IF_ERROR(check_not_reentrant());
    VONTRES_RETURN_IF_ERROR(create_parent_directories(destination_path));
    const std::string temp_path = destination_path + ".tmp-" + detail::unique_suffix();
    struct RemoveTemp {
      std::string path;
      bool keep = false;
      ~RemoveTemp() {
        if (!keep) remove_with_sidecars(path);
      }
    } cleanup{temp_path};

    VONTRES_ASSIGN_OR_RETURN(auto destination,
                             SqliteConnection::open(temp_path, false, std::chrono::milliseconds(5000)));
    // The writer is the source: pages it writes during the copy are applied to the copy as well, so
    // the backup never restarts and ends as a consistent snapshot. The writer lock is held only for
    // one step at a time (and for init/finish, which touch the writer connection).
    sqlite3_backup* backup = nullptr;
    {
      WriterGuard guard(*this);
      backup = sqlite3_backup_init(destination->db(), "main", writer_->db(), "main");
    }
    if (backup == nullptr) {
      return detail::sqlite_error(destination->db(), sqlite3_errcode(destination->db()), "starting backup");
    }
    int step = SQLITE_OK;
    while (step == SQLITE_OK || step == SQLITE_BUSY || step == SQLITE_LOCKED) {
      {
        WriterGuard guard(*this);
        step = sqlite3_backup_step(backup, kBackupPagesPerStep);
      }
      if (step == SQLITE_BUSY || step == SQLITE_LOCKED) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      } else {
        std::this_thread::yield();  // let a waiting writer in between steps
      }
    }
    int finish = SQLITE_OK;
    {
      WriterGuard guard(*this);
      finish = sqlite3_backup_finish(backup);
    }
    if (step != SQLITE_DONE) return detail::sqlite_error(destination->db(), step, "backing up " + path_);
    if (finish != SQLITE_OK) return detail::sqlite_error(destination->db(), finish, "finishing backup of " + path_);
    // A single self-contained file: no -wal to carry around with the backup.
    VONTRES_RETURN_IF_ERROR(single_text(*destination, "PRAGMA journal_mode=DELETE").status());
    destination.reset();

    std::error_code error;
    fs::rename(temp_path, destination_path, error);
    if (error) {
      return internal_error("moving backup into place at " + destination_path + ": " + error.message(), "store_error");
    }
    cleanup.keep = true;
    return Status::ok();
  } catch (const std::exception& e) {
    return exception_status(e.what());
  }
}

Status restore_sqlite_backup(const std::string& backup_path, const std::string& database_path) {
  try {
    std::error_code error;
    if (!fs::is_regular_file(backup_path, error)) {
      return not_found("backup file " + backup_path + " does not exist", "store_backup_not_found");
    }
    auto invalid = [&](const std::string& why) {
      return failed_precondition("backup " + backup_path + " is not a usable Vontres database: " + why,
                                 "store_backup_invalid");
    };
    auto opened = SqliteConnection::open(backup_path, true, std::chrono::milliseconds(5000));
    if (!opened.is_ok()) return invalid(opened.status().message());
    auto& backup = *opened;
    auto integrity = single_text(*backup, "PRAGMA integrity_check");
    if (!integrity.is_ok()) return invalid(integrity.status().message());
    if (*integrity != "ok") return invalid("integrity check failed: " + *integrity);
    auto tables = backup->query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", {});
    if (!tables.is_ok()) return invalid(tables.status().message());
    if (tables->empty()) return invalid("it has no schema_migrations table");

    VONTRES_RETURN_IF_ERROR(create_parent_directories(database_path));
    // Copy next to the target first, so a failed copy leaves the old database untouched.
    const std::string temp_path = database_path + ".restore-" + detail::unique_suffix();
    Status copied = copy_database(backup->db(), temp_path);
    backup.reset();
    if (!copied.is_ok()) {
      remove_with_sidecars(temp_path);
      return copied.with_context("restoring " + backup_path);
    }
    // A leftover -wal of the old database would be replayed onto the restored one.
    for (const char* suffix : {"-wal", "-shm", "-journal"}) remove_quietly(database_path + suffix);
    fs::rename(temp_path, database_path, error);
    if (error) {
      remove_with_sidecars(temp_path);
      return internal_error("moving restored database into place at " + database_path + ": " + error.message(),
                            "store_error");
    }
    return Status::ok();
  } catch (const std::exception& e) {
    return exception_status(e.what());
  }
}

}  // namespace vontres::store
