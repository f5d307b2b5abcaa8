// One `vontres serve` under test: a config file (test defaults plus the caller's YAML), an admin
// for each organisation (created with `vontres users create-admin` before the server starts), each
// logged in over HTTP; requests go through curl. Telephony listens on a free UDP/TCP port with
// its own RTP range. The server gets SIGTERM when the Node goes. Its stderr (the ECS log) is read
// continuously on a background thread, so a chatty server never blocks on a full pipe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/subprocess.h"

namespace vontres::testing {

struct HttpReply {
  int status = 0;
  nlohmann::json body;  // discarded (is_discarded()) when the body was not JSON
  std::string raw;
  std::string code() const;  // error.code of a JSON error body, else ""
};

class Node {
 public:
  struct Options {
    std::string binary;                            // the vontres binary (tests pass VONTRES_BINARY)
    std::vector<std::string> orgs = {"Test Org"};  // one admin each: admin@<index>.test.example
    std::string extra_yaml;                        // appended to the generated config
    std::string telephony_yaml;                    // appended inside the telephony: section
  };
  static constexpr const char* kAdminPassword = "an-admin-password-for-tests";

  explicit Node(Options options);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Empty when the node started and every admin logged in.
  const std::string& error() const { return error_; }
  const std::string& url() const { return url_; }
  uint16_t sip_port() const { return sip_port_; }
  std::string sip_target() const { return "127.0.0.1:" + std::to_string(sip_port_); }
  const std::string& dir() const { return dir_.path(); }
  // Everything the server logged so far.
  std::string server_log() const;

  static std::string admin_email(size_t org) { return "admin@" + std::to_string(org) + ".test.example"; }
  const std::string& token(size_t org) const { return tokens_.at(org); }
  const std::string& org_id(size_t org) const { return org_ids_.at(org); }
  const std::string& admin_id(size_t org) const { return admin_ids_.at(org); }

  // `token` empty: no Authorization header. `raw_body` (when set) is sent as is with
  // `content_type` instead of `body`.
  HttpReply request(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr,
                    const std::string& token = {}, const std::optional<std::string>& raw_body = std::nullopt,
                    const std::string& content_type = "application/json") const;
  // Logs in; the access token, or "" on failure.
  std::string login(const std::string& email, const std::string& password) const;

  // SIGKILL, as a crash or `kill -9` would: no shutdown code runs.
  void kill_hard();
  // Starts the server again on the same configuration and data directory (after kill_hard()) and
  // logs the admins in again. Empty on success, else what went wrong (also in error()).
  std::string restart();

 private:
  std::string start_server();
  void stop_drain();

  Options options_;
  std::string config_path_;
  TempDir dir_;
  std::string error_;
  std::string url_;
  uint16_t sip_port_ = 0;
  mutable std::mutex server_mu_;
  mutable std::optional<Subprocess> server_;  // GUARDED_BY(server_mu_) once drain_ runs
  std::atomic<bool> stopping_{false};
  std::thread drain_;
  std::vector<std::string> tokens_;
  std::vector<std::string> org_ids_;
  std::vector<std::string> admin_ids_;
};

}  // namespace vontres::testing
