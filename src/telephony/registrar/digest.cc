#include "telephony/registrar/digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

namespace vontres::telephony::registrar {
namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0f]);
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac.data(), &size);
  return {reinterpret_cast<const char*>(mac.data()), size};
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(data.data()),
                      static_cast<int>(data.size()));
  out.resize(written < 0 ? 0 : static_cast<size_t>(written));
  return out;
}

// Decodes unpadded-length-multiple-of-4 base64 whose decoded size is known in advance.
std::optional<std::string> base64_decode_exact(std::string_view text, size_t expected_size) {
  if (text.size() != 4 * ((expected_size + 2) / 3)) return std::nullopt;
  std::string out(3 * (text.size() / 4), '\0');
  const int written =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                      static_cast<int>(text.size()));
  if (written < 0 || static_cast<size_t>(written) < expected_size) return std::nullopt;
  out.resize(expected_size);
  return out;
}

bool is_token_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '-':
    case '.':
    case '!':
    case '%':
    case '*':
    case '_':
    case '+':
    case '`':
    case '\'':
    case '~': return true;
    default: return false;
  }
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

Status malformed(std::string message) { return invalid_argument(std::move(message), "digest_malformed"); }

std::string nc_hex(uint32_t nc) {
  std::array<char, 9> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%08x", nc);
  return buffer.data();
}

void put_be64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

uint64_t get_be64(std::string_view in) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(in[i]);
  return value;
}

constexpr size_t kNoncePrefixBytes = 16;  // timestamp + salt
constexpr size_t kNonceBytes = kNoncePrefixBytes + 32;

// The auth scheme (leading token) of a credentials header, so other schemes are skipped unparsed.
std::string_view auth_scheme(std::string_view value) {
  size_t start = 0;
  while (start < value.size() && is_space(value[start])) ++start;
  size_t end = start;
  while (end < value.size() && is_token_char(value[end])) ++end;
  return value.substr(start, end - start);
}

// Request-URI equivalence for the digest `uri` check: byte-equal, or the same SIP URI by scheme,
// user, host and port (RFC 3261 19.1.4 compares those case-insensitively where the RFC says so).
bool same_request_uri(std::string_view a, std::string_view b) {
  if (a == b) return true;
  auto ua = sip::parse_uri(a);
  auto ub = sip::parse_uri(b);
  if (!ua.is_ok() || !ub.is_ok()) return false;
  return ua->scheme == ub->scheme && ua->user == ub->user && iequals(ua->host, ub->host) && ua->port == ub->port;
}

}  // namespace

std::string_view algorithm_name(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::kSha256 ? "SHA-256" : "MD5";
}

std::optional<DigestAlgorithm> parse_algorithm(std::string_view name) {
  if (iequals(name, "MD5")) return DigestAlgorithm::kMd5;
  if (iequals(name, "SHA-256")) return DigestAlgorithm::kSha256;
  return std::nullopt;
}

std::string digest_hash_hex(DigestAlgorithm algorithm, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int size = 0;
  const EVP_MD* type = algorithm == DigestAlgorithm::kSha256 ? EVP_sha256() : EVP_md5();
  if (EVP_Digest(data.data(), data.size(), md.data(), &size, type, nullptr) != 1) return {};
  return hex(md.data(), size);
}

std::string compute_ha1(DigestAlgorithm algorithm, std::string_view username, std::string_view realm,
                        std::string_view password) {
  std::string a1;
  a1.reserve(username.size() + realm.size() + password.size() + 2);
  a1.append(username).append(":").append(realm).append(":").append(password);
  std::string ha1 = digest_hash_hex(algorithm, a1);
  std::fill(a1.begin(), a1.end(), '\0');  // the password does not linger in freed memory
  return ha1;
}

std::string compute_response(DigestAlgorithm algorithm, std::string_view ha1, std::string_view nonce,
                             std::string_view nc, std::string_view cnonce, std::string_view qop,
                             std::string_view method, std::string_view uri) {
  std::string a2;
  a2.append(method).append(":").append(uri);
  const std::string ha2 = digest_hash_hex(algorithm, a2);
  std::string kd;
  kd.append(ha1).append(":").append(nonce).append(":");
  if (!qop.empty()) kd.append(nc).append(":").append(cnonce).append(":").append(qop).append(":");
  kd.append(ha2);
  return digest_hash_hex(algorithm, kd);
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string random_bytes(size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) return {};
  return out;
}

const std::string* AuthHeader::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

Result<AuthHeader> parse_auth_header(std::string_view value) {
  AuthHeader out;
  size_t i = 0;
  const size_t n = value.size();
  auto skip_space = [&] {
    while (i < n && is_space(value[i])) ++i;
  };
  skip_space();
  const size_t scheme_start = i;
  while (i < n && is_token_char(value[i])) ++i;
  if (i == scheme_start) return malformed("missing auth scheme");
  out.scheme = std::string(value.substr(scheme_start, i - scheme_start));
  if (i < n && !is_space(value[i])) return malformed("bad character after auth scheme");
  while (true) {
    skip_space();
    while (i < n && (value[i] == ',' || is_space(value[i]))) ++i;  // empty list elements are allowed
    if (i >= n) break;
    const size_t name_start = i;
    while (i < n && is_token_char(value[i])) ++i;
    if (i == name_start) return malformed("bad auth parameter name");
    std::string name = to_lower(value.substr(name_start, i - name_start));
    skip_space();
    if (i >= n || value[i] != '=') return malformed("auth parameter without a value");
    ++i;
    skip_space();
    std::string param_value;
    if (i < n && value[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        const char c = value[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i >= n) break;
          param_value.push_back(value[i++]);
          continue;
        }
        if (c == '\r' || c == '\n' || c == '\0') return malformed("control character in quoted string");
        param_value.push_back(c);
      }
      if (!closed) return malformed("unterminated quoted string");
    } else {
      const size_t start = i;
      while (i < n && value[i] != ',' && !is_space(value[i]) && value[i] != '"') ++i;
      if (i == start) return malformed("empty auth parameter value");
      param_value = std::string(value.substr(start, i - start));
    }
    if (out.param(name) != nullptr) return malformed("duplicate auth parameter " + name);
    out.params.emplace_back(std::move(name), std::move(param_value));
    skip_space();
    if (i < n && value[i] != ',') return malformed("expected ',' between auth parameters");
  }
  return out;
}

std::string quoted_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string_view challenge_header_name(ChallengeKind kind) {
  return kind == ChallengeKind::kProxy ? "Proxy-Authenticate" : "WWW-Authenticate";
}
std::string_view credentials_header_name(ChallengeKind kind) {
  return kind == ChallengeKind::kProxy ? "Proxy-Authorization" : "Authorization";
}

// ---- DigestServer -----------------------------------------------------------------------------

Result<std::unique_ptr<DigestServer>> DigestServer::create(DigestServerOptions options, const Clock& clock) {
  if (options.realm.empty()) return invalid_argument("digest realm is empty", "digest_bad_options");
  if (options.secret.size() < 16) return invalid_argument("digest secret under 16 bytes", "digest_bad_options");
  if (options.nonce_ttl <= Duration::zero() || options.max_tracked_nonces == 0) {
    return invalid_argument("nonce TTL and replay table size must be positive", "digest_bad_options");
  }
  return std::unique_ptr<DigestServer>(new DigestServer(std::move(options), clock));  // NOLINT: private ctor
}

DigestServer::DigestServer(DigestServerOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  const std::string mac = hmac_sha256(options_.secret, "opaque:" + options_.realm);
  opaque_ = hex(reinterpret_cast<const unsigned char*>(mac.data()), 16);
  // Distinct salts per instance, so two instances sharing a secret never mint the same nonce.
  const std::string seed = random_bytes(8);
  if (seed.size() == 8) salt_counter_.store(get_be64(seed));
}

std::string DigestServer::new_nonce() const {
  std::string raw;
  raw.reserve(kNonceBytes);
  put_be64(raw, static_cast<uint64_t>(clock_.now_unix_ms()));
  put_be64(raw, salt_counter_.fetch_add(1));
  raw += hmac_sha256(options_.secret, raw + options_.realm);
  return base64_encode(raw);
}

std::vector<std::string> DigestServer::challenge_values(bool stale) const {
  const std::string nonce = new_nonce();
  const std::string common = "Digest realm=" + quoted_string(options_.realm) + ", nonce=" + quoted_string(nonce) +
                             ", opaque=" + quoted_string(opaque()) + ", algorithm=";
  const std::string tail = std::string(", qop=\"auth\"") + (stale ? ", stale=true" : "");
  std::vector<std::string> values;
  if (options_.offer_sha256) values.push_back(common + "SHA-256" + tail);
  if (options_.offer_md5 || !options_.offer_sha256) values.push_back(common + "MD5" + tail);
  return values;
}

void DigestServer::add_challenge(sip::Message& response, ChallengeKind kind, bool stale) const {
  for (auto& value : challenge_values(stale)) response.add_header(challenge_header_name(kind), std::move(value));
}

Result<int64_t> DigestServer::check_nonce(std::string_view nonce) const {
  auto raw = base64_decode_exact(nonce, kNonceBytes);
  if (!raw) return unauthenticated("nonce is not one of ours", "digest_bad_nonce");
  const std::string_view prefix = std::string_view(*raw).substr(0, kNoncePrefixBytes);
  const std::string expected = hmac_sha256(options_.secret, std::string(prefix) + options_.realm);
  if (!constant_time_equals(std::string_view(*raw).substr(kNoncePrefixBytes), expected)) {
    return unauthenticated("nonce is not one of ours", "digest_bad_nonce");
  }
  const auto minted_ms = static_cast<int64_t>(get_be64(prefix));
  const int64_t now_ms = clock_.now_unix_ms();
  const auto ms = [](Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  if (minted_ms > now_ms + ms(options_.max_clock_skew)) {
    return unauthenticated("nonce from the future", "digest_bad_nonce");
  }
  if (now_ms - minted_ms > ms(options_.nonce_ttl)) return unauthenticated("nonce expired", "digest_stale");
  return minted_ms;
}

Status DigestServer::record_nonce_count(std::string_view nonce, std::string_view username, int64_t nonce_ms,
                                        uint32_t nc) {
  std::string key;
  key.reserve(nonce.size() + 1 + username.size());
  key.append(nonce).push_back('\0');
  key.append(username);
  const int64_t now_ms = clock_.now_unix_ms();
  const int64_t ttl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.nonce_ttl).count();
  std::lock_guard lock(mu_);
  // Entries whose nonce has expired can go: check_nonce rejects those nonces anyway.
  while (!order_.empty()) {
    auto it = tracked_.find(order_.front());
    if (it != tracked_.end() && now_ms - it->second.nonce_ms <= ttl_ms) break;
    if (it != tracked_.end()) tracked_.erase(it);
    order_.pop_front();
  }
  auto it = tracked_.find(key);
  if (it == tracked_.end()) {
    if (nonce_ms <= evicted_floor_ms_) return unauthenticated("nonce history evicted", "digest_stale");
    while (tracked_.size() >= options_.max_tracked_nonces && !order_.empty()) {
      auto victim = tracked_.find(order_.front());
      if (victim != tracked_.end()) {
        evicted_floor_ms_ = std::max(evicted_floor_ms_, victim->second.nonce_ms);
        tracked_.erase(victim);
      }
      order_.pop_front();
    }
    if (nonce_ms <= evicted_floor_ms_) return unauthenticated("nonce history evicted", "digest_stale");
    tracked_.emplace(key, Tracked{nc, nonce_ms});
    order_.push_back(std::move(key));
    return Status::ok();
  }
  if (nc <= it->second.last_nc) return unauthenticated("nonce count not increasing", "digest_replay");
  it->second.last_nc = nc;
  return Status::ok();
}

size_t DigestServer::tracked_nonces() const {
  std::lock_guard lock(mu_);
  return tracked_.size();
}

Result<DigestIdentity> DigestServer::verify(const sip::Message& request, ChallengeKind kind, const Ha1Lookup& lookup) {
  const auto values = request.headers_named(credentials_header_name(kind));
  if (values.empty()) return unauthenticated("no credentials", "digest_missing");
  // RFC 3261 22.4: use the credentials for our realm; others are for other hops.
  for (const auto value : values) {
    if (!iequals(auth_scheme(value), "Digest")) continue;
    auto parsed = parse_auth_header(value);
    if (!parsed.is_ok()) return parsed.status();
    const std::string* realm = parsed->param("realm");
    if (realm != nullptr && *realm == options_.realm) {
      return verify_credentials(value, request.method(), request.request_uri(), lookup);
    }
  }
  return unauthenticated("no credentials for realm " + options_.realm, "digest_missing");
}

Result<DigestIdentity> DigestServer::verify_credentials(std::string_view header_value, std::string_view method,
                                                        std::string_view request_uri, const Ha1Lookup& lookup) {
  if (!iequals(auth_scheme(header_value), "Digest")) {
    return unauthenticated("not Digest credentials", "digest_missing");
  }
  VONTRES_ASSIGN_OR_RETURN(AuthHeader header, parse_auth_header(header_value));
  const std::string* username = header.param("username");
  const std::string* realm = header.param("realm");
  const std::string* nonce = header.param("nonce");
  const std::string* uri = header.param("uri");
  const std::string* response = header.param("response");
  if (username == nullptr || realm == nullptr || nonce == nullptr || uri == nullptr || response == nullptr) {
    return malformed("username, realm, nonce, uri and response are required");
  }
  if (username->empty()) return malformed("empty username");
  if (*realm != options_.realm) return unauthenticated("credentials for another realm", "digest_missing");

  DigestAlgorithm algorithm = DigestAlgorithm::kMd5;
  if (const std::string* name = header.param("algorithm")) {
    auto parsed = parse_algorithm(*name);
    if (!parsed) return unauthenticated("unsupported algorithm", "digest_unsupported_algorithm");
    algorithm = *parsed;
  }
  if (algorithm == DigestAlgorithm::kMd5 && !options_.offer_md5) {
    return unauthenticated("MD5 is not accepted", "digest_unsupported_algorithm");
  }

  // We always offer qop="auth"; without qop there is no nc and so no replay defence.
  const std::string* qop = header.param("qop");
  if (qop == nullptr || !iequals(*qop, "auth")) return unauthenticated("qop must be auth", "digest_unsupported_qop");
  const std::string* nc_text = header.param("nc");
  const std::string* cnonce = header.param("cnonce");
  if (nc_text == nullptr || cnonce == nullptr || cnonce->empty()) return malformed("qop=auth needs nc and cnonce");
  if (nc_text->size() != 8 || !std::all_of(nc_text->begin(), nc_text->end(),
                                           [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
    return malformed("nc must be 8 hex digits");
  }
  const auto nc = static_cast<uint32_t>(std::stoul(*nc_text, nullptr, 16));
  if (nc == 0) return malformed("nc must be positive");

  if (const std::string* client_opaque = header.param("opaque")) {
    if (!constant_time_equals(*client_opaque, opaque())) {
      return unauthenticated("opaque does not match", "digest_opaque_mismatch");
    }
  }
  if (!same_request_uri(*uri, request_uri)) {
    return invalid_argument("digest uri does not match the request-URI", "digest_uri_mismatch");
  }
  VONTRES_ASSIGN_OR_RETURN(const int64_t nonce_ms, check_nonce(*nonce));
  VONTRES_ASSIGN_OR_RETURN(const Ha1Set ha1s, lookup(*username));
  const std::string& ha1 = algorithm == DigestAlgorithm::kSha256 ? ha1s.sha256 : ha1s.md5;
  if (ha1.empty()) return unauthenticated("no credentials for this algorithm", "digest_unsupported_algorithm");
  const std::string expected = compute_response(algorithm, ha1, *nonce, *nc_text, *cnonce, "auth", method, *uri);
  if (!constant_time_equals(to_lower(*response), expected)) {
    return unauthenticated("wrong digest response", "digest_bad_response");
  }
  // Only a correct response may advance the counter, so forged requests cannot burn nc values.
  VONTRES_RETURN_IF_ERROR(record_nonce_count(*nonce, *username, nonce_ms, nc));
  return DigestIdentity{*username, algorithm};
}

// ---- Client side ------------------------------------------------------------------------------

Result<DigestChallenge> parse_challenge(std::string_view header_value) {
  VONTRES_ASSIGN_OR_RETURN(AuthHeader header, parse_auth_header(header_value));
  if (!iequals(header.scheme, "Digest")) return invalid_argument("not a Digest challenge", "digest_not_digest");
  DigestChallenge challenge;
  const std::string* realm = header.param("realm");
  const std::string* nonce = header.param("nonce");
  if (realm == nullptr || nonce == nullptr) return malformed("challenge needs realm and nonce");
  challenge.realm = *realm;
  challenge.nonce = *nonce;
  if (const std::string* opaque = header.param("opaque")) challenge.opaque = *opaque;
  if (const std::string* name = header.param("algorithm")) {
    auto algorithm = parse_algorithm(*name);
    if (!algorithm) return invalid_argument("unsupported algorithm " + *name, "digest_unsupported_algorithm");
    challenge.algorithm = *algorithm;
  }
  if (const std::string* qop = header.param("qop")) {
    challenge.qop_offered = true;
    std::string_view rest = *qop;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (!item.empty() && is_space(item.front())) item.remove_prefix(1);
      while (!item.empty() && is_space(item.back())) item.remove_suffix(1);
      if (iequals(item, "auth")) challenge.qop_auth = true;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    if (!challenge.qop_auth) return invalid_argument("only qop=auth is supported", "digest_unsupported_qop");
  }
  if (const std::string* stale = header.param("stale")) challenge.stale = iequals(*stale, "true");
  return challenge;
}

Result<DigestChallenge> select_challenge(const std::vector<std::string_view>& values) {
  if (values.empty()) return unauthenticated("no challenge", "digest_missing");
  std::optional<DigestChallenge> best;
  Status last_error;
  for (const auto value : values) {
    auto challenge = parse_challenge(value);
    if (!challenge.is_ok()) {
      last_error = challenge.status();
      continue;
    }
    if (!best || (best->algorithm == DigestAlgorithm::kMd5 && challenge->algorithm == DigestAlgorithm::kSha256)) {
      best = std::move(challenge).value();
    }
  }
  if (!best) return last_error;
  return *best;
}

std::string build_authorization(const DigestChallenge& challenge, const DigestAnswer& answer) {
  const std::string ha1 = compute_ha1(challenge.algorithm, answer.username, challenge.realm, answer.password);
  std::string out = "Digest username=" + quoted_string(answer.username) + ", realm=" + quoted_string(challenge.realm) +
                    ", nonce=" + quoted_string(challenge.nonce) + ", uri=" + quoted_string(answer.uri);
  if (challenge.qop_offered) {
    std::string cnonce = answer.cnonce;
    if (cnonce.empty()) {
      const std::string bytes = random_bytes(16);
      cnonce = hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    }
    const std::string nc = nc_hex(answer.nc);
    const std::string response =
        compute_response(challenge.algorithm, ha1, challenge.nonce, nc, cnonce, "auth", answer.method, answer.uri);
    out += ", response=" + quoted_string(response) + ", algorithm=" + std::string(algorithm_name(challenge.algorithm)) +
           ", cnonce=" + quoted_string(cnonce) + ", qop=auth, nc=" + nc;
  } else {
    const std::string response =
        compute_response(challenge.algorithm, ha1, challenge.nonce, "", "", "", answer.method, answer.uri);
    out += ", response=" + quoted_string(response) + ", algorithm=" + std::string(algorithm_name(challenge.algorithm));
  }
  if (challenge.opaque) out += ", opaque=" + quoted_string(*challenge.opaque);
  return out;
}

Status DigestClient::on_challenge(const sip::Message& response) {
  if (response.status() != 401 && response.status() != 407) {
    return invalid_argument("not a 401/407 response", "digest_not_challenge");
  }
  const ChallengeKind kind = response.status() == 407 ? ChallengeKind::kProxy : ChallengeKind::kWww;
  VONTRES_ASSIGN_OR_RETURN(DigestChallenge challenge,
                           select_challenge(response.headers_named(challenge_header_name(kind))));
  if (answered_ && challenge_ && challenge_->nonce == challenge.nonce && !challenge.stale) {
    return unauthenticated("the server rejected our credentials", "digest_rejected");
  }
  challenge_ = std::move(challenge);
  kind_ = kind;
  nc_ = 0;
  answered_ = false;
  return Status::ok();
}

std::optional<sip::Header> DigestClient::authorization(std::string_view method, std::string_view uri) {
  if (!challenge_) return std::nullopt;
  DigestAnswer answer{username_, password_, std::string(method), std::string(uri), {}, ++nc_};
  answered_ = true;
  return sip::Header{std::string(credentials_header_name(kind_)), build_authorization(*challenge_, answer)};
}

}  // namespace vontres::telephony::registrar
