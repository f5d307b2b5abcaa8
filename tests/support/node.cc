#include "support/node.h"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>

#include "support/backends.h"
#include "support/peers.h"

namespace vontres::testing {

using nlohmann::json;
using namespace std::chrono_literals;

std::string HttpReply::code() const {
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return {};
  return body["error"].value("code", "");
}

Node::Node(Options options) {
  sip_port_ = free_port();
  const int rtp_base = 30000 + static_cast<int>(getpid() % 200) * 100;
  const std::string config = dir_.path() + "/vontres.yaml";
  std::ofstream(config) << "data_dir: " << dir_.path() << "/data\n"
                        << "http: {listen: 127.0.0.1:0}\n"
                        << "log: {level: info}\n"
                        << "auth: {argon2_memory_kib: 8192, argon2_iterations: 1}\n"
                        << "telephony:\n"
                        << "  sip_udp: 127.0.0.1:" << sip_port_ << "\n"
                        << "  sip_tcp: 127.0.0.1:" << sip_port_ << "\n"
                        << "  rtp_port_min: " << rtp_base << "\n"
                        << "  rtp_port_max: " << rtp_base + 99 << "\n"
                        << "  digest_sha256: false\n"
                        << options.telephony_yaml << options.extra_yaml << shared_backends_yaml();
  for (size_t i = 0; i < options.orgs.size(); ++i) {
    auto admin = run({options.binary, "users", "create-admin", "--config", config, "--org", options.orgs[i], "--email",
                      admin_email(i), "--password-stdin"},
                     {}, std::string(kAdminPassword) + "\n");
    if (admin.exit_code != 0) {
      error_ = "create-admin failed: " + admin.err;
      return;
    }
  }
  options_ = std::move(options);
  config_path_ = config;
  error_ = start_server();
}

std::string Node::start_server() {
  {
    std::lock_guard lock(server_mu_);
    server_.emplace(Subprocess::start({options_.binary, "serve", "--config", config_path_}));
  }
  auto line = server_->wait_for_stderr_line(
      [](const std::string& l) { return l.find("vontres is serving") != std::string::npos; }, 60s);
  if (!line) return "server did not start: " + server_->stderr_text();
  url_ = json::parse(*line)["url.full"].get<std::string>();
  if (!shared_backends_expected().empty() &&
      json::parse(*line).value("vontres.backends", "") != shared_backends_expected()) {
    return "the server is not on the distributed backends: " + *line;
  }
  stopping_ = false;
  drain_ = std::thread([this] {
    while (!stopping_) {
      {
        std::lock_guard lock(server_mu_);
        (void)server_->stderr_text();
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  tokens_.clear();
  org_ids_.clear();
  admin_ids_.clear();
  for (size_t i = 0; i < options_.orgs.size(); ++i) {
    const std::string token = login(admin_email(i), kAdminPassword);
    if (token.empty()) return "login failed for " + admin_email(i);
    HttpReply me = request("GET", "/api/v1/auth/me", nullptr, token);
    if (me.status != 200) return "auth/me failed: " + me.raw;
    tokens_.push_back(token);
    org_ids_.push_back(me.body.value("org_id", ""));
    admin_ids_.push_back(me.body.value("subject", ""));
  }
  return {};
}

void Node::stop_drain() {
  stopping_ = true;
  if (drain_.joinable()) drain_.join();
}

void Node::kill_hard() {
  stop_drain();
  std::lock_guard lock(server_mu_);
  if (!server_) return;
  server_->send_signal(SIGKILL);
  (void)server_->wait(15s);
}

std::string Node::restart() {
  stop_drain();
  error_ = start_server();
  return error_;
}

Node::~Node() {
  stop_drain();
  if (server_) {
    server_->send_signal(SIGTERM);
    if (!server_->wait(15s)) server_->send_signal(SIGKILL);
  }
}

HttpReply Node::request(const std::string& method, const std::string& path, const json& body, const std::string& token,
                        const std::optional<std::string>& raw_body, const std::string& content_type) const {
  std::vector<std::string> argv = {"curl", "-sS", "--max-time", "10", "-X", method, "-o", "-", "-w", "\n%{http_code}"};
  if (!token.empty()) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + token});
  if (raw_body) {
    argv.insert(argv.end(), {"-H", "Content-Type: " + content_type, "--data-binary", *raw_body});
  } else if (!body.is_null()) {
    argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body.dump()});
  }
  argv.push_back(url_ + path);
  RunResult r = run(argv);
  HttpReply reply;
  const auto nl = r.out.rfind('\n');
  if (nl == std::string::npos) return reply;
  reply.status = std::atoi(r.out.c_str() + nl + 1);
  reply.raw = r.out.substr(0, nl);
  reply.body = json::parse(reply.raw, nullptr, false);
  return reply;
}

std::string Node::server_log() const {
  std::lock_guard lock(server_mu_);
  return server_->stderr_text();
}

std::string Node::login(const std::string& email, const std::string& password) const {
  HttpReply reply = request("POST", "/api/v1/auth/login", json{{"email", email}, {"password", password}});
  if (reply.status != 200 || !reply.body.is_object()) return {};
  return reply.body.value("access_token", "");
}

}  // namespace vontres::testing
