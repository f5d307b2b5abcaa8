#include "users/detail/authenticator.h"

#include <cctype>

namespace vontres::users::detail {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Credential from_authorization(std::string_view header) {
  header = trim(header);
  size_t space = header.find(' ');
  if (space == std::string_view::npos) return {Credential::Kind::kUnsupported, {}};
  std::string_view scheme = header.substr(0, space);
  std::string_view value = trim(header.substr(space + 1));
  if (value.empty()) return {Credential::Kind::kUnsupported, {}};
  if (iequals(scheme, "Bearer")) return {Credential::Kind::kBearer, value};
  if (iequals(scheme, "ApiKey")) return {Credential::Kind::kApiKey, value};
  return {Credential::Kind::kUnsupported, {}};
}

// "bearer, <token>": the client offers the pseudo-protocol "bearer" followed by the token.
Credential from_websocket_protocol(std::string_view header) {
  size_t comma = header.find(',');
  if (comma == std::string_view::npos || !iequals(trim(header.substr(0, comma)), "bearer")) return {};
  std::string_view rest = header.substr(comma + 1);
  std::string_view token = trim(rest.substr(0, rest.find(',')));
  if (token.empty()) return {};
  return {Credential::Kind::kBearer, token};
}

}  // namespace

Credential extract_credential(const api::Request& request) {
  if (auto authorization = request.header("authorization")) return from_authorization(*authorization);
  auto upgrade = request.header("upgrade");
  if (!upgrade || !iequals(trim(*upgrade), "websocket")) return {};
  if (auto protocol = request.header("sec-websocket-protocol")) {
    Credential credential = from_websocket_protocol(*protocol);
    if (credential.kind != Credential::Kind::kNone) return credential;
  }
  auto query = request.query.find("access_token");
  if (query != request.query.end() && !query->second.empty()) return {Credential::Kind::kBearer, query->second};
  return {};
}

Result<api::Principal> TokenAuthenticator::authenticate(const api::Request& request) {
  Credential credential = extract_credential(request);
  switch (credential.kind) {
    case Credential::Kind::kNone: return unauthenticated("credentials are required", "missing_credentials");
    case Credential::Kind::kUnsupported:
      return unauthenticated("use 'Authorization: Bearer <token>' or 'Authorization: ApiKey <key>'",
                             "unsupported_auth_scheme");
    case Credential::Kind::kApiKey: return core_.verify_api_key(credential.value);
    case Credential::Kind::kBearer: break;
  }
  VONTRES_ASSIGN_OR_RETURN(AccessClaims claims, core_.verify_access_token(credential.value));
  return core_.principal_for(claims);
}

}  // namespace vontres::users::detail
