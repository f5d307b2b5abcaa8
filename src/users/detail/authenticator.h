// api::Authenticator for the users service. Credentials, in order:
//   Authorization: Bearer <jwt>   |   Authorization: ApiKey <key>
// and, for WebSocket upgrade requests only (header `upgrade: websocket`, since browsers cannot set
// Authorization there): `Sec-WebSocket-Protocol: bearer, <jwt>` or the `access_token` query
// parameter. A token in the query of a plain HTTP request is ignored: URLs end up in logs.
// Errors are unauthenticated with codes "missing_credentials", "unsupported_auth_scheme", the JWT
// codes (see users/jwt.h), "token_revoked", "invalid_api_key", "api_key_revoked".
//
// Thread-safety: authenticate() may be called from any thread.
#pragma once

#include <string_view>

#include "api/http.h"
#include "users/detail/core.h"

namespace vontres::users::detail {

struct Credential {
  enum class Kind { kNone, kBearer, kApiKey, kUnsupported };
  Kind kind = Kind::kNone;
  std::string_view value;
};

// Pure extraction, exposed for tests.
Credential extract_credential(const api::Request& request);

class TokenAuthenticator final : public api::Authenticator {
 public:
  explicit TokenAuthenticator(UsersCore& core) : core_(core) {}
  Result<api::Principal> authenticate(const api::Request& request) override;

 private:
  UsersCore& core_;
};

}  // namespace vontres::users::detail
