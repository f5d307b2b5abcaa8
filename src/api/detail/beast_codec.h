// Conversion between Beast messages and the transport-neutral Request/Response, plus the mapping of
// HTTP parse errors to JSON error responses. Internal to api/: includes Beast, so only the server
// and the raw-request path include it.
#pragma once

#include <string>
#include <variant>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/http.h"

namespace vontres::api::detail {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;

// The JSON error for a failed read: 431 "headers_too_large", 413 "payload_too_large",
// else 400 "bad_request".
Response parse_error_response(const boost::beast::error_code& error);

// A Request, or the error to answer with (501 for an unknown method, 400 for a target that is not
// origin-form). Headers are copied with lower-cased names; the body is moved.
std::variant<Request, Response> to_request(BeastRequest&& message, std::string remote_address);

// The wire response. `head_request`: keep Content-Length but send no body.
BeastResponse to_beast(Response&& response, unsigned version, bool keep_alive, bool head_request);

}  // namespace vontres::api::detail
