#include "api/detail/beast_codec.h"

#include <algorithm>
#include <cctype>

#include <boost/beast/http/error.hpp>

#include "api/url.h"

namespace vontres::api::detail {

namespace http = boost::beast::http;

Response parse_error_response(const boost::beast::error_code& error) {
  if (error == http::error::header_limit) {
    return Response::error(431, "headers_too_large", "request headers exceed the limit");
  }
  if (error == http::error::body_limit || error == http::error::buffer_overflow) {
    return Response::error(413, "payload_too_large", "request body exceeds the limit");
  }
  return Response::error(400, "bad_request", "malformed HTTP request");
}

std::variant<Request, Response> to_request(BeastRequest&& message, std::string remote_address) {
  Request request;
  const std::optional<Method> method = parse_method(message.method_string());
  if (!method) return Response::error(501, "method_not_implemented", "method not implemented");
  request.method = *method;
  request.target = std::string(message.target());
  if (request.target.empty() || request.target.front() != '/') {
    return Response::error(400, "bad_request", "request target must be an absolute path");
  }
  const TargetParts parts = split_target(request.target);
  // Request::path is decoded for handlers; routing re-splits the raw target (see Router::match).
  request.path = percent_decode(parts.raw_path);
  request.query = parse_query(parts.raw_query);
  request.headers.reserve(static_cast<size_t>(std::distance(message.begin(), message.end())));
  for (const auto& field : message) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    request.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  request.body = std::move(message.body());
  request.remote_address = std::move(remote_address);
  return request;
}

BeastResponse to_beast(Response&& response, unsigned version, bool keep_alive, bool head_request) {
  const int status = response.status >= 100 && response.status <= 599 ? response.status : 500;
  BeastResponse message{static_cast<http::status>(status), version};
  message.set(http::field::server, "vontres");
  if (!response.content_type.empty()) message.set(http::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers) message.insert(name, value);
  const size_t length = response.body.size();
  if (!head_request) message.body() = std::move(response.body);
  message.keep_alive(keep_alive);
  if (status == 204 || status == 304 || status < 200) {
    message.body().clear();
  } else {
    message.content_length(length);
  }
  return message;
}

}  // namespace vontres::api::detail
