// SqliteStore: the embedded Store backend, one database file in WAL mode (synchronous=NORMAL,
// foreign_keys=ON, busy_timeout from config).
//
// Connections: ONE writer connection, guarded by a mutex, runs execute(), transaction(), migrate()
// and any query() that may write (INSERT ... RETURNING, PRAGMA, ...). A small pool of read-only
// connections runs query() statements that SQLite reports as read-only, so reads never wait for
// writers (WAL gives each read a consistent snapshot of committed data). Each connection keeps an
// LRU cache of prepared statements keyed by SQL text. Placeholders are `$1, $2, ...`, bound by name.
//
// Thread-safety: every method may be called from any thread. A transaction body must use the
// Session it is given; calling the Store's write methods from inside a body (same thread) fails
// with "store_error" instead of deadlocking. No exception escapes except one thrown by a
// transaction body, which is rethrown after rollback.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "store/store.h"

namespace vontres::store {

namespace detail {
class SqliteConnection;
}  // namespace detail

class SqliteStore final : public Store {
 public:
  static constexpr size_t kReaderConnections = 4;
  static constexpr size_t kStatementCacheSize = 64;  // per connection
  static constexpr int kBackupPagesPerStep = 256;    // writer lock is released between steps

  // Opens (creating it and its parent directories if needed) the database at `path`.
  // `clock` stamps applied migrations and must outlive the store.
  static Result<std::unique_ptr<SqliteStore>> open(const StoreConfig& config, const std::string& path,
                                                   const Clock& clock);
  struct PrivateTag {
    explicit PrivateTag() = default;
  };
  SqliteStore(PrivateTag, std::string path, const Clock& clock);  // use open()
  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<Rows> query(std::string_view sql, const std::vector<Value>& params = {}) override;
  Result<int64_t> execute(std::string_view sql, const std::vector<Value>& params = {}) override;
  std::string_view dialect() const override { return "sqlite"; }
  Status transaction(const std::function<Status(Session&)>& body) override;
  Status migrate(const std::vector<Migration>& migrations) override;
  Result<std::vector<AppliedMigration>> applied_migrations() override;
  Status ping() override;

  // Writes a consistent copy of the live database to `destination_path` (parent directories are
  // created) while the store stays in use: the copy is built in a temporary file next to the
  // destination in chunks of kBackupPagesPerStep pages, then renamed over it.
  Status backup_to(const std::string& destination_path);

  const std::string& path() const { return path_; }

 private:
  class WriterGuard;
  class WriterSession;

  // Fails if this thread already holds the writer (a transaction body calling the Store itself).
  Status check_not_reentrant() const;
  detail::SqliteConnection* acquire_reader();
  void release_reader(detail::SqliteConnection* reader);
  // REQUIRES: writer held (WriterGuard).
  Status transaction_locked(const std::function<Status(Session&)>& body);
  void rollback_locked();
  Status ensure_migrations_table_locked();

  std::string path_;
  const Clock& clock_;

  std::mutex writer_mutex_;
  std::unique_ptr<detail::SqliteConnection> writer_;  // GUARDED_BY(writer_mutex_)
  std::atomic<std::thread::id> writer_owner_;         // the thread holding writer_mutex_, if any

  std::mutex readers_mutex_;
  std::condition_variable reader_available_;
  std::vector<std::unique_ptr<detail::SqliteConnection>> readers_;  // owns all readers
  std::vector<detail::SqliteConnection*> idle_readers_;             // GUARDED_BY(readers_mutex_)
};

// Replaces the database at `database_path` with the backup at `backup_path`, after checking the
// backup opens, passes `PRAGMA integrity_check` and has a schema_migrations table (otherwise
// failed_precondition "store_backup_invalid"; a missing file is not_found "store_backup_not_found").
// Stale -wal/-shm files of the old database are removed. Only call while no process has the
// database open (the server is stopped).
Status restore_sqlite_backup(const std::string& backup_path, const std::string& database_path);

}  // namespace vontres::store
