// One blocking HTTP/1.1 exchange over plain TCP or TLS (Beast over Asio), bounded by a deadline,
// with an optional streaming body callback. Used only by OpenAiClient.
//
// Thread-safety: each call builds its own io_context; a TlsContext may be shared between calls.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace vontres::ai::llm::detail {

struct Endpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string base_path;  // e.g. "/v1" (no trailing slash)
};

// Splits "https://host[:port]/path" (http or https only). Errors: "invalid_base_url".
Result<Endpoint> parse_base_url(std::string_view url);

struct HttpRequest {
  std::string method = "POST";
  std::string target;  // origin-form, e.g. "/v1/chat/completions"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // empty when streamed to the callback
};

// Owns the OpenSSL client context (system CA store, plus `ca_file` when given).
class TlsContext {
 public:
  static Result<std::shared_ptr<TlsContext>> create(const std::string& ca_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  void* native() const;  // boost::asio::ssl::context*

 private:
  struct Impl;
  TlsContext();
  std::unique_ptr<Impl> impl_;
};

// Performs the exchange. For a 2xx response with `on_body` set, body bytes are handed to `on_body`
// as they arrive (it returns false to stop reading); otherwise the whole body is returned.
// Errors: "llm_timeout" (deadline passed), "llm_unavailable" (resolve/connect/TLS/IO failure),
// "llm_bad_response" (malformed HTTP).
Result<HttpResponse> perform_http(const Endpoint& endpoint, const HttpRequest& request,
                                  std::chrono::steady_clock::time_point deadline, TlsContext* tls,
                                  const std::function<bool(const HttpResponse& head, std::string_view bytes)>& on_body);

}  // namespace vontres::ai::llm::detail
