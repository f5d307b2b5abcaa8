#include "store/postgres_store.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <list>
#include <map>
#include <thread>
#include <unordered_map>
#include <utility>

#include "store/detail/common.h"

namespace vontres::store {

namespace detail {
namespace {

// Type OIDs from the server's pg_type catalogue (stable across versions).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

struct ConnectionCloser {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ConnectionHandle = std::unique_ptr<PGconn, ConnectionCloser>;
using ResultHandle = std::unique_ptr<PGresult, ResultClearer>;

Status store_error(std::string message) { return internal_error(std::move(message), "store_error"); }
Status store_unavailable(std::string message) { return unavailable(std::move(message), "store_unavailable"); }

std::string trimmed(const char* text) {
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

// SQLSTATEs after which the connection (or the server) is gone: the request may be retried
// elsewhere, later. 08P01 (protocol violation, e.g. a wrong parameter count) is the caller's error.
bool is_unavailable_state(std::string_view state) {
  if (state.starts_with("08")) return state != "08P01";
  return state == "57P01" || state == "57P02" || state == "57P03" || state == "53300";
}

bool is_retryable_state(std::string_view state) { return state == "40001" || state == "40P01"; }

bool is_cacheable(std::string_view sql) {
  const std::string_view statement = skip_blank(sql);
  for (std::string_view keyword : {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES"}) {
    if (starts_with_keyword(statement, keyword)) return true;
  }
  return false;
}

// The $N placeholders of `sql` outside literals, quoted identifiers and comments: every one needs a
// value and every value a placeholder (the server itself accepts unused declared parameters).
Status check_placeholders(std::string_view sql, size_t values) {
  std::vector<bool> used(values, false);
  size_t i = 0;
  auto skip_until = [&](std::string_view end) {
    const size_t found = sql.find(end, i);
    i = found == std::string_view::npos ? sql.size() : found + end.size();
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'') {
      // E'...' strings escape with backslashes; all strings double a quote to include it.
      const bool backslashes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
      ++i;
      while (i < sql.size()) {
        if (backslashes && sql[i] == '\\') {
          i += 2;
        } else if (sql[i] == '\'') {
          if (i + 1 < sql.size() && sql[i + 1] == '\'') {
            i += 2;
          } else {
            ++i;
            break;
          }
        } else {
          ++i;
        }
      }
    } else if (c == '"') {
      ++i;
      skip_until("\"");
    } else if (sql.substr(i).starts_with("--")) {
      skip_until("\n");
    } else if (sql.substr(i).starts_with("/*")) {
      i += 2;
      skip_until("*/");
    } else if (c == '$') {
      size_t end = i + 1;
      while (end < sql.size() && std::isdigit(static_cast<unsigned char>(sql[end]))) ++end;
      if (end > i + 1) {
        size_t number = 0;
        std::from_chars(sql.data() + i + 1, sql.data() + end, number);
        if (number == 0 || number > values) {
          return invalid_argument("placeholder $" + std::string(sql.substr(i + 1, end - i - 1)) + " has no value (" +
                                      std::to_string(values) + " given)",
                                  "store_error");
        }
        used[number - 1] = true;
        i = end;
      } else {
        // A dollar-quoted string: $tag$ ... $tag$ (the tag may be empty).
        size_t tag_end = i + 1;
        while (tag_end < sql.size() &&
               (std::isalnum(static_cast<unsigned char>(sql[tag_end])) || sql[tag_end] == '_')) {
          ++tag_end;
        }
        if (tag_end < sql.size() && sql[tag_end] == '$') {
          const std::string tag(sql.substr(i, tag_end - i + 1));
          i = tag_end + 1;
          skip_until(tag);
        } else {
          i = tag_end;
        }
      }
    } else {
      ++i;
    }
  }
  if (auto unused = std::find(used.begin(), used.end(), false); unused != used.end()) {
    return invalid_argument("value " + std::to_string(unused - used.begin() + 1) + " has no placeholder",
                            "store_error");
  }
  return Status::ok();
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<Blob> decode_bytea(std::string_view text) {
  // bytea_output = hex (the default since 9.0, and set on every connection).
  if (!text.starts_with("\\x") || text.size() % 2 != 0) return store_error("unexpected bytea text format");
  Blob blob;
  blob.bytes.reserve((text.size() - 2) / 2);
  for (size_t i = 2; i < text.size(); i += 2) {
    const int high = hex_digit(text[i]);
    const int low = hex_digit(text[i + 1]);
    if (high < 0 || low < 0) return store_error("bad hex digit in bytea");
    blob.bytes.push_back(static_cast<char>((high << 4) | low));
  }
  return blob;
}

double parse_double(const std::string& text) {
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "Infinity") return std::numeric_limits<double>::infinity();
  if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
  return std::strtod(text.c_str(), nullptr);
}

Result<Value> column_value(const PGresult* result, int row, int column) {
  if (PQgetisnull(result, row, column) != 0) return Value(std::monostate{});
  const char* data = PQgetvalue(result, row, column);
  const auto length = static_cast<size_t>(PQgetlength(result, row, column));
  const std::string_view text(data, length);
  switch (PQftype(result, column)) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid: {
      int64_t value = 0;
      std::from_chars(text.data(), text.data() + text.size(), value);
      return Value(value);
    }
    case kBoolOid: return Value(int64_t{text == "t" ? 1 : 0});
    case kFloat4Oid:
    case kFloat8Oid: return Value(parse_double(std::string(text)));
    case kNumericOid: {
      // SUM() of integers is NUMERIC: integral values read as int64, like SQLite's SUM.
      int64_t value = 0;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (error == std::errc() && end == text.data() + text.size()) return Value(value);
      return Value(parse_double(std::string(text)));
    }
    case kByteaOid: {
      VONTRES_ASSIGN_OR_RETURN(Blob blob, decode_bytea(text));
      return Value(std::move(blob));
    }
    default: return Value(std::string(text));
  }
}

// The parameters of one call in libpq's form. Strings stay owned by `values`.
struct Parameters {
  std::vector<Oid> types;
  std::vector<std::string> text;
  std::vector<const char*> pointers;
  std::vector<int> lengths;
  std::vector<int> formats;

  explicit Parameters(const std::vector<Value>& values) {
    types.reserve(values.size());
    text.resize(values.size());
    pointers.resize(values.size(), nullptr);
    lengths.resize(values.size(), 0);
    formats.resize(values.size(), 0);
    for (size_t i = 0; i < values.size(); ++i) {
      const Value& value = values[i];
      if (const auto* integer = std::get_if<int64_t>(&value)) {
        types.push_back(kInt8Oid);
        text[i] = std::to_string(*integer);
      } else if (const auto* real = std::get_if<double>(&value)) {
        types.push_back(kFloat8Oid);
        char buffer[64];
        auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), *real);  // shortest round-trip form
        text[i] = error == std::errc() ? std::string(buffer, end) : std::to_string(*real);
        if (text[i] == "inf") text[i] = "Infinity";
        if (text[i] == "-inf") text[i] = "-Infinity";
        if (text[i] == "nan" || text[i] == "-nan") text[i] = "NaN";
      } else if (const auto* string = std::get_if<std::string>(&value)) {
        types.push_back(0);
        pointers[i] = string->c_str();
        lengths[i] = static_cast<int>(string->size());
        continue;
      } else if (const auto* blob = std::get_if<Blob>(&value)) {
        types.push_back(kByteaOid);
        pointers[i] = blob->bytes.data();
        lengths[i] = static_cast<int>(blob->bytes.size());
        formats[i] = 1;  // binary: no escaping
        continue;
      } else {
        types.push_back(0);
        continue;  // NULL: null pointer
      }
      pointers[i] = text[i].c_str();
      lengths[i] = static_cast<int>(text[i].size());
    }
  }

  std::string signature() const {
    std::string out;
    for (Oid type : types) out += std::to_string(type) + ",";
    return out;
  }
};

}  // namespace

// One libpq connection and its prepared-statement cache. Not thread-safe: the pool hands it to one
// thread at a time.
class PgConnection {
 public:
  explicit PgConnection(ConnectionHandle connection) : connection_(std::move(connection)) {}

  // Connects without blocking past `timeout` (libpq's own connect_timeout counts whole seconds).
  static Result<std::unique_ptr<PgConnection>> connect(const PostgresOptions& options) {
    std::vector<const char*> keywords = {"application_name", "dbname"};
    std::vector<const char*> values = {"vontres", options.conninfo.c_str()};
    if (!options.password.empty()) {
      keywords.push_back("password");
      values.push_back(options.password.c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    ConnectionHandle connection(PQconnectStartParams(keywords.data(), values.data(), 1));
    if (connection == nullptr) return store_unavailable("connecting to PostgreSQL: out of memory");
    const auto deadline = std::chrono::steady_clock::now() + options.connect_timeout;
    if (PQstatus(connection.get()) == CONNECTION_BAD) {
      return store_unavailable("connecting to PostgreSQL: " + trimmed(PQerrorMessage(connection.get())));
    }
    PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
    // Bounded: each round waits on the socket until the deadline, and libpq moves on each time.
    for (int round = 0; round < 10'000; ++round) {
      if (polling == PGRES_POLLING_OK) break;
      if (polling == PGRES_POLLING_FAILED) {
        return store_unavailable("connecting to PostgreSQL: " + trimmed(PQerrorMessage(connection.get())));
      }
      const auto remaining =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (remaining.count() <= 0) {
        return store_unavailable("connecting to PostgreSQL: timed out after " +
                                 std::to_string(options.connect_timeout.count()) + " ms");
      }
      pollfd descriptor{PQsocket(connection.get()), polling == PGRES_POLLING_READING ? short{POLLIN} : short{POLLOUT},
                        0};
      const int ready = ::poll(&descriptor, 1, static_cast<int>(remaining.count()));
      if (ready < 0 && errno != EINTR) return store_unavailable("connecting to PostgreSQL: poll failed");
      if (ready == 0) continue;  // the deadline check above ends it
      polling = PQconnectPoll(connection.get());
    }
    if (polling != PGRES_POLLING_OK) return store_unavailable("connecting to PostgreSQL: did not complete");
    auto opened = std::make_unique<PgConnection>(std::move(connection));
    PQsetNoticeReceiver(opened->get(), &PgConnection::receive_notice, opened.get());
    // Hex bytea, ISO dates, UTF-8, and no surprises from a server-side default.
    VONTRES_RETURN_IF_ERROR(opened->exec_script(
        "SET bytea_output = 'hex'; SET client_encoding = 'UTF8'; SET standard_conforming_strings = on;"
        " SET default_transaction_isolation = 'read committed'; SET client_min_messages = warning"));
    return opened;
  }

  // Notices are not printed (libpq's default writes them to stderr). A FATAL message arriving while
  // the connection is idle (the server shutting down, pg_terminate_backend) marks it broken even
  // before the socket's end is read.
  static void receive_notice(void* self, const PGresult* notice) {
    const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (severity != nullptr && (std::string_view(severity) == "FATAL" || std::string_view(severity) == "PANIC")) {
      static_cast<PgConnection*>(self)->broken_ = true;
    }
  }

  PGconn* get() const { return connection_.get(); }
  bool broken() const { return broken_ || PQstatus(get()) == CONNECTION_BAD; }
  const std::string& last_state() const { return last_state_; }
  // The last failure was a cached statement whose table changed shape (now evicted: running the
  // statement again prepares it afresh).
  bool stale_plan() const { return stale_plan_; }
  void clear_last_state() {
    last_state_.clear();
    stale_plan_ = false;
  }
  bool in_transaction() const { return PQtransactionStatus(get()) != PQTRANS_IDLE; }

  // True when the connection can be used: reads (without blocking) what the server sent while it
  // was idle, which is how a server shutdown or a killed backend shows up.
  bool usable() {
    if (broken()) return false;
    // Read what arrived, parse it (PQisBusy does: a FATAL notice reaches receive_notice), then
    // read again, which is when the socket's end is seen.
    for (int round = 0; round < 2; ++round) {
      if (PQconsumeInput(get()) == 0) return false;
      (void)PQisBusy(get());
      if (broken()) return false;
    }
    for (PGnotify* notify = PQnotifies(get()); notify != nullptr; notify = PQnotifies(get())) PQfreemem(notify);
    return PQtransactionStatus(get()) == PQTRANS_IDLE;
  }

  // Maps a failed result (or none: the connection failed) to a Status, remembering its SQLSTATE.
  Status error(const PGresult* result, std::string_view context) {
    const char* state_field = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    const std::string state = state_field != nullptr ? state_field : "";
    // "current transaction is aborted" says nothing new: keep the failure that aborted it (a
    // serialization failure the body did not return at once must still lead to a retry).
    if (state != "25P02" || last_state_.empty()) last_state_ = state;
    std::string message(context);
    message += ": ";
    message += result != nullptr ? trimmed(PQresultErrorMessage(result)) : trimmed(PQerrorMessage(get()));
    if (message.ends_with(": ")) message += trimmed(PQerrorMessage(get()));
    if (!state.empty()) message += " (SQLSTATE " + state + ")";
    if (PQstatus(get()) == CONNECTION_BAD || is_unavailable_state(state)) {
      broken_ = true;  // the pool discards it; the next call connects afresh
      return store_unavailable(std::move(message));
    }
    if (state.starts_with("23")) return already_exists(std::move(message), "store_constraint");
    if (is_retryable_state(state) || state == "55P03" || state == "57014") {
      return unavailable(std::move(message), "store_busy");
    }
    return internal_error(std::move(message), "store_error");
  }

  // Runs one statement (prepared and cached when it is DML). `changed` receives the rows affected.
  Result<Rows> run(std::string_view sql, const std::vector<Value>& values, int64_t* changed) {
    VONTRES_RETURN_IF_ERROR(check_placeholders(sql, values.size()));
    Parameters parameters(values);
    const int count = static_cast<int>(values.size());
    ResultHandle result;
    std::string cache_key;
    if (is_cacheable(sql)) {
      cache_key = parameters.signature();
      cache_key += '\n';
      cache_key += sql;
      VONTRES_ASSIGN_OR_RETURN(const std::string* name, prepare_cached(cache_key, sql, parameters));
      result.reset(PQexecPrepared(get(), name->c_str(), count, parameters.pointers.data(), parameters.lengths.data(),
                                  parameters.formats.data(), 0));
    } else {
      const std::string text(sql);
      result.reset(PQexecParams(get(), text.c_str(), count, parameters.types.data(), parameters.pointers.data(),
                                parameters.lengths.data(), parameters.formats.data(), 0));
    }
    const ExecStatusType status = result != nullptr ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      Status failed = error(result.get(), "running statement");
      // "cached plan must not change result type": the table changed under a cached statement.
      if (last_state_ == "0A000" && !cache_key.empty()) {
        stale_plan_ = true;
        evict(cache_key);
      }
      return failed;
    }
    clear_last_state();
    Rows rows;
    const int columns = PQnfields(result.get());
    rows.columns.reserve(static_cast<size_t>(columns));
    for (int c = 0; c < columns; ++c) rows.columns.emplace_back(PQfname(result.get(), c));
    const int tuples = PQntuples(result.get());
    rows.rows.reserve(static_cast<size_t>(tuples));
    for (int r = 0; r < tuples; ++r) {
      Row row;
      row.values.reserve(static_cast<size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        VONTRES_ASSIGN_OR_RETURN(Value value, column_value(result.get(), r, c));
        row.values.push_back(std::move(value));
      }
      rows.rows.push_back(std::move(row));
    }
    if (changed != nullptr) {
      const char* tuples_text = PQcmdTuples(result.get());
      int64_t number = 0;
      if (tuples_text != nullptr && *tuples_text != '\0') {
        std::from_chars(tuples_text, tuples_text + std::char_traits<char>::length(tuples_text), number);
      }
      *changed = number;
    }
    return rows;
  }

  // Runs a script of one or more statements (simple protocol, uncached; migrations run once).
  Status exec_script(std::string_view sql) {
    const std::string text(sql);
    ResultHandle result(PQexec(get(), text.c_str()));
    const ExecStatusType status = result != nullptr ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
      return error(result.get(), "running script");
    }
    last_state_.clear();
    return Status::ok();
  }

  // Ends a transaction with COMMIT; the server answers ROLLBACK (without an error) when the
  // transaction had already failed.
  Status commit() {
    ResultHandle result(PQexec(get(), "COMMIT"));
    const ExecStatusType status = result != nullptr ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK) return error(result.get(), "committing");
    if (std::string_view(PQcmdStatus(result.get())) != "COMMIT") {
      return store_error("transaction was aborted by an earlier failed statement and rolled back");
    }
    last_state_.clear();
    return Status::ok();
  }

  void rollback() {
    if (broken() || PQtransactionStatus(get()) == PQTRANS_IDLE) return;
    const std::string keep = last_state_;
    (void)exec_script("ROLLBACK");
    last_state_ = keep;
  }

 private:
  struct CachedStatement {
    std::string key;
    std::string name;
  };

  Result<const std::string*> prepare_cached(const std::string& key, std::string_view sql,
                                            const Parameters& parameters) {
    if (auto found = index_.find(key); found != index_.end()) {
      cache_.splice(cache_.begin(), cache_, found->second);
      return &found->second->name;
    }
    deallocate_evicted();
    std::string name = "vontres_" + std::to_string(++statements_prepared_);
    const std::string text(sql);
    ResultHandle result(PQprepare(get(), name.c_str(), text.c_str(), static_cast<int>(parameters.types.size()),
                                  parameters.types.data()));
    if (result == nullptr || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      return error(result.get(), "preparing statement");
    }
    cache_.push_front(CachedStatement{key, std::move(name)});
    index_.emplace(cache_.front().key, cache_.begin());
    if (cache_.size() > PostgresStore::kStatementCacheSize) evict(cache_.back().key);
    return &cache_.front().name;
  }

  void evict(const std::string& key) {
    auto found = index_.find(key);
    if (found == index_.end()) return;
    to_deallocate_.push_back(std::move(found->second->name));
    cache_.erase(found->second);
    index_.erase(found);
  }

  // DEALLOCATE fails inside an aborted transaction, so evicted statements are dropped here, before
  // the next prepare, when the connection can run them.
  void deallocate_evicted() {
    if (PQtransactionStatus(get()) == PQTRANS_INERROR) return;
    const std::string keep = last_state_;
    for (const std::string& name : to_deallocate_) (void)exec_script("DEALLOCATE " + name);
    to_deallocate_.clear();
    last_state_ = keep;
  }

  ConnectionHandle connection_;
  bool broken_ = false;
  std::string last_state_;  // SQLSTATE of the last failure, empty after a success
  bool stale_plan_ = false;
  uint64_t statements_prepared_ = 0;
  std::list<CachedStatement> cache_;  // front = most recently used
  std::unordered_map<std::string, std::list<CachedStatement>::iterator> index_;
  std::vector<std::string> to_deallocate_;
};

}  // namespace detail

using detail::PgConnection;

namespace {

// The store whose transaction body runs on this thread, if any (re-entry is refused).
thread_local const PostgresStore* t_store_in_body = nullptr;

Status exception_status(const char* what) {
  return internal_error(std::string("unexpected exception in PostgreSQL store: ") + what, "store_error");
}

}  // namespace

// A pooled connection, returned to the pool (or discarded when broken) on destruction.
class PostgresStore::Lease {
 public:
  Lease(PostgresStore& store, std::unique_ptr<PgConnection> connection)
      : store_(&store), connection_(std::move(connection)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() {
    if (connection_ != nullptr) store_->release(std::move(connection_));
  }
  PgConnection& operator*() const { return *connection_; }
  PgConnection* operator->() const { return connection_.get(); }

 private:
  PostgresStore* store_;
  std::unique_ptr<PgConnection> connection_;
};

class PostgresStore::TransactionSession final : public Session {
 public:
  explicit TransactionSession(PgConnection& connection) : connection_(connection) {}
  Result<Rows> query(std::string_view sql, const std::vector<Value>& params) override {
    try {
      return connection_.run(sql, params, nullptr);
    } catch (const std::exception& e) {
      return exception_status(e.what());
    }
  }
  Result<int64_t> execute(std::string_view sql, const std::vector<Value>& params) override {
    try {
      int64_t changed = 0;
      VONTRES_RETURN_IF_ERROR(connection_.run(sql, params, &changed).status());
      return changed;
    } catch (const std::exception& e) {
      return exception_status(e.what());
    }
  }

 private:
  PgConnection& connection_;
};

Result<PostgresOptions> postgres_options_from_config(const StoreConfig& config) {
  auto bad = [](std::string_view key, const std::string& why) {
    return invalid_argument(std::string(key) + ": " + why, "config_invalid");
  };
  PostgresOptions options;
  options.conninfo = config.postgres.url;
  if (options.conninfo.empty()) return bad("store.postgres.url", "is required");
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.conninfo.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string why = parse_error != nullptr ? detail::trimmed(parse_error) : "does not parse";
    PQfreemem(parse_error);
    return bad("store.postgres.url", why);
  }
  PQconninfoFree(parsed);
  if (config.postgres.pool_size < 1) return bad("store.postgres.pool_size", "must be at least 1");
  options.pool_size = static_cast<size_t>(config.postgres.pool_size);
  options.connect_timeout = config.postgres.connect_timeout;
  options.pool_wait_timeout = config.busy_timeout;
  if (!config.postgres.password_file.empty()) {
    std::ifstream in(config.postgres.password_file);
    if (!in) return bad("store.postgres.password_file", "cannot read " + config.postgres.password_file);
    std::getline(in, options.password);
    if (!options.password.empty() && options.password.back() == '\r') options.password.pop_back();
    if (options.password.empty()) return bad("store.postgres.password_file", "the first line is empty");
  }
  return options;
}

PostgresStore::PostgresStore(PrivateTag, PostgresOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock), jitter_(std::random_device{}()) {}

PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const StoreConfig& config, const Clock& clock) {
  VONTRES_ASSIGN_OR_RETURN(PostgresOptions options, postgres_options_from_config(config));
  return open(options, clock);
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const PostgresOptions& options, const Clock& clock) {
  try {
    if (options.pool_size < 1) return invalid_argument("PostgreSQL pool size must be at least 1", "store_error");
    auto store = std::make_unique<PostgresStore>(PrivateTag(), options, clock);
    VONTRES_ASSIGN_OR_RETURN(auto first, PgConnection::connect(store->options_));
    std::lock_guard lock(store->pool_mutex_);
    store->idle_.push_back(std::move(first));
    store->open_count_ = 1;
    return store;
  } catch (const std::exception& e) {
    return exception_status(e.what());
  }
}

size_t PostgresStore::open_connections() {
  std::lock_guard lock(pool_mutex_);
  return open_count_;
}

Status PostgresStore::check_not_reentrant() const {
  if (t_store_in_body == this) {
    return internal_error("PostgreSQL store re-entered from inside a transaction body; use its Session", "store_error");
  }
  return Status::ok();
}

Result<PostgresStore::Lease> PostgresStore::acquire() {
  std::unique_lock lock(pool_mutex_);
  const auto deadline = std::chrono::steady_clock::now() + options_.pool_wait_timeout;
  // Bounded by the deadline: every pass either returns or waits until it.
  while (true) {
    while (!idle_.empty()) {
      std::unique_ptr<PgConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      if (connection->usable()) return Lease(*this, std::move(connection));
      --open_count_;  // broken while idle (server restarted, backend killed): drop it
    }
    if (open_count_ < options_.pool_size) {
      ++open_count_;
      lock.unlock();
      auto connected = PgConnection::connect(options_);
      if (!connected.is_ok()) {
        lock.lock();
        --open_count_;
        last_connect_failure_ = std::chrono::steady_clock::now();
        last_connect_error_ = connected.status();
        connection_available_.notify_one();
        return connected.status();
      }
      lock.lock();
      last_connect_error_ = Status::ok();
      lock.unlock();
      return Lease(*this, std::move(connected).value());
    }
    if (connection_available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_count_ >= options_.pool_size) {
      // Waiting behind connects to a server that does not answer is the server's fault, not load.
      if (!last_connect_error_.is_ok() && std::chrono::steady_clock::now() - last_connect_failure_ <
                                              options_.connect_timeout + options_.pool_wait_timeout) {
        return last_connect_error_;
      }
      return unavailable("no free PostgreSQL connection within " + std::to_string(options_.pool_wait_timeout.count()) +
                             " ms (store.postgres.pool_size " + std::to_string(options_.pool_size) + ")",
                         "store_busy");
    }
  }
}

void PostgresStore::release(std::unique_ptr<PgConnection> connection) {
  std::lock_guard lock(pool_mutex_);
  if (connection->broken() || connection->in_transaction()) {
    --open_count_;
    connection.reset();
  } else {
    connection->clear_last_state();
    idle_.push_back(std::move(connection));
  }
  connection_available_.notify_one();
}

void PostgresStore::back_off(int attempt) {
  int64_t limit_ms = int64_t{1} << std::min(attempt, 6);  // 2, 4, ... 64 ms
  int64_t wait_ms = 0;
  {
    std::lock_guard lock(pool_mutex_);
    wait_ms = std::uniform_int_distribution<int64_t>(1, limit_ms)(jitter_);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
}

Result<Rows> PostgresStore::run_autocommit(std::string_view sql, const std::vector<Value>& params, int64_t* changed) {
  VONTRES_RETURN_IF_ERROR(check_not_reentrant());
  Status last;
  for (int attempt = 1; attempt <= kMaxTransactionAttempts; ++attempt) {
    VONTRES_ASSIGN_OR_RETURN(Lease connection, acquire());
    auto rows = connection->run(sql, params, changed);
    if (rows.is_ok()) return rows;
    // A failed auto-commit statement changed nothing, so a serialization failure, a deadlock or a
    // stale cached plan may simply run again.
    const bool stale = connection->stale_plan();
    if (!detail::is_retryable_state(connection->last_state()) && !stale) return rows.status();
    last = rows.status();
    if (!stale) back_off(attempt);
  }
  return last;
}

Result<Rows> PostgresStore::query(std::string_view sql, const std::vector<Value>& params) {
  try {
    return run_autocommit(sql, params, nullptr);
  } catch (const std::exception& e) {
    return exception_status(e.what());
  }
}

Result<int64_t> PostgresStore::execute(std::string_view sql, const std::vector<Value>& params) {
  try {
    int64_t changed = 0;
    VONTRES_RETURN_IF_ERROR(run_autocommit(sql, params, &changed).status());
    return changed;
  } catch (const std::exception& e) {
    return exception_status(e.what());
  }
}

Status PostgresStore::transaction_once(PgConnection& connection, const std::string& begin,
                                       const std::function<Status(Session&)>& body) {
  VONTRES_RETURN_IF_ERROR(connection.exec_script(begin));
  TransactionSession session(connection);
  Status result;
  struct BodyMarker {
    const PostgresStore* previous;
    explicit BodyMarker(const PostgresStore* store) : previous(t_store_in_body) { t_store_in_body = store; }
    ~BodyMarker() { t_store_in_body = previous; }
    BodyMarker(const BodyMarker&) = delete;
    BodyMarker& operator=(const BodyMarker&) = delete;
  };
  try {
    BodyMarker marker(this);
    result = body(session);
  } catch (...) {
    connection.rollback();
    throw;
  }
  if (!result.is_ok()) {
    connection.rollback();
    return result;
  }
  if (PQtransactionStatus(connection.get()) == PQTRANS_INERROR) {
    connection.rollback();
    return detail::store_error("transaction was aborted by an earlier failed statement and rolled back");
  }
  Status commit = connection.commit();
  if (!commit.is_ok()) connection.rollback();
  return commit;
}

Status PostgresStore::transaction(const std::function<Status(Session&)>& body) {
  VONTRES_RETURN_IF_ERROR(check_not_reentrant());
  Status last;
  for (int attempt = 1; attempt <= kMaxTransactionAttempts; ++attempt) {
    auto leased = acquire();
    if (!leased.is_ok()) return leased.status();
    Lease connection = std::move(leased).value();
    connection->clear_last_state();
    last = transaction_once(*connection, "BEGIN ISOLATION LEVEL SERIALIZABLE", body);
    if (last.is_ok()) return last;
    // Retry only when the server chose to abort this transaction (its outcome is then known: nothing).
    const bool stale = connection->stale_plan();
    if (!detail::is_retryable_state(connection->last_state()) && !stale) return last;
    if (!stale) back_off(attempt);
  }
  return last;
}

Status PostgresStore::migrate(const std::vector<Migration>& migrations) {
  try {
    VONTRES_ASSIGN_OR_RETURN(detail::MigrationPlan plan, detail::MigrationPlan::check(migrations));
    VONTRES_RETURN_IF_ERROR(check_not_reentrant());
    VONTRES_ASSIGN_OR_RETURN(Lease connection, acquire());
    // Session-level: held across the per-migration transactions, released below or when the
    // connection dies.
    VONTRES_RETURN_IF_ERROR(
        connection->exec_script("SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")"));
    struct Unlock {
      PgConnection& connection;
      ~Unlock() {
        if (!connection.broken()) {
          connection.rollback();
          (void)connection.exec_script("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
        }
      }
    } unlock{*connection};

    VONTRES_RETURN_IF_ERROR(
        connection->exec_script("CREATE TABLE IF NOT EXISTS schema_migrations ("
                                " component TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL,"
                                " applied_at_ms BIGINT NOT NULL, PRIMARY KEY (component, version))"));
    VONTRES_ASSIGN_OR_RETURN(
        Rows applied, connection->run("SELECT component, version, description FROM schema_migrations", {}, nullptr));
    VONTRES_ASSIGN_OR_RETURN(std::vector<const Migration*> pending,
                             plan.pending(detail::applied_descriptions(applied)));

    for (const Migration* migration : pending) {
      Status status = transaction_once(*connection, "BEGIN", [&](Session& session) -> Status {
        VONTRES_RETURN_IF_ERROR(connection->exec_script(migration->sql));
        return session
            .execute(
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

Result<std::vector<AppliedMigration>> PostgresStore::applied_migrations() {
  try {
    // No CREATE here (it would race a concurrent migrate() outside its lock): no table, nothing applied.
    VONTRES_ASSIGN_OR_RETURN(Rows exists, query("SELECT to_regclass('schema_migrations') IS NOT NULL"));
    if (exists.empty() || exists[0].get_int(0) == 0) return std::vector<AppliedMigration>{};
    VONTRES_ASSIGN_OR_RETURN(Rows rows,
                             query("SELECT component, version, description, applied_at_ms FROM schema_migrations"
                                   " ORDER BY component, version"));
    return detail::applied_migrations_of(rows);
  } catch (const std::exception& e) {
    return exception_status(e.what());
  }
}

Status PostgresStore::ping() { return query("SELECT 1").status(); }

}  // namespace vontres::store
