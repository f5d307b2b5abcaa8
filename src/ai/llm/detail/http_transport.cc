#include "ai/llm/detail/http_transport.h"

#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <optional>

namespace vontres::ai::llm::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

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

// One request/response on an established stream, as a chain of completion handlers (no C++20
// coroutines: clang's ASan + debug-info builds cannot assemble their frames, "Cannot represent a
// difference across sections"). Lives on perform_http's stack, which outlives the io_context.
template <typename Stream>
class Exchange {
 public:
  Exchange(Stream& stream, const http::request<http::string_body>& request,
           std::chrono::steady_clock::time_point deadline,
           const std::function<bool(const HttpResponse&, std::string_view)>& on_body, Outcome& out)
      : stream_(stream), request_(request), deadline_(deadline), on_body_(on_body), out_(out) {
    parser_.body_limit(kMaxBufferedBody);
  }

  void start() {
    beast::get_lowest_layer(stream_).expires_at(deadline_);
    http::async_write(stream_, request_, [this](const boost::system::error_code& ec, std::size_t) {
      if (ec) return fail(ec, "write");
      http::async_read_header(stream_, buffer_, parser_,
                              [this](const boost::system::error_code& ec2, std::size_t) { on_header(ec2); });
    });
  }

 private:
  void fail(const boost::system::error_code& ec, std::string_view during) {
    out_.status = map_error(ec, during);
    out_.finished = true;
  }

  void on_header(const boost::system::error_code& ec) {
    if (ec) return fail(ec, "read header");
    HttpResponse& response = out_.response;
    response.status = static_cast<int>(parser_.get().result_int());
    for (const auto& field : parser_.get()) response.headers[lower(field.name_string())] = std::string(field.value());
    if (!on_body_ || response.status < 200 || response.status >= 300) {
      http::async_read(stream_, buffer_, parser_, [this](const boost::system::error_code& ec2, std::size_t) {
        if (ec2) return fail(ec2, "read body");
        out_.response.body = std::move(parser_.get().body());
        out_.finished = true;
      });
      return;
    }
    parser_.body_limit(boost::none);
    read_more();
  }

  void read_more() {
    if (parser_.is_done()) {
      out_.finished = true;
      return;
    }
    http::async_read_some(stream_, buffer_, parser_, [this](const boost::system::error_code& ec, std::size_t) {
      std::string& body = parser_.get().body();
      if (!body.empty()) {
        const bool more = on_body_(out_.response, body);
        body.clear();
        if (!more) {
          out_.finished = true;
          return;
        }
      }
      if (ec) return fail(ec, "read body");
      read_more();
    });
  }

  Stream& stream_;
  const http::request<http::string_body>& request_;
  std::chrono::steady_clock::time_point deadline_;
  const std::function<bool(const HttpResponse&, std::string_view)>& on_body_;
  Outcome& out_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
};

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
  tcp::resolver resolver(io);
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  std::optional<Exchange<beast::tcp_stream>> plain_exchange;
  std::optional<Exchange<beast::ssl_stream<beast::tcp_stream>>> secure_exchange;
  const auto fail = [&outcome](const boost::system::error_code& ec, std::string_view during) {
    outcome.status = map_error(ec, during);
    outcome.finished = true;
  };
  beast::tcp_stream* lowest = nullptr;
  if (context != nullptr) {
    secure.emplace(io, *context);
    lowest = &beast::get_lowest_layer(*secure);
    if (SSL_set_tlsext_host_name(secure->native_handle(), endpoint.host.c_str()) != 1) {
      return unavailable("cannot set TLS SNI host name", "llm_unavailable");
    }
    secure->set_verify_callback(ssl::host_name_verification(endpoint.host));
    secure_exchange.emplace(*secure, message, deadline, on_body, outcome);
  } else {
    plain.emplace(io);
    lowest = &*plain;
    plain_exchange.emplace(*plain, message, deadline, on_body, outcome);
  }
  const auto on_connected = [&](const boost::system::error_code& ec, const tcp::endpoint&) {
    if (ec) return fail(ec, "connect");
    boost::system::error_code ignored;
    lowest->socket().set_option(tcp::no_delay(true), ignored);
    if (!secure) return plain_exchange->start();
    lowest->expires_at(deadline);
    secure->async_handshake(ssl::stream_base::client, [&](const boost::system::error_code& ec2) {
      if (ec2) return fail(ec2, "TLS handshake");
      secure_exchange->start();
    });
  };
  resolver.async_resolve(endpoint.host, endpoint.port,
                         [&](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
                           if (ec) return fail(ec, "resolve");
                           lowest->expires_at(deadline);
                           lowest->async_connect(results, on_connected);
                         });
  // Backstop for the steps a stream expiry does not cover (name resolution): stop at the deadline.
  io.run_until(deadline + std::chrono::milliseconds(50));
  if (!outcome.finished) return deadline_exceeded("request did not complete before the deadline", "llm_timeout");
  if (!outcome.status.is_ok()) return outcome.status;
  return std::move(outcome.response);
}

}  // namespace vontres::ai::llm::detail
