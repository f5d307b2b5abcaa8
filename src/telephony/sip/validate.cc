// Request validation (RFC 3261 8.2, 16.3); see validate.h.
#include "telephony/sip/validate.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "telephony/sip/detail/scan.h"

namespace vontres::telephony::sip {
namespace {

ParseError reject(int status, std::string detail) {
  return ParseError{status, std::string(reason_phrase(status)), std::move(detail), {}};
}

bool contains_ci(const std::vector<std::string>& list, std::string_view value) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& s) { return detail::iequals(s, value); });
}

std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& s : list) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// "type/subtype" of a Content-Type value, lower-cased, without parameters.
std::string media_type(std::string_view value) {
  std::string_view bare = detail::trim(value.substr(0, value.find(';')));
  std::string out;
  for (char c : bare) {
    if (!detail::is_ws(c)) out.push_back(detail::to_lower(c));
  }
  return out;
}

}  // namespace

std::optional<ParseError> check_request(const Message& request, const RequestChecks& checks) {
  if (!request.is_request() || request.method() == "ACK") return std::nullopt;

  // Mandatory headers, each exactly once (Via at least once). RFC 3261 8.1.1, RFC 4475 3.3.1/3.3.8.
  for (std::string_view name : {"To", "From", "CSeq", "Call-ID"}) {
    size_t count = request.headers_named(name).size();
    if (count == 0) return reject(400, "missing " + std::string(name));
    if (count > 1) return reject(400, "more than one " + std::string(name));
  }
  if (request.headers_named("Via").empty()) return reject(400, "missing Via");
  auto max_forwards = request.headers_named("Max-Forwards");
  if (max_forwards.size() > 1) return reject(400, "more than one Max-Forwards");
  if (max_forwards.empty() && checks.require_max_forwards) return reject(400, "missing Max-Forwards");
  for (std::string_view name : {"Content-Type", "Content-Length", "Content-Encoding"}) {
    if (name != "Content-Encoding" && request.headers_named(name).size() > 1) {
      return reject(400, "more than one " + std::string(name));
    }
  }

  // 8.2.1 method inspection.
  const std::string& method = request.method();
  // Methods are case-sensitive (RFC 3261 7.1).
  if (std::find(checks.implemented_methods.begin(), checks.implemented_methods.end(), method) ==
      checks.implemented_methods.end()) {
    if (checks.role == Role::kUserAgentServer) {
      auto error = reject(501, "method " + method + " not implemented");
      error.response_headers.push_back(Header{"Allow", join(checks.implemented_methods)});
      return error;
    }
  } else if (!checks.allowed_methods.empty() && std::find(checks.allowed_methods.begin(), checks.allowed_methods.end(),
                                                          method) == checks.allowed_methods.end()) {
    auto error = reject(405, "method " + method + " not allowed here");
    error.response_headers.push_back(Header{"Allow", join(checks.allowed_methods)});
    return error;
  }

  auto cseq = parse_cseq(*request.header("CSeq"));
  if (!cseq) return reject(400, "bad CSeq");
  if (cseq->method != method) return reject(400, "CSeq method does not match the request method");

  // 8.2.2.1 / 16.3 step 2: Request-URI scheme.
  auto uri = parse_uri(request.request_uri());
  if (!uri) return reject(400, "bad Request-URI");
  if (!contains_ci(checks.uri_schemes, uri->scheme)) return reject(416, "Request-URI scheme " + uri->scheme);

  // 16.3 step 3: Max-Forwards.
  if (!max_forwards.empty() && checks.reject_zero_max_forwards && method != "OPTIONS") {
    auto value = detail::parse_decimal(detail::trim(max_forwards[0]), 255);
    if (!value) return reject(400, "bad Max-Forwards");
    if (*value == 0) return reject(483, "Max-Forwards reached 0");
  }

  // 8.2.2.3 Require (UAS; ignored for CANCEL) / 16.3 step 5 Proxy-Require (proxy).
  if (method != "CANCEL") {
    std::string_view field = checks.role == Role::kUserAgentServer ? "Require" : "Proxy-Require";
    std::vector<std::string> unsupported;
    for (std::string_view tag : request.headers_named(field)) {
      if (!tag.empty() && !contains_ci(checks.supported_extensions, tag)) unsupported.emplace_back(tag);
    }
    if (!unsupported.empty()) {
      auto error = reject(420, "unsupported " + std::string(field) + ": " + join(unsupported));
      error.response_headers.push_back(Header{"Unsupported", join(unsupported)});
      return error;
    }
  }

  // 8.2.3 content processing (UAS only).
  if (checks.role == Role::kUserAgentServer && !request.body().empty()) {
    for (std::string_view encoding : request.headers_named("Content-Encoding")) {
      if (!contains_ci(checks.accepted_content_encodings, encoding)) {
        auto error = reject(415, "Content-Encoding " + std::string(encoding));
        error.response_headers.push_back(Header{"Accept-Encoding", join(checks.accepted_content_encodings)});
        error.response_headers.push_back(Header{"Accept", join(checks.accepted_content_types)});
        return error;
      }
    }
    auto type = request.header("Content-Type");
    if (!type) return reject(400, "body without Content-Type");
    if (!contains_ci(checks.accepted_content_types, media_type(*type))) {
      auto error = reject(415, "Content-Type " + media_type(*type));
      error.response_headers.push_back(Header{"Accept", join(checks.accepted_content_types)});
      return error;
    }
  }
  return std::nullopt;
}

}  // namespace vontres::telephony::sip
