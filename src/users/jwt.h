// Access tokens: issues and verifies signed JWTs (RFC 7519) with a pinned algorithm.
//
// Signing and signature checks for HS256/RS256/ES256 go through libjwt; EdDSA (Ed25519), which
// libjwt 1.10 lacks, goes through OpenSSL directly. Everything else is done here, deliberately:
//   - the token length is capped (kMaxTokenBytes) before any parsing;
//   - the header's "alg" must equal the configured algorithm exactly, so "none" and algorithm
//     confusion (an HS256 token keyed with the RS256 public key) are refused before libjwt runs;
//   - iss, aud, exp, nbf and iat are checked against the injected Clock with the configured
//     leeway (libjwt's own time checks would read the real time).
// All failures are `unauthenticated` with codes "token_malformed", "token_invalid",
// "token_expired" or "token_not_yet_valid".
//
// Thread-safety: immutable after create(); issue() and verify() may run on any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"

namespace vontres::users {

// The claims Vontres puts into an access token.
struct AccessClaims {
  std::string subject;  // sub: user id
  std::string org_id;   // org
  std::vector<std::string> roles;
  std::string jti;        // token id, for logout
  std::string family_id;  // sid: the refresh-token family (login session) it belongs to
  int64_t issued_at = 0;  // iat, nbf and exp in Unix seconds
  int64_t not_before = 0;
  int64_t expires_at = 0;
  // "iat_ms": the issue time in Unix milliseconds, so a revocation in the same second as an issue
  // can tell them apart. Tokens without it read as issued at the start of their iat second.
  int64_t issued_at_ms = 0;
};

// Keys as bytes, for create_from_keys (tests, benchmarks). PEM for the asymmetric algorithms.
struct JwtKeys {
  std::string hmac_secret;
  std::string private_key_pem;  // may be empty on a verify-only node
  std::string public_key_pem;
};

class JwtCodec {
 public:
  static constexpr size_t kMaxTokenBytes = 8 * 1024;

  // Loads keys as the configuration says. HS256 reads `secret_path` (usually
  // Config::jwt_secret_path()); if that file does not exist it is created with 32 random bytes,
  // mode 0600. Errors: "jwt_config_invalid", "jwt_key_unreadable" (failed_precondition).
  static Result<std::unique_ptr<JwtCodec>> create(const AuthConfig& config, const std::string& secret_path,
                                                  const Clock& clock);
  static Result<std::unique_ptr<JwtCodec>> create_from_keys(const AuthConfig& config, JwtKeys keys, const Clock& clock);
  // Only create() can make the key; keeps construction going through validation.
  class ConstructionKey {
    friend class JwtCodec;
    ConstructionKey() = default;
  };
  struct Keys;
  JwtCodec(ConstructionKey, const AuthConfig& config, const Clock& clock, std::string algorithm,
           std::unique_ptr<Keys> keys);
  ~JwtCodec();
  JwtCodec(const JwtCodec&) = delete;
  JwtCodec& operator=(const JwtCodec&) = delete;

  // Signs a token for `claims`; iat/nbf/exp are filled from the clock and the access-token TTL
  // and written back into `claims`.
  Result<std::string> issue(AccessClaims& claims) const;
  // Verifies signature, algorithm and claims. See the file comment for the error codes.
  Result<AccessClaims> verify(std::string_view token) const;

  const std::string& algorithm() const { return algorithm_; }

 private:
  Status verify_signature(std::string_view token, size_t second_dot) const;

  const Clock& clock_;
  std::string issuer_;
  std::string audience_;
  int64_t ttl_seconds_;
  int64_t leeway_seconds_;
  std::string algorithm_;
  std::unique_ptr<Keys> keys_;
};

}  // namespace vontres::users
