// A real PostgreSQL 15 server for tests: initdb in a fresh temporary directory (owned by the
// postgres user, since initdb and postgres refuse to run as root), started with pg_ctl on a free
// 127.0.0.1 port with fsync off, stopped by the postmaster's PID. One per test binary: register
// PostgresEnvironment with ::testing::AddGlobalTestEnvironment and reach the server through
// PostgresEnvironment::server(); each test then takes its own database (create_database()), so
// tests stay independent.
//
// With `tls` set the server also listens with TLS (ssl=on), using a CA and a server certificate for
// "localhost" and 127.0.0.1 that start() makes with openssl: ca_file() is what a client passes as
// sslrootcert. Plain connections keep working (sslmode=disable).
//
// Failures (no PostgreSQL, no runuser, a start that fails) are reported through error(); callers
// turn them into test failures, never skips.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace vontres::testing {

class PostgresServer {
 public:
  struct Options {
    bool tls = false;
    // false (tests): fsync, full_page_writes and synchronous_commit off. true (benchmarks): fsync
    // and full_page_writes on, synchronous_commit off, which is closest to SQLite's WAL mode with
    // synchronous=NORMAL (no corruption on a crash; the last commits may be lost).
    bool durable = false;
  };
  // Starts a server, or returns null and fills *error.
  static std::unique_ptr<PostgresServer> start(const Options& options, std::string* error);
  ~PostgresServer();  // stops the server and removes its directory
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  uint16_t port() const { return port_; }
  const std::string& directory() const { return directory_; }
  const std::string& ca_file() const { return ca_file_; }  // empty without TLS
  // "host=127.0.0.1 port=P user=postgres dbname=<database> sslmode=disable".
  std::string conninfo(const std::string& database) const;

  // A new empty database with a unique name, or nullopt (and *error).
  std::optional<std::string> create_database(std::string* error);
  // Drops it, closing whatever connections are still open to it.
  void drop_database(const std::string& name);

  // Fast shutdown (in-flight transactions are rolled back, clients disconnected), waiting until the
  // postmaster has exited; then start() on the same port and data. Both bounded (30 s).
  bool stop(std::string* error);
  bool restart(std::string* error);
  bool running() const { return postmaster_pid_ > 0; }

 private:
  PostgresServer() = default;
  bool initialise(const Options& options, std::string* error);
  bool make_certificates(std::string* error);
  bool pg_ctl_start(std::string* error);
  // Runs SQL on the "postgres" maintenance database.
  bool admin_sql(const std::string& sql, std::string* error);

  std::string directory_;
  std::string data_dir_;
  std::string ca_file_;
  std::string server_options_;
  uint16_t port_ = 0;
  int postmaster_pid_ = 0;
};

// The one server of a test binary: started by the first server() call (so a test run that needs no
// PostgreSQL does not start one) and stopped after the last test. Call server() from the main test
// thread only.
class PostgresEnvironment : public ::testing::Environment {
 public:
  explicit PostgresEnvironment(PostgresServer::Options options = {}) { options_ = options; }
  void SetUp() override;
  void TearDown() override;
  // The running server; fails the current test (and returns null) if it could not start.
  static PostgresServer* server();

 private:
  static PostgresServer::Options options_;
  static bool attempted_;
  static std::unique_ptr<PostgresServer> server_;
  static std::string error_;
};

}  // namespace vontres::testing
