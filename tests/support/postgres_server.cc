#include "support/postgres_server.h"

#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/peers.h"
#include "support/subprocess.h"

namespace vontres::testing {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

std::string describe(const RunResult& r) { return "exit " + std::to_string(r.exit_code) + ": " + r.err + r.out; }

bool chown_to_postgres(const std::string& path, std::string* error) {
  const passwd* user = getpwnam("postgres");
  if (user == nullptr) {
    *error = "no 'postgres' user (is postgresql-15 installed?)";
    return false;
  }
  if (::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0) {
    *error = "chown " + path + " failed: " + std::strerror(errno);
    return false;
  }
  return true;
}

int read_postmaster_pid(const std::string& data_dir) {
  std::ifstream in(data_dir + "/postmaster.pid");
  int pid = 0;
  in >> pid;
  return pid;
}

}  // namespace

std::unique_ptr<PostgresServer> PostgresServer::start(const Options& options, std::string* error) {
  std::unique_ptr<PostgresServer> server(new PostgresServer());  // NOLINT(cppcoreguidelines-owning-memory)
  if (!server->initialise(options, error)) return nullptr;
  return server;
}

bool PostgresServer::initialise(const Options& options, std::string* error) {
  for (const char* program : {"initdb", "pg_ctl"}) {
    if (!fs::exists(std::string(kBinDir) + "/" + program)) {
      *error = std::string(kBinDir) + "/" + program + " not found (install postgresql-15)";
      return false;
    }
  }
  if (!have_program("runuser")) {
    *error = "runuser not found";
    return false;
  }
  std::string tmpl = (fs::temp_directory_path() / "vontres-pg-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    *error = "mkdtemp failed";
    return false;
  }
  directory_ = tmpl;
  if (!chown_to_postgres(directory_, error)) return false;
  data_dir_ = directory_ + "/data";
  const RunResult init = run({"runuser", "-u", "postgres", "--", std::string(kBinDir) + "/initdb", "-D", data_dir_,
                              "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"});
  if (init.exit_code != 0) {
    *error = "initdb failed, " + describe(init);
    return false;
  }
  port_ = free_port();
  if (port_ == 0) {
    *error = "no free port";
    return false;
  }
  server_options_ = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " + directory_ +
                    " -c synchronous_commit=off -c max_connections=300";
  if (!options.durable) server_options_ += " -c fsync=off -c full_page_writes=off";
  if (options.tls) {
    if (!make_certificates(error)) return false;
    server_options_ +=
        " -c ssl=on -c ssl_cert_file=" + directory_ + "/server.crt -c ssl_key_file=" + directory_ + "/server.key";
  }
  return pg_ctl_start(error);
}

bool PostgresServer::make_certificates(std::string* error) {
  const std::string& d = directory_;
  std::ofstream(d + "/server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n";
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       d + "/ca.key", "-out", d + "/ca.crt", "-days", "2", "-subj", "/CN=Vontres Test CA"},
      {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       d + "/server.key", "-out", d + "/server.csr", "-subj", "/CN=localhost"},
      {"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
       "-CAcreateserial", "-out", d + "/server.crt", "-days", "2", "-extfile", d + "/server.ext"},
  };
  for (const auto& step : steps) {
    const RunResult r = run(step);
    if (r.exit_code != 0) {
      *error = "openssl failed, " + describe(r);
      return false;
    }
  }
  // The server refuses a key readable by others or owned by someone else.
  for (const char* file : {"/server.key", "/server.crt"}) {
    if (!chown_to_postgres(d + file, error)) return false;
  }
  ::chmod((d + "/server.key").c_str(), 0600);
  ca_file_ = d + "/ca.crt";
  return true;
}

bool PostgresServer::pg_ctl_start(std::string* error) {
  const RunResult started = run({"runuser", "-u", "postgres", "--", std::string(kBinDir) + "/pg_ctl", "-D", data_dir_,
                                 "-l", directory_ + "/server.log", "-w", "-t", "30", "-o", server_options_, "start"});
  if (started.exit_code != 0) {
    std::ifstream log(directory_ + "/server.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    *error = "pg_ctl start failed, " + describe(started) + "\nserver.log:\n" + text;
    return false;
  }
  postmaster_pid_ = read_postmaster_pid(data_dir_);
  if (postmaster_pid_ <= 0) {
    *error = "no postmaster.pid after start";
    return false;
  }
  return true;
}

bool PostgresServer::stop(std::string* error) {
  if (postmaster_pid_ <= 0) return true;
  if (::kill(postmaster_pid_, SIGINT) != 0 && errno != ESRCH) {  // SIGINT: fast shutdown
    *error = std::string("kill failed: ") + std::strerror(errno);
    return false;
  }
  // The postmaster is not our child; it removes postmaster.pid as its last act.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const bool gone = ::kill(postmaster_pid_, 0) != 0 && errno == ESRCH;
    if (gone || !fs::exists(data_dir_ + "/postmaster.pid")) {
      postmaster_pid_ = 0;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *error = "postmaster " + std::to_string(postmaster_pid_) + " did not stop within 30 s";
  return false;
}

bool PostgresServer::restart(std::string* error) {
  if (!stop(error)) return false;
  return pg_ctl_start(error);
}

PostgresServer::~PostgresServer() {
  std::string ignored;
  if (postmaster_pid_ > 0 && !stop(&ignored)) ::kill(postmaster_pid_, SIGKILL);
  if (!directory_.empty()) {
    std::error_code ec;
    fs::remove_all(directory_, ec);
  }
}

std::string PostgresServer::conninfo(const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + database + " sslmode=disable";
}

bool PostgresServer::admin_sql(const std::string& sql, std::string* error) {
  PGconn* connection = PQconnectdb((conninfo("postgres") + " connect_timeout=10").c_str());
  bool ok = PQstatus(connection) == CONNECTION_OK;
  if (!ok) {
    *error = PQerrorMessage(connection);
  } else {
    PGresult* result = PQexec(connection, sql.c_str());
    ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    if (!ok) *error = PQresultErrorMessage(result);
    PQclear(result);
  }
  PQfinish(connection);
  return ok;
}

std::optional<std::string> PostgresServer::create_database(std::string* error) {
  static std::atomic<int> counter{0};
  const std::string name = "test_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
  if (!admin_sql("CREATE DATABASE " + name, error)) return std::nullopt;
  return name;
}

void PostgresServer::drop_database(const std::string& name) {
  std::string ignored;
  (void)admin_sql("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", &ignored);
}

std::unique_ptr<PostgresServer> PostgresEnvironment::server_;
std::string PostgresEnvironment::error_;

PostgresServer::Options PostgresEnvironment::options_;
bool PostgresEnvironment::attempted_ = false;

void PostgresEnvironment::SetUp() {}

void PostgresEnvironment::TearDown() { server_.reset(); }

PostgresServer* PostgresEnvironment::server() {
  if (!attempted_) {
    attempted_ = true;
    server_ = PostgresServer::start(options_, &error_);
  }
  if (server_ == nullptr) ADD_FAILURE() << "PostgreSQL test server is not running: " << error_;
  return server_.get();
}

}  // namespace vontres::testing
