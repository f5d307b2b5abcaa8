// End-to-end tests of the `vontres` binary: started as a real process, probed with curl.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cstdlib>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/subprocess.h"

namespace vontres {
namespace {

// Every `vontres serve` started here (and inherits this environment) binds SIP on free ports, so
// the tests can run side by side and next to a real SIP server on 5060.
[[maybe_unused]] const bool kSipOnFreePorts = [] {
  setenv("VONTRES_TELEPHONY_SIP_UDP", "127.0.0.1:0", 1);
  setenv("VONTRES_TELEPHONY_SIP_TCP", "127.0.0.1:0", 1);
  return true;
}();

using namespace std::chrono_literals;
using testing::run;
using testing::Subprocess;
using testing::TempDir;

const std::string kBinary = VONTRES_BINARY;

struct HttpReply {
  int status = 0;
  std::string body;
};

// GET with curl, a real HTTP client nobody here wrote.
HttpReply curl_get(const std::string& url) {
  auto r = run({"curl", "-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}", url});
  HttpReply reply;
  auto nl = r.out.rfind('\n');
  if (nl == std::string::npos) return reply;
  reply.body = r.out.substr(0, nl);
  reply.status = std::atoi(r.out.c_str() + nl + 1);
  return reply;
}

// A running `vontres serve` on a free port and its own data directory.
class Server {
 public:
  explicit Server(const std::string& data_dir, std::vector<std::string> extra = {},
                  std::map<std::string, std::string> env = {})
      : process_(start(data_dir, std::move(extra), std::move(env))) {
    auto line = process_.wait_for_stderr_line(
        [](const std::string& l) { return l.find("vontres is serving") != std::string::npos; }, 30s);
    if (line) url_ = nlohmann::json::parse(*line)["url.full"].get<std::string>();
  }
  bool ready() const { return !url_.empty(); }
  const std::string& url() const { return url_; }
  Subprocess& process() { return process_; }

 private:
  static Subprocess start(const std::string& data_dir, std::vector<std::string> extra,
                          std::map<std::string, std::string> env) {
    std::vector<std::string> argv = {kBinary, "serve", "--http-listen", "127.0.0.1:0", "--data-dir", data_dir};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Subprocess::start(argv, env);
  }
  Subprocess process_;
  std::string url_;
};

TEST(CliTest, VersionPrintsTheVersion) {
  auto r = run({kBinary, "version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("vontres "), std::string::npos);
}

TEST(CliTest, UnknownCommandIsAUsageError) {
  auto r = run({kBinary, "frobnicate"});
  EXPECT_NE(r.exit_code, 0);
}

TEST(CliTest, ConfigCheckAcceptsTheDemoConfiguration) {
  auto r = run({kBinary, "config", "check", "--config", std::string(VONTRES_SOURCE_DIR) + "/config/demo.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("configuration OK"), std::string::npos);
}

TEST(CliTest, MalformedConfigNamesTheKeyAndExitsNonZero) {
  TempDir dir;
  std::string file = dir.path() + "/bad.yaml";
  std::ofstream(file) << "http:\n  listen: 127.0.0.1:99999\n";
  auto r = run({kBinary, "config", "check", "--config", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("config_invalid"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("http.listen"), std::string::npos) << r.err;

  auto serve = run({kBinary, "serve", "--config", file, "--data-dir", dir.path()});
  EXPECT_EQ(serve.exit_code, 2);
  EXPECT_NE(serve.err.find("http.listen"), std::string::npos) << serve.err;
}

TEST(CliTest, BadEnvironmentOverrideIsNamed) {
  auto r = run({kBinary, "config", "check"}, {{"VONTRES_HTTP_MAX_BODY_BYTES", "huge"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("VONTRES_HTTP_MAX_BODY_BYTES"), std::string::npos) << r.err;
}

TEST(CliTest, ConfigKeysListsEnvironmentNames) {
  auto r = run({kBinary, "config", "keys"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("http.listen\tVONTRES_HTTP_LISTEN"), std::string::npos);
}

TEST(ServeTest, AnswersHealthAndStopsCleanlyOnSigterm) {
  TempDir dir;
  Server server(dir.path());
  ASSERT_TRUE(server.ready()) << server.process().stderr_text();

  auto health = curl_get(server.url() + "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(nlohmann::json::parse(health.body)["status"], "ok");
  auto ready = curl_get(server.url() + "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  const nlohmann::json readiness = nlohmann::json::parse(ready.body);
  std::vector<std::string> checks;
  for (const auto& check : readiness["checks"]) checks.push_back(check.value("name", ""));
  EXPECT_EQ(checks,
            (std::vector<std::string>{"bus:in_process", "cache:in_process", "state:in_process", "store:sqlite"}));
  auto metrics = curl_get(server.url() + "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("vontres_http_requests_total"), std::string::npos);
  auto missing = curl_get(server.url() + "/no/such/route");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing.body)["error"]["code"], "route_not_found");

  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/vontres.db"));
  server.process().send_signal(SIGTERM);
  EXPECT_EQ(server.process().wait(20s), 0) << server.process().stderr_text();
  EXPECT_NE(server.process().stderr_text().find("\"message\":\"stopped\""), std::string::npos);
}

TEST(ServeTest, ListenAddressComesFromTheEnvironment) {
  TempDir dir;
  Subprocess p =
      Subprocess::start({kBinary, "serve", "--data-dir", dir.path()}, {{"VONTRES_HTTP_LISTEN", "127.0.0.1:0"}});
  auto line = p.wait_for_stderr_line(
      [](const std::string& l) { return l.find("vontres is serving") != std::string::npos; }, 30s);
  ASSERT_TRUE(line) << p.stderr_text();
  EXPECT_NE(line->find("http://127.0.0.1:"), std::string::npos);
  EXPECT_EQ(line->find("127.0.0.1:8080"), std::string::npos);
  p.send_signal(SIGINT);
  EXPECT_EQ(p.wait(20s), 0);
}

TEST(ServeTest, APortInUseIsAClearErrorNotAHang) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string listen_at = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  TempDir dir;
  Subprocess p = Subprocess::start({kBinary, "serve", "--http-listen", listen_at, "--data-dir", dir.path()});
  auto code = p.wait(20s);
  close(fd);
  ASSERT_TRUE(code.has_value()) << "serve hung on a port in use";
  EXPECT_EQ(*code, 1);
  EXPECT_NE(p.stderr_text().find("address_in_use"), std::string::npos) << p.stderr_text();
}

TEST(ServeTest, TwoServersCannotShareADataDirectory) {
  TempDir dir;
  Server first(dir.path());
  ASSERT_TRUE(first.ready());
  Subprocess second = Subprocess::start({kBinary, "serve", "--http-listen", "127.0.0.1:0", "--data-dir", dir.path()});
  EXPECT_EQ(second.wait(20s), 1);
  EXPECT_NE(second.stderr_text().find("data_dir_locked"), std::string::npos) << second.stderr_text();
  first.process().send_signal(SIGTERM);
  EXPECT_EQ(first.process().wait(20s), 0);
}

TEST(BackupTest, OnlineBackupRestoresIntoAnEmptyDataDirectory) {
  TempDir dir;
  std::string data = dir.path() + "/data";
  std::string backup = dir.path() + "/backup.db";
  auto admin = run({kBinary, "users", "create-admin", "--data-dir", data, "--org", "Acme", "--email",
                    "root@acme.example", "--password-stdin"},
                   {}, std::string("correct horse battery staple\n"));
  ASSERT_EQ(admin.exit_code, 0) << admin.err;

  {
    Server server(data);
    ASSERT_TRUE(server.ready()) << server.process().stderr_text();
    auto r = run({kBinary, "backup", "--data-dir", data, "--output", backup});  // while serving
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto refused = run({kBinary, "restore", "--data-dir", data, "--input", backup});
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find("data_dir_locked"), std::string::npos) << refused.err;
    server.process().send_signal(SIGTERM);
    ASSERT_EQ(server.process().wait(20s), 0);
  }

  std::string fresh = dir.path() + "/fresh";
  auto restored = run({kBinary, "restore", "--data-dir", fresh, "--input", backup});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  // The admin came back with the backup: creating it again is refused.
  auto again = run({kBinary, "users", "create-admin", "--data-dir", fresh, "--org", "Acme", "--email",
                    "root@acme.example", "--password-stdin"},
                   {}, std::string("correct horse battery staple\n"));
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("email_taken"), std::string::npos) << again.err;
}

TEST(BackupTest, RestoreRefusesAFileThatIsNotABackup) {
  TempDir dir;
  std::string junk = dir.path() + "/junk.db";
  std::ofstream(junk) << "this is not a database";
  auto r = run({kBinary, "restore", "--data-dir", dir.path() + "/data", "--input", junk});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data/vontres.db"));
}

}  // namespace
}  // namespace vontres
