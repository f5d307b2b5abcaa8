// Integration tests: a real HttpServer on 127.0.0.1 driven by a Beast client, raw sockets and curl.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <prometheus/registry.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "api/dispatch.h"
#include "api/health.h"
#include "api/server.h"

namespace vontres::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// Sets a receive/send timeout so a misbehaving server fails the test instead of hanging it.
void set_socket_timeouts(tcp::socket& socket) {
  timeval timeout{5, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
}

struct Reply {
  int status = 0;
  std::string body;
  http::response<http::string_body> message;
  nlohmann::json json() const { return nlohmann::json::parse(body); }
  std::string header(std::string_view name) const {
    auto it = message.find(name);
    return it == message.end() ? std::string() : std::string(it->value());
  }
};

// A synchronous keep-alive HTTP/1.1 client on one connection.
class TestClient {
 public:
  explicit TestClient(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    set_socket_timeouts(socket_);
  }

  Reply send(http::verb method, std::string target, std::string body = {},
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, "127.0.0.1");
    for (auto& [name, value] : headers) request.set(name, value);
    request.body() = std::move(body);
    request.prepare_payload();
    http::write(socket_, request);
    Reply reply;
    http::read(socket_, buffer_, reply.message);
    reply.status = static_cast<int>(reply.message.result_int());
    reply.body = reply.message.body();
    return reply;
  }
  Reply get(std::string target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    return send(http::verb::get, std::move(target), {}, std::move(headers));
  }

  // True if the server closed the connection (reading yields EOF).
  bool closed_by_server() {
    beast::error_code error;
    char byte;
    socket_.read_some(asio::buffer(&byte, 1), error);
    return error == asio::error::eof || error == asio::error::connection_reset;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// Sends raw bytes, half-closes, and returns everything the server writes back.
std::string raw_exchange(uint16_t port, std::string_view bytes) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  set_socket_timeouts(socket);
  asio::write(socket, asio::buffer(bytes));
  std::string out;
  beast::error_code error;
  std::array<char, 4096> chunk{};
  while (true) {
    const size_t n = socket.read_some(asio::buffer(chunk), error);
    out.append(chunk.data(), n);
    if (error) break;
  }
  return out;
}

std::string json_body_of(const std::string& raw_response) {
  const size_t start = raw_response.find("\r\n\r\n");
  return start == std::string::npos ? std::string() : raw_response.substr(start + 4);
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> chunk{};
  size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0) result.output.append(chunk.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class TokenAuthenticator final : public Authenticator {
 public:
  Result<Principal> authenticate(const Request& request) override {
    std::string token;
    if (auto header = request.header("authorization"); header && header->starts_with("Bearer ")) {
      token = std::string(header->substr(7));
    } else if (auto protocols = request.header("sec-websocket-protocol")) {
      // `bearer, <token>`: browsers cannot set Authorization on a WebSocket.
      const size_t comma = protocols->find(',');
      if (comma != std::string_view::npos) token = std::string(protocols->substr(comma + 2));
    }
    if (token == "reader-token") return Principal{"u1", "org1", {"agent"}, {"things.read"}, "jwt", "jti1"};
    return unauthenticated("token expired", "token_expired");
  }
};

// Echoes each message back; counts on_close calls.
class EchoSession final : public WebSocketSession {
 public:
  EchoSession(std::shared_ptr<WebSocketConnection> connection, std::string subject, std::promise<void>* closed)
      : connection_(std::move(connection)), subject_(std::move(subject)), closed_(closed) {}
  void on_message(std::string_view text) override {
    if (text == "burst") {  // many frames at once
      for (int i = 0; i < 200; ++i) connection_->send_text(std::string(512, 'x'));
    } else if (text == "queued") {  // how many frames are not written yet
      connection_->send_text("queued=" + std::to_string(connection_->queued_messages()));
    } else if (text == "close-try-again") {
      connection_->close_with(WebSocketConnection::kCloseTryAgainLater, "slow_consumer");
    } else {
      connection_->send_text(subject_ + ": " + std::string(text));
    }
  }
  void on_close() override {
    connection_.reset();
    closed_->set_value();  // a second call would throw: on_close must run once
  }

 private:
  std::shared_ptr<WebSocketConnection> connection_;
  std::string subject_;
  std::promise<void>* closed_;
};

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() {
    register_health_routes(router_, checks_, registry_);
    RouteOptions read;
    read.permission = "things.read";
    router_.add(Method::kGet, "/api/things/{id}", read, [](Request& request) {
      return Response::json(200, {{"id", request.path_params.at("id")}, {"trace_id", request.trace_id}});
    });
    RouteOptions write;
    write.permission = "things.write";
    router_.add(Method::kPost, "/api/things", write, [](Request&) { return Response::no_content(); });
    RouteOptions open;
    open.public_route = true;
    router_.add(Method::kPost, "/echo", open, [](Request& request) {
      auto body = request.json_body();
      if (!body.is_ok()) return Response::error(body.status());
      return Response::json(200, *body);
    });
    router_.add(Method::kGet, "/throws", open, [](Request&) -> Response { throw std::logic_error("bug"); });
    router_.add(Method::kGet, "/slow", open, [this](Request&) {
      slow_entered_.set_value();
      release_slow_.get_future().wait();
      return Response::json(200, {{"slow", true}});
    });
    router_.websocket(
        "/ws/echo", read,
        [this](Request& request,
               std::shared_ptr<WebSocketConnection> connection) -> Result<std::unique_ptr<WebSocketSession>> {
          return std::unique_ptr<WebSocketSession>(
              std::make_unique<EchoSession>(std::move(connection), request.principal->subject, &ws_closed_));
        });
    config_.listen = {"127.0.0.1", 0};
    config_.io_threads = 2;
    config_.worker_threads = 2;
    config_.max_body_bytes = 1024;
    config_.max_header_bytes = 1024;
    config_.request_timeout = std::chrono::milliseconds(3000);
    config_.idle_timeout = std::chrono::milliseconds(3000);
  }

  ~ServerTest() override {
    if (!slow_released_) release_slow_.set_value();
  }

  void start(Authenticator* authenticator) {
    server_ = std::make_unique<HttpServer>(config_, router_, authenticator, registry_, SystemClock::instance());
    const Status status = server_->start();
    ASSERT_TRUE(status.is_ok()) << status.to_string();
    ASSERT_NE(server_->port(), 0);
  }
  void start() { start(&authenticator_); }
  uint16_t port() const { return server_->port(); }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + std::string(path);
  }
  void release_slow() {
    slow_released_ = true;
    release_slow_.set_value();
  }

  Router router_;
  ReadinessChecks checks_;
  prometheus::Registry registry_;
  TokenAuthenticator authenticator_;
  HttpConfig config_;
  std::promise<void> slow_entered_;
  std::promise<void> release_slow_;
  bool slow_released_ = false;
  std::promise<void> ws_closed_;
  std::unique_ptr<HttpServer> server_;
};

const std::vector<std::pair<std::string, std::string>> kReader{{"Authorization", "Bearer reader-token"}};

TEST_F(ServerTest, HealthzIsAlwaysOk) {
  start();
  TestClient client(port());
  const Reply reply = client.get("/healthz");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json()["status"], "ok");
  EXPECT_EQ(reply.header("Content-Type"), "application/json");
  EXPECT_EQ(reply.header("X-Request-Id").size(), 32u);
}

TEST_F(ServerTest, ReadyzIsOkWhenChecksPassAnd503NamingTheFailingCheckOtherwise) {
  checks_.add("store", [] { return Status::ok(); });
  start();
  TestClient client(port());
  EXPECT_EQ(client.get("/readyz").status, 200);
  checks_.add("bus", [] { return unavailable("broker unreachable", "bus_down"); });
  const Reply reply = client.get("/readyz");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.json()["error"]["code"], "not_ready");
  EXPECT_NE(reply.json()["error"]["message"].get<std::string>().find("bus: broker unreachable"), std::string::npos);
}

TEST_F(ServerTest, MetricsExposeRequestCountersByRoutePattern) {
  start();
  TestClient client(port());
  client.get("/healthz");
  client.get("/api/things/42", kReader);
  client.get("/no/such/path");
  const Reply reply = client.get("/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.header("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(reply.body.find(R"(vontres_http_requests_total{method="GET",route="/healthz",status="200"} 1)"),
            std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find(R"(route="/api/things/{id}",status="200")"), std::string::npos);
  EXPECT_NE(reply.body.find(R"(route="unmatched",status="404")"), std::string::npos);
  EXPECT_NE(reply.body.find("vontres_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(reply.body.find("vontres_http_connections"), std::string::npos);
  EXPECT_NE(reply.body.find("vontres_http_requests_in_flight"), std::string::npos);
}

TEST_F(ServerTest, ErrorsAreJsonWithStableCodesAndTheConnectionSurvivesThem) {
  start();
  TestClient client(port());
  Reply reply = client.get("/nope");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.json()["error"]["code"], "route_not_found");

  reply = client.send(http::verb::delete_, "/healthz");
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.json()["error"]["code"], "method_not_allowed");
  EXPECT_EQ(reply.header("Allow"), "GET");

  reply = client.send(http::verb::post, "/echo", "{nope", {{"Content-Type", "application/json"}});
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.json()["error"]["code"], "invalid_json");

  reply = client.get("/throws");
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.json()["error"]["code"], "internal");

  EXPECT_EQ(client.get("/healthz").status, 200);
}

TEST_F(ServerTest, OversizedBodyIs413JsonAndServerKeepsServing) {
  start();
  TestClient client(port());
  const Reply reply = client.send(http::verb::post, "/echo", std::string(4096, 'x'));
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(reply.json()["error"]["code"], "payload_too_large");
  EXPECT_EQ(TestClient(port()).get("/healthz").status, 200);
}

TEST_F(ServerTest, OversizedHeadersAre431Json) {
  start();
  const std::string response =
      raw_exchange(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 431")) << response;
  EXPECT_EQ(nlohmann::json::parse(json_body_of(response))["error"]["code"], "headers_too_large");
  EXPECT_EQ(TestClient(port()).get("/healthz").status, 200);
}

TEST_F(ServerTest, GarbageBytesGet400BadRequestAndServerKeepsServing) {
  start();
  const std::string response = raw_exchange(port(), std::string("\x16\x03\x01garbage\0\r\n\r\n", 16));
  EXPECT_TRUE(response.starts_with("HTTP/1.1 400")) << response;
  EXPECT_EQ(nlohmann::json::parse(json_body_of(response))["error"]["code"], "bad_request");
  EXPECT_EQ(TestClient(port()).get("/healthz").status, 200);
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  start();
  TestClient client(port());
  for (int i = 0; i < 5; ++i) {
    const Reply reply = client.get("/healthz");
    ASSERT_EQ(reply.status, 200);
    EXPECT_TRUE(reply.message.keep_alive());
  }
}

TEST_F(ServerTest, NonPublicRouteWithoutAuthenticatorIs401) {
  start(nullptr);
  const Reply reply = TestClient(port()).get("/api/things/1", kReader);
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(reply.json()["error"]["code"], "unauthenticated");
}

TEST_F(ServerTest, FailingAuthenticatorIs401WithItsCode) {
  start();
  const Reply reply = TestClient(port()).get("/api/things/1", {{"Authorization", "Bearer stale"}});
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(reply.json()["error"]["code"], "token_expired");
}

TEST_F(ServerTest, PrincipalWithoutTheRoutesPermissionIs403) {
  start();
  const Reply reply = TestClient(port()).send(http::verb::post, "/api/things", "{}", kReader);
  EXPECT_EQ(reply.status, 403);
  EXPECT_EQ(reply.json()["error"]["code"], "permission_denied");
}

TEST_F(ServerTest, AuthorizedRequestReachesItsHandlerWithTheTraceparentTraceId) {
  start();
  auto headers = kReader;
  headers.emplace_back("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  const Reply reply = TestClient(port()).get("/api/things/a%20b", headers);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json()["id"], "a b");
  EXPECT_EQ(reply.json()["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(reply.header("X-Request-Id"), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST_F(ServerTest, SlowHandlerDoesNotBlockHealthz) {
  start();
  auto slow = std::async(std::launch::async, [this] { return TestClient(port()).get("/slow"); });
  ASSERT_EQ(slow_entered_.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(TestClient(port()).get("/healthz").status, 200);
  release_slow();
  EXPECT_EQ(slow.get().status, 200);
}

TEST_F(ServerTest, GracefulShutdownFinishesInFlightRequestThenRefusesConnections) {
  start();
  TestClient idle(port());
  ASSERT_EQ(idle.get("/healthz").status, 200);
  auto slow = std::async(std::launch::async, [this] { return TestClient(port()).get("/slow"); });
  ASSERT_EQ(slow_entered_.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);

  server_->shutdown(std::chrono::seconds(10));
  EXPECT_TRUE(idle.closed_by_server());
  release_slow();
  const Reply reply = slow.get();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("Connection"), "close");
  server_->wait();

  asio::io_context io;
  tcp::socket socket(io);
  beast::error_code error;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()), error);
  EXPECT_EQ(error, asio::error::connection_refused);
}

TEST_F(ServerTest, ShutdownForceClosesAfterGrace) {
  start();
  auto slow = std::async(std::launch::async, [this] {
    try {
      return TestClient(port()).get("/slow").status;
    } catch (const std::exception&) {
      return 0;  // closed without a response
    }
  });
  ASSERT_EQ(slow_entered_.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  server_->shutdown(std::chrono::milliseconds(50));
  // wait() needs the handler to return before it can join the worker pool.
  std::thread releaser([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    release_slow();
  });
  server_->wait();
  releaser.join();
  EXPECT_EQ(slow.get(), 0);
}

TEST_F(ServerTest, PortInUseIsAddressInUseErrorWithoutHanging) {
  start();
  HttpConfig taken = config_;
  taken.listen.port = port();
  HttpServer second(taken, router_, nullptr, registry_, SystemClock::instance());
  const Status status = second.start();
  EXPECT_EQ(status.kind(), ErrorKind::kUnavailable);
  EXPECT_EQ(status.code(), "address_in_use");
  EXPECT_NE(status.message().find("127.0.0.1:" + std::to_string(port())), std::string::npos);
}

TEST_F(ServerTest, ConnectionsBeyondTheLimitGet503) {
  config_.max_connections = 1;
  start();
  TestClient first(port());
  ASSERT_EQ(first.get("/healthz").status, 200);
  const Reply reply = TestClient(port()).get("/healthz");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.json()["error"]["code"], "server_busy");
  EXPECT_FALSE(reply.message.keep_alive());
}

TEST_F(ServerTest, WebSocketEchoWithBearerSubprotocolAuthentication) {
  start();
  asio::io_context io;
  websocket::stream<tcp::socket> ws(io);
  ws.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()));
  set_socket_timeouts(ws.next_layer());
  ws.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
    request.set(http::field::sec_websocket_protocol, "bearer, reader-token");
  }));
  websocket::response_type handshake;
  ws.handshake(handshake, "127.0.0.1", "/ws/echo");
  EXPECT_EQ(handshake[http::field::sec_websocket_protocol], "bearer");

  for (std::string text : {"hello", "world"}) {
    ws.write(asio::buffer(text));
    beast::flat_buffer buffer;
    ws.read(buffer);
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), "u1: " + text);
  }
  ws.close(websocket::close_code::normal);
  EXPECT_EQ(ws_closed_.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST_F(ServerTest, WebSocketCountsQueuedFramesUntilTheyAreWrittenAndClosesWithTheGivenCode) {
  start();
  asio::io_context io;
  websocket::stream<tcp::socket> ws(io);
  ws.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()));
  set_socket_timeouts(ws.next_layer());
  ws.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
    request.set(http::field::sec_websocket_protocol, "bearer, reader-token");
  }));
  ws.handshake("127.0.0.1", "/ws/echo");
  ws.write(asio::buffer(std::string("burst")));
  for (int i = 0; i < 200; ++i) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    ASSERT_EQ(buffer.size(), 512u);
  }
  // Every frame was read, so the count drains to zero (the server settles it after each write).
  std::string answer;
  for (int i = 0; i < 100 && answer != "queued=0"; ++i) {
    ws.write(asio::buffer(std::string("queued")));
    beast::flat_buffer buffer;
    ws.read(buffer);
    answer = beast::buffers_to_string(buffer.data());
    if (answer != "queued=0") std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(answer, "queued=0");
  ws.write(asio::buffer(std::string("close-try-again")));
  beast::flat_buffer buffer;
  beast::error_code error;
  ws.read(buffer, error);
  EXPECT_EQ(error, websocket::error::closed);
  EXPECT_EQ(ws.reason().code, 1013);
  EXPECT_EQ(std::string(ws.reason().reason.c_str()), "slow_consumer");
  EXPECT_EQ(ws_closed_.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST_F(ServerTest, WebSocketWithoutValidCredentialsIsRejectedWith401) {
  start();
  asio::io_context io;
  websocket::stream<tcp::socket> ws(io);
  ws.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()));
  set_socket_timeouts(ws.next_layer());
  websocket::response_type handshake;
  beast::error_code error;
  ws.handshake(handshake, "127.0.0.1", "/ws/echo", error);
  EXPECT_EQ(error, websocket::error::upgrade_declined);
  EXPECT_EQ(handshake.result_int(), 401u);
}

TEST_F(ServerTest, CurlGetsHealthzAndMetrics) {
  start();
  const CommandResult health = run_command("curl -sS --max-time 5 " + url("/healthz"));
  EXPECT_EQ(health.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(health.output)["status"], "ok");
  const CommandResult metrics = run_command("curl -sS --max-time 5 " + url("/metrics"));
  EXPECT_NE(metrics.output.find("vontres_http_requests_total"), std::string::npos);
}

TEST_F(ServerTest, HeadIsAnsweredLikeGetWithTheLengthAndWithoutTheBody) {
  start();
  const CommandResult head = run_command("curl -sS --max-time 5 -I " + url("/healthz"));
  EXPECT_EQ(head.exit_code, 0) << head.output;
  EXPECT_TRUE(head.output.starts_with("HTTP/1.1 200")) << head.output;
  std::string lower = head.output;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(lower.find("content-length: "), std::string::npos) << head.output;
  EXPECT_EQ(lower.find("content-length: 0"), std::string::npos) << "the GET body's length is kept";
  EXPECT_EQ(head.output.find("\"status\""), std::string::npos) << "no body on HEAD";
}

TEST(MetricsTokenTest, MetricsNeedTheConfiguredBearerTokenAndOtherProbesStayOpen) {
  Router router;
  ReadinessChecks checks;
  prometheus::Registry registry;
  register_health_routes(router, checks, registry, "a-metrics-token-for-tests");
  Dispatcher dispatcher(router, nullptr, SystemClock::instance());
  auto get = [&](const std::string& path, const std::string& authorization) {
    Request request;
    request.method = Method::kGet;
    request.target = path;
    request.path = path;
    if (!authorization.empty()) request.headers.emplace_back("authorization", authorization);
    return dispatcher.handle(request);
  };
  EXPECT_EQ(get("/metrics", "").status, 401);
  EXPECT_NE(get("/metrics", "").body.find("metrics_token_required"), std::string::npos);
  EXPECT_EQ(get("/metrics", "Bearer wrong-token").status, 401);
  EXPECT_EQ(get("/metrics", "Bearer a-metrics-token-for-tests-and-more").status, 401);
  EXPECT_EQ(get("/metrics", "Bearer a-metrics-token-for-tests").status, 200);
  EXPECT_EQ(get("/healthz", "").status, 200);
}

TEST(MetricsTokenTest, TheTokenFileMustHoldAToken) {
  const auto dir = std::filesystem::temp_directory_path() / ("vontres-metrics-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "  the-token \n";
  std::ofstream(dir / "empty") << "\n";
  EXPECT_EQ(*read_metrics_token((dir / "token").string()), "the-token");
  EXPECT_EQ(read_metrics_token((dir / "empty").string()).status().code(), "metrics_token_unreadable");
  EXPECT_EQ(read_metrics_token((dir / "missing").string()).status().code(), "metrics_token_unreadable");
  std::filesystem::remove_all(dir);
}

TEST_F(ServerTest, CurlUploadOverTheBodyLimitGets413) {
  start();
  const auto dir = std::filesystem::temp_directory_path() / ("vontres-api-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "big.json") << std::string(200 * 1024, 'x');
  const CommandResult result = run_command(
      "curl -sS --max-time 5 -o - -w ' %{http_code}' -H 'Content-Type: application/json' "
      "--data-binary @" +
      (dir / "big.json").string() + " " + url("/echo"));
  std::filesystem::remove_all(dir);
  EXPECT_NE(result.output.find("payload_too_large"), std::string::npos) << result.output;
  EXPECT_TRUE(result.output.ends_with(" 413")) << result.output;
}

class TlsServerTest : public ServerTest {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("vontres-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const CommandResult made = run_command(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout " +
        (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() + " 2>&1");
    ASSERT_EQ(made.exit_code, 0) << made.output;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(TlsServerTest, ServesHttpsToCurlWithASelfSignedCertificate) {
  config_.tls_cert_file = (dir_ / "cert.pem").string();
  config_.tls_key_file = (dir_ / "key.pem").string();
  start();
  const std::string https = "https://127.0.0.1:" + std::to_string(port());
  const CommandResult result =
      run_command("curl -sS --max-time 5 --cacert " + config_.tls_cert_file + " " + https + "/healthz");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(nlohmann::json::parse(result.output)["status"], "ok");
  const CommandResult old_tls =
      run_command("curl -sS --max-time 5 -k --tlsv1.1 --tls-max 1.1 " + https + "/healthz 2>&1");
  EXPECT_NE(old_tls.exit_code, 0) << old_tls.output;
  const CommandResult plain =
      run_command("curl -sS --max-time 5 http://127.0.0.1:" + std::to_string(port()) + "/healthz 2>&1");
  EXPECT_NE(plain.exit_code, 0);
}

TEST_F(TlsServerTest, HttpsAnswersCarryHstsAndTls12AcceptsOnlyForwardSecretAeadSuites) {
  config_.tls_cert_file = (dir_ / "cert.pem").string();
  config_.tls_key_file = (dir_ / "key.pem").string();
  start();
  const std::string https = "https://127.0.0.1:" + std::to_string(port());
  const std::string curl = "curl -sS --max-time 5 --cacert " + config_.tls_cert_file + " ";
  const CommandResult headers = run_command(curl + "-D - -o /dev/null " + https + "/healthz");
  std::string lower = headers.output;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(lower.find("strict-transport-security: max-age=31536000"), std::string::npos) << headers.output;
  const CommandResult aead =
      run_command(curl + "--tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 " + https + "/healthz 2>&1");
  EXPECT_EQ(aead.exit_code, 0) << aead.output;
  for (const char* weak : {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-SHA"}) {
    const CommandResult refused =
        run_command(curl + "--tlsv1.2 --tls-max 1.2 --ciphers " + std::string(weak) + " " + https + "/healthz 2>&1");
    EXPECT_NE(refused.exit_code, 0) << weak << ": " << refused.output;
  }
}

TEST_F(TlsServerTest, UnreadableCertificateIsAClearStartError) {
  config_.tls_cert_file = (dir_ / "missing.pem").string();
  config_.tls_key_file = (dir_ / "key.pem").string();
  HttpServer server(config_, router_, nullptr, registry_, SystemClock::instance());
  const Status status = server.start();
  EXPECT_EQ(status.code(), "tls_config");
  EXPECT_NE(status.message().find("missing.pem"), std::string::npos);
}

}  // namespace
}  // namespace vontres::api
