// SIP digest authentication (RFC 3261 22, RFC 7616 as applied to SIP by RFC 8760): the server side
// that challenges REGISTERs and verifies Authorization / Proxy-Authorization, and the client side
// that answers a trunk's 401/407. Only qop=auth with MD5 or SHA-256 is supported (no -sess, no
// auth-int, no userhash). Nonces are stateless: base64(timestamp | salt | HMAC-SHA256(secret,
// timestamp | salt | realm)), so any instance holding the secret can check them; they go stale
// after `nonce_ttl`. The only state is the replay table (last nc per nonce and user), bounded.
//
// Thread-safety: DigestServer is internally locked (one mutex around the replay table) and may be
// used from any thread; the free functions are pure. DigestClient is a value type for one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "telephony/sip/message.h"

namespace vontres::telephony::registrar {

enum class DigestAlgorithm { kMd5, kSha256 };

// "MD5" / "SHA-256".
std::string_view algorithm_name(DigestAlgorithm algorithm);
// Case-insensitive; nullopt for anything else (including the -sess variants and SHA-512-256).
std::optional<DigestAlgorithm> parse_algorithm(std::string_view name);

// Lower-case hex of H(data).
std::string digest_hash_hex(DigestAlgorithm algorithm, std::string_view data);
// HA1 = H(username ":" realm ":" password). What the credential store keeps instead of passwords.
std::string compute_ha1(DigestAlgorithm algorithm, std::string_view username, std::string_view realm,
                        std::string_view password);
// response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" H(method ":" uri)); with an empty `qop`
// the RFC 2069 form H(HA1 ":" nonce ":" H(method ":" uri)) (client side only, for old trunks).
std::string compute_response(DigestAlgorithm algorithm, std::string_view ha1, std::string_view nonce,
                             std::string_view nc, std::string_view cnonce, std::string_view qop,
                             std::string_view method, std::string_view uri);
// Compares without an early exit on the first differing byte (lengths are not secret).
bool constant_time_equals(std::string_view a, std::string_view b);
// `count` bytes from OpenSSL's CSPRNG (for secrets and cnonces). Empty if the CSPRNG fails.
std::string random_bytes(size_t count);

// A parsed credentials or challenge header: `Digest a=b, c="d, e"`. Parameter names are
// lower-cased; quoted values are unquoted and unescaped. Error "digest_malformed" (invalid_argument)
// on syntax errors or duplicate parameters.
struct AuthHeader {
  std::string scheme;  // as sent, e.g. "Digest"
  std::vector<std::pair<std::string, std::string>> params;
  const std::string* param(std::string_view name) const;  // name lower-case
};
Result<AuthHeader> parse_auth_header(std::string_view value);
// `"text"` with `"` and `\` escaped.
std::string quoted_string(std::string_view text);

// 401 + WWW-Authenticate / Authorization, or 407 + Proxy-Authenticate / Proxy-Authorization.
enum class ChallengeKind { kWww, kProxy };
std::string_view challenge_header_name(ChallengeKind kind);
std::string_view credentials_header_name(ChallengeKind kind);

struct DigestServerOptions {
  std::string realm;   // e.g. the SIP domain; non-empty
  std::string secret;  // HMAC key for nonces, at least 16 bytes (random_bytes(32))
  Duration nonce_ttl = std::chrono::minutes(5);
  Duration max_clock_skew = std::chrono::seconds(5);  // nonces from further in the future are bad
  size_t max_tracked_nonces = 10'000;                 // replay table bound
  bool offer_md5 = true;                              // second challenge for MD5-only phones
  // Some MD5-only clients (SIPp) answer the first challenge whatever its algorithm; for them the
  // SHA-256 challenge can be turned off (then only MD5 is offered).
  bool offer_sha256 = true;
};

// The HA1s of one user for the server's realm; an empty string means "not available".
struct Ha1Set {
  std::string md5;
  std::string sha256;
};
// Finds a user's HA1s. Its errors are passed through unchanged (e.g. "digest_unknown_user",
// "digest_account_disabled"), so the caller decides 401 vs 403.
using Ha1Lookup = std::function<Result<Ha1Set>(std::string_view username)>;

struct DigestIdentity {
  std::string username;
  DigestAlgorithm algorithm = DigestAlgorithm::kSha256;
};

class DigestServer {
 public:
  // Errors: invalid_argument "digest_bad_options" (empty realm, short secret, zero TTL/bound).
  static Result<std::unique_ptr<DigestServer>> create(DigestServerOptions options, const Clock& clock);

  DigestServer(const DigestServer&) = delete;
  DigestServer& operator=(const DigestServer&) = delete;

  const std::string& realm() const { return options_.realm; }

  // Challenge header values, SHA-256 first then MD5 (RFC 8760 4): `Digest realm="..",
  // nonce="..", opaque="..", algorithm=SHA-256, qop="auth"[, stale=true]`.
  std::vector<std::string> challenge_values(bool stale) const;
  // Adds those values to `response` under WWW-Authenticate or Proxy-Authenticate.
  void add_challenge(sip::Message& response, ChallengeKind kind, bool stale) const;

  // Verifies the request's Authorization (kWww) or Proxy-Authorization (kProxy) for this realm.
  // Errors (all with stable codes):
  //   unauthenticated: digest_missing, digest_stale (answer with stale=true), digest_bad_nonce,
  //     digest_unsupported_algorithm, digest_unsupported_qop, digest_opaque_mismatch,
  //     digest_bad_response, digest_replay, and whatever `lookup` returns (digest_unknown_user)
  //   invalid_argument: digest_malformed (400), digest_uri_mismatch (400, RFC 7616 3.4.6)
  Result<DigestIdentity> verify(const sip::Message& request, ChallengeKind kind, const Ha1Lookup& lookup);
  // The same for one header value (tests, and callers that picked the header themselves).
  Result<DigestIdentity> verify_credentials(std::string_view header_value, std::string_view method,
                                            std::string_view request_uri, const Ha1Lookup& lookup);

  // A fresh nonce (also used by challenge_values).
  std::string new_nonce() const;
  size_t tracked_nonces() const;

 private:
  DigestServer(DigestServerOptions options, const Clock& clock);
  // The nonce's timestamp (ms) if its MAC is ours; error digest_bad_nonce or digest_stale.
  Result<int64_t> check_nonce(std::string_view nonce) const;
  // Accepts `nc` for (nonce, username) if greater than the last one; else digest_replay.
  Status record_nonce_count(std::string_view nonce, std::string_view username, int64_t nonce_ms, uint32_t nc);
  const std::string& opaque() const { return opaque_; }

  DigestServerOptions options_;
  const Clock& clock_;
  std::string opaque_;  // derived from secret and realm once
  mutable std::atomic<uint64_t> salt_counter_{0};

  struct Tracked {
    uint32_t last_nc = 0;
    int64_t nonce_ms = 0;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Tracked> tracked_;  // GUARDED_BY(mu_), key nonce '\0' username
  std::deque<std::string> order_;                     // GUARDED_BY(mu_), insertion order for eviction
  // GUARDED_BY(mu_): nonces minted at or before this instant may have been evicted from the
  // table, so their nc history is lost; they are answered as stale instead of trusted again.
  int64_t evicted_floor_ms_ = 0;
};

// ---- Client side ---------------------------------------------------------------------------

struct DigestChallenge {
  std::string realm;
  std::string nonce;
  std::optional<std::string> opaque;
  DigestAlgorithm algorithm = DigestAlgorithm::kMd5;  // absent algorithm means MD5
  bool qop_auth = false;                              // "auth" among the offered qop values
  bool qop_offered = false;                           // a qop parameter was present at all
  bool stale = false;
};
// Errors: digest_malformed, digest_not_digest (another scheme), digest_unsupported_algorithm,
// digest_unsupported_qop (qop offered but not "auth", e.g. auth-int only).
Result<DigestChallenge> parse_challenge(std::string_view header_value);
// The strongest challenge we support among several (SHA-256 over MD5); error of the last
// candidate if none is usable, digest_missing if `values` is empty.
Result<DigestChallenge> select_challenge(const std::vector<std::string_view>& values);

struct DigestAnswer {
  std::string username;
  std::string password;
  std::string method;  // the request being authorised, e.g. "INVITE"
  std::string uri;     // its request-URI
  std::string cnonce;  // empty: a random one
  uint32_t nc = 1;
};
// The Authorization / Proxy-Authorization value answering `challenge`.
std::string build_authorization(const DigestChallenge& challenge, const DigestAnswer& answer);

// Remembers the last challenge from a trunk and answers subsequent requests with an increasing nc.
class DigestClient {
 public:
  DigestClient(std::string username, std::string password)
      : username_(std::move(username)), password_(std::move(password)) {}
  // Takes the challenge from a 401 or 407. Error digest_rejected when the server challenges the
  // same nonce again without stale=true (our credentials are wrong: do not loop).
  Status on_challenge(const sip::Message& response);
  // The header to add to the next request, if a challenge was taken.
  std::optional<sip::Header> authorization(std::string_view method, std::string_view uri);

 private:
  std::string username_;
  std::string password_;
  std::optional<DigestChallenge> challenge_;
  ChallengeKind kind_ = ChallengeKind::kWww;
  uint32_t nc_ = 0;
  bool answered_ = false;
};

}  // namespace vontres::telephony::registrar
