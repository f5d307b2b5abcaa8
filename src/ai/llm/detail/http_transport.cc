#include "ai/llm/detail/http_transport.h"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <exception>

namespace vontres::ai::llm::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxBufferedBody = std::size_t{16} << 20;

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status map_error(const boost::system::error_code& ec, std::string_view during) {
  std::string message = std::string(during) + ": " + ec.message();
  if (ec == beast::error::timeout) return deadline_exceeded(std::move(message), "llm_timeout");
  if (ec.category() == http::make_error_code(http::error::bad_version).category() &&
      ec != http::error::partial_message && ec != http::error::end_of_stream) {
    return invalid_argument(std::move(message), "llm_bad_response");
  }
  return unavailable(std::move(message), "llm_unavailable");
}

struct Outcome {
  Status status;
  HttpResponse response;
  bool finished = false;
};

template <typename Stream>
asio::awaitable<void> exchange(Stream& stream, const http::request<http::string_body>& request,
                               std::chrono::steady_clock::time_point deadline,
                               const std::function<bool(const HttpResponse&, std::string_view)>& on_body,
                               Outcome& out) {
  beast::get_lowest_layer(stream).expires_at(deadline);
  if (auto [ec, n] = co_await http::async_write(stream, request, kTuple); ec) {
    out.status = map_error(ec, "write");
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBufferedBody);
  if (auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kTuple); ec) {
    out.status = map_error(ec, "read header");
    co_return;
  }
  HttpResponse& response = out.response;
  response.status = static_cast<int>(parser.get().result_int());
  for (const auto& field : parser.get()) {
    response.headers[lower(field.name_string())] = std::string(field.value());
  }
  const bool stream_body = on_body && response.status >= 200 && response.status < 300;
  if (!stream_body) {
    if (auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple); ec) {
      out.status = map_error(ec, "read body");
      co_return;
    }
    response.body = std::move(parser.get().body());
    co_return;
  }
  parser.body_limit(boost::none);
  while (!parser.is_done()) {
    auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, kTuple);
    std::string& body = parser.get().body();
    if (!body.empty()) {
      const bool more = on_body(response, body);
      body.clear();
      if (!more) co_return;
    }
    if (ec) {
      out.status = map_error(ec, "read body");
      co_return;
    }
  }
}

asio::awaitable<void> run(const Endpoint& endpoint, const http::request<http::string_body>& request,
                          std::chrono::steady_clock::time_point deadline, ssl::context* tls,
                          const std::function<bool(const HttpResponse&, std::string_view)>& on_body, Outcome& out) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [resolve_ec, endpoints] = co_await resolver.async_resolve(endpoint.host, endpoint.port, kTuple);
  if (resolve_ec) {
    out.status = map_error(resolve_ec, "resolve");
    co_return;
  }
  beast::tcp_stream tcp_stream(executor);
  tcp_stream.expires_at(deadline);
  if (auto [ec, connected] = co_await tcp_stream.async_connect(endpoints, kTuple); ec) {
    out.status = map_error(ec, "connect");
    co_return;
  }
  tcp_stream.socket().set_option(tcp::no_delay(true));
  if (tls == nullptr) {
    co_await exchange(tcp_stream, request, deadline, on_body, out);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> tls_stream(std::move(tcp_stream), *tls);
  if (SSL_set_tlsext_host_name(tls_stream.native_handle(), endpoint.host.c_str()) != 1) {
    out.status = unavailable("cannot set TLS SNI host name", "llm_unavailable");
    co_return;
  }
  tls_stream.set_verify_callback(ssl::host_name_verification(endpoint.host));
  beast::get_lowest_layer(tls_stream).expires_at(deadline);
  if (auto [ec] = co_await tls_stream.async_handshake(ssl::stream_base::client, kTuple); ec) {
    out.status = map_error(ec, "TLS handshake");
    co_return;
  }
  co_await exchange(tls_stream, request, deadline, on_body, out);
}

}  // namespace

Result<Endpoint> parse_base_url(std::string_view url) {
  Endpoint endpoint;
  std::string_view rest;
  if (url.starts_with("https://")) {
    endpoint.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return invalid_argument("base URL must start with http:// or https://", "invalid_base_url");
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return invalid_argument("base URL must not carry credentials", "invalid_base_url");
  }
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return invalid_argument("bad IPv6 literal", "invalid_base_url");
    endpoint.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid_argument("bad authority", "invalid_base_url");
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (endpoint.host.empty()) return invalid_argument("base URL without a host", "invalid_base_url");
  for (char c : port) {
    if (c < '0' || c > '9') return invalid_argument("bad port in base URL", "invalid_base_url");
  }
  endpoint.port = port.empty() ? (endpoint.tls ? "443" : "80") : std::string(port);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  endpoint.base_path = std::string(path);
  return endpoint;
}

struct TlsContext::Impl {
  ssl::context context{ssl::context::tls_client};
};

TlsContext::TlsContext() : impl_(std::make_unique<Impl>()) {}
TlsContext::~TlsContext() = default;
void* TlsContext::native() const { return &impl_->context; }

Result<std::shared_ptr<TlsContext>> TlsContext::create(const std::string& ca_file) {
  std::shared_ptr<TlsContext> tls(new TlsContext());  // NOLINT(cppcoreguidelines-owning-memory): private ctor
  auto& context = tls->impl_->context;
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  context.set_default_verify_paths(ec);
  if (ec) return unavailable("cannot load the system CA store: " + ec.message(), "llm_tls_setup");
  if (!ca_file.empty()) {
    context.load_verify_file(ca_file, ec);
    if (ec) return invalid_argument("cannot load CA file " + ca_file + ": " + ec.message(), "llm_tls_setup");
  }
  context.set_verify_mode(ssl::verify_peer);
  return tls;
}

Result<HttpResponse> perform_http(const Endpoint& endpoint, const HttpRequest& request,
                                  std::chrono::steady_clock::time_point deadline, TlsContext* tls,
                                  const std::function<bool(const HttpResponse&, std::string_view)>& on_body) {
  if (endpoint.tls && tls == nullptr) return internal_error("https endpoint without a TLS context", "llm_unavailable");
  http::request<http::string_body> message;
  message.method_string(request.method);
  message.target(request.target);
  message.version(11);
  const bool default_port = endpoint.port == (endpoint.tls ? "443" : "80");
  const std::string host = endpoint.host.find(':') != std::string::npos ? "[" + endpoint.host + "]" : endpoint.host;
  message.set(http::field::host, default_port ? host : host + ":" + endpoint.port);
  for (const auto& [name, value] : request.headers) message.set(name, value);
  message.body() = request.body;
  message.prepare_payload();

  Outcome outcome;
  asio::io_context io;
  auto* context = tls != nullptr && endpoint.tls ? static_cast<ssl::context*>(tls->native()) : nullptr;
  asio::co_spawn(
      io, run(endpoint, message, deadline, context, on_body, outcome), [&outcome](const std::exception_ptr& error) {
        outcome.finished = true;
        if (error) {
          try {
            std::rethrow_exception(error);
          } catch (const std::exception& e) {
            outcome.status = internal_error(std::string("HTTP exchange failed: ") + e.what(), "llm_unavailable");
          }
        }
      });
  // Backstop for the steps a stream expiry does not cover (name resolution): stop at the deadline.
  io.run_until(deadline + std::chrono::milliseconds(50));
  if (!outcome.finished) return deadline_exceeded("request did not complete before the deadline", "llm_timeout");
  if (!outcome.status.is_ok()) return outcome.status;
  return std::move(outcome.response);
}

}  // namespace vontres::ai::llm::detail
