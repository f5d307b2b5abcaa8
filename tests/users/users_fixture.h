// A users service on a temp SQLite file, an InProcessCache and a ManualClock, served by a real
// HttpServer on 127.0.0.1 (port 0), plus a small blocking HTTP client. Argon2 runs at 8 MiB, one
// pass so tests stay fast. Every log line is captured so tests can check secrets never appear.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <spdlog/sinks/ostream_sink.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "api/server.h"
#include "cache/in_process_cache.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "store/sqlite_store.h"
#include "users/detail/core.h"
#include "users/users_service.h"

namespace vontres::users::testing {

inline std::filesystem::path make_temp_dir(const std::string& stem) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             (stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline AuthConfig fast_auth_config() {
  AuthConfig config;
  config.argon2_memory_kib = 8 * 1024;
  config.argon2_iterations = 1;
  config.argon2_parallelism = 1;
  return config;
}

struct Reply {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string code() const {
    auto parsed = json();
    if (!parsed.is_object() || !parsed.contains("error")) return {};
    return parsed["error"].value("code", "");
  }
  std::string header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
      if (strcasecmp(key.c_str(), name.c_str()) == 0) return value;
    }
    return {};
  }
};

// One request per connection: simple, and a server bug cannot leak state between requests.
inline Reply http_call(uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body = {},
                       const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  timeval timeout{10, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::connection, "close");
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  http::write(socket, request);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  boost::beast::error_code ec;
  http::read(socket, buffer, response, ec);
  Reply reply;
  if (ec) return reply;
  reply.status = static_cast<int>(response.result_int());
  reply.body = response.body();
  for (const auto& field : response)
    reply.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  return reply;
}

inline std::vector<std::pair<std::string, std::string>> bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

class UsersEnvironment {
 public:
  explicit UsersEnvironment(AuthConfig auth = fast_auth_config(), bool start_server = true)
      : dir_(make_temp_dir("vontres-users")), auth_(std::move(auth)) {
    log::Options options;
    options.to_stderr = false;
    options.level = log::Level::kDebug;
    log::init(options);
    sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_stream_);
    log::add_sink(sink_);

    auto store = store::SqliteStore::open(StoreConfig{}, (dir_ / "vontres.db").string(), clock_);
    EXPECT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    cache_ = std::make_unique<cache::InProcessCache>(CacheConfig{}, clock_, nullptr);
    auto service = UsersService::create(auth_, dir_.string(), *store_, *cache_, clock_, ids_);
    EXPECT_TRUE(service.is_ok()) << service.status().to_string();
    service_ = std::move(service).value();
    service_->register_routes(router_);
    if (start_server) {
      HttpConfig http;
      http.listen = {"127.0.0.1", 0};
      http.io_threads = 1;
      http.worker_threads = 2;
      server_ = std::make_unique<api::HttpServer>(http, router_, &service_->authenticator(), registry_, clock_);
      Status started = server_->start();
      EXPECT_TRUE(started.is_ok()) << started.to_string();
    }
  }

  ~UsersEnvironment() {
    if (server_) {
      server_->shutdown(std::chrono::milliseconds(1000));
      server_->wait();
    }
    server_.reset();
    service_.reset();
    log::remove_sink(sink_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  uint16_t port() const { return server_->port(); }
  Reply call(const std::string& method, const std::string& target, const nlohmann::json& body = nullptr,
             const std::string& token = {}) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers = bearer(token);
    return http_call(port(), method, target, body.is_null() ? std::string() : body.dump(), headers);
  }

  // Logs in over HTTP; returns {access, refresh} or fails the test.
  std::pair<std::string, std::string> login(const std::string& email, const std::string& password) {
    Reply reply = call("POST", "/api/v1/auth/login", {{"email", email}, {"password", password}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    auto body = reply.json();
    if (!body.is_object() || !body.contains("access_token")) return {};
    return {body["access_token"].get<std::string>(), body["refresh_token"].get<std::string>()};
  }

  std::string logs() {
    log::flush();
    return log_stream_.str();
  }
  std::string audit_rows() {
    auto rows =
        store_->query("SELECT event_type, outcome, actor_id, subject_id, remote_address, details FROM audit_events");
    std::string out;
    if (!rows.is_ok()) return out;
    for (const auto& row : rows->rows) {
      for (size_t i = 0; i < row.values.size(); ++i) out += row.get_string(i) + "|";
      out += "\n";
    }
    return out;
  }

  ManualClock& clock() { return clock_; }
  UsersService& service() { return *service_; }
  detail::UsersCore& core() { return service_->core(); }
  store::Store& store() { return *store_; }
  cache::Cache& cache() { return *cache_; }
  api::Router& router() { return router_; }
  const AuthConfig& auth() const { return auth_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  AuthConfig auth_;
  ManualClock clock_;
  IdGenerator ids_{clock_, 7};
  std::ostringstream log_stream_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<cache::InProcessCache> cache_;
  std::unique_ptr<UsersService> service_;
  api::Router router_;
  prometheus::Registry registry_;
  std::unique_ptr<api::HttpServer> server_;
};

}  // namespace vontres::users::testing
