#include "api/raw_request.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include "api/detail/beast_codec.h"

namespace vontres::api {

namespace http = boost::beast::http;

Response handle_raw_request(const Dispatcher& dispatcher, std::string_view bytes, const ParseLimits& limits) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(std::min<uint64_t>(limits.max_header_bytes, UINT32_MAX)));
  parser.body_limit(limits.max_body_bytes);
  parser.eager(true);
  boost::beast::error_code error;
  size_t offset = 0;
  while (!parser.is_done() && offset < bytes.size()) {
    const size_t used = parser.put(boost::asio::buffer(bytes.data() + offset, bytes.size() - offset), error);
    if (error == http::error::need_more) {
      error = {};
      break;
    }
    if (error) return detail::parse_error_response(error);
    if (used == 0) break;
    offset += used;
  }
  if (!parser.got_some()) return detail::parse_error_response(make_error_code(http::error::partial_message));
  if (!parser.is_done()) {
    // The server would wait for more bytes and then time out; answering here keeps this pure.
    parser.put_eof(error);
    if (error || !parser.is_done()) {
      return detail::parse_error_response(error ? error : make_error_code(http::error::partial_message));
    }
  }
  auto converted = detail::to_request(parser.release(), "127.0.0.1");
  if (auto* response = std::get_if<Response>(&converted)) return std::move(*response);
  Request& request = std::get<Request>(converted);
  dispatcher.assign_trace_id(request);
  return dispatcher.handle(request);
}

}  // namespace vontres::api
