#include "users/jwt.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <nlohmann/json.hpp>

#include "users/crypto.h"

namespace vontres::users {

namespace {

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;
struct MallocDeleter {
  // libjwt allocates with malloc.
  void operator()(char* p) const {
    std::free(p);  // NOLINT(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
  }
};
using MallocString = std::unique_ptr<char, MallocDeleter>;
struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

constexpr size_t kGeneratedSecretBytes = 32;
constexpr size_t kMinSecretBytes = 32;

Status malformed(std::string message) { return unauthenticated(std::move(message), "token_malformed"); }
Status invalid(std::string message) { return unauthenticated(std::move(message), "token_invalid"); }

PkeyPtr parse_pem(const std::string& pem, bool is_private) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  EVP_PKEY* key = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                             : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  return PkeyPtr(key);
}

int expected_key_type(const std::string& algorithm) {
  if (algorithm == "RS256") return EVP_PKEY_RSA;
  if (algorithm == "ES256") return EVP_PKEY_EC;
  return EVP_PKEY_ED25519;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return failed_precondition("cannot read key file " + path, "jwt_key_unreadable");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Creates the HS256 secret once. O_EXCL makes concurrent first starts agree on one file.
Result<std::string> load_or_create_secret(const std::string& path) {
  if (std::filesystem::exists(path)) return read_file(path);
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  VONTRES_ASSIGN_OR_RETURN(std::string secret, random_bytes(kGeneratedSecretBytes));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return read_file(path);
    return failed_precondition("cannot create JWT secret file " + path, "jwt_key_unreadable");
  }
  ssize_t written = ::write(fd, secret.data(), secret.size());
  ::fsync(fd);
  ::close(fd);
  if (written != static_cast<ssize_t>(secret.size())) {
    return failed_precondition("cannot write JWT secret file " + path, "jwt_key_unreadable");
  }
  return secret;
}

bool read_int(const nlohmann::json& object, const char* name, int64_t& out) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_number_integer()) return false;
  out = it->get<int64_t>();
  return true;
}

bool read_string(const nlohmann::json& object, const char* name, std::string& out) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  return !out.empty();
}

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

}  // namespace

struct JwtCodec::Keys {
  std::string hmac_secret;
  std::string private_pem;
  std::string public_pem;
  PkeyPtr private_key;  // parsed copies: validated at start-up, used directly for EdDSA
  PkeyPtr public_key;
};

JwtCodec::JwtCodec(ConstructionKey, const AuthConfig& config, const Clock& clock, std::string algorithm,
                   std::unique_ptr<Keys> keys)
    : clock_(clock),
      issuer_(config.issuer),
      audience_(config.audience),
      ttl_seconds_(std::chrono::duration_cast<std::chrono::seconds>(config.access_token_ttl).count()),
      leeway_seconds_(std::chrono::duration_cast<std::chrono::seconds>(config.clock_skew_leeway).count()),
      algorithm_(std::move(algorithm)),
      keys_(std::move(keys)) {}

JwtCodec::~JwtCodec() = default;

Result<std::unique_ptr<JwtCodec>> JwtCodec::create(const AuthConfig& config, const std::string& secret_path,
                                                   const Clock& clock) {
  JwtKeys keys;
  if (config.jwt_algorithm == "HS256") {
    VONTRES_ASSIGN_OR_RETURN(keys.hmac_secret, load_or_create_secret(secret_path));
  } else {
    if (config.jwt_public_key_file.empty()) {
      return failed_precondition("auth.jwt_public_key_file is required for " + config.jwt_algorithm,
                                 "jwt_config_invalid");
    }
    VONTRES_ASSIGN_OR_RETURN(keys.public_key_pem, read_file(config.jwt_public_key_file));
    if (!config.jwt_private_key_file.empty()) {
      VONTRES_ASSIGN_OR_RETURN(keys.private_key_pem, read_file(config.jwt_private_key_file));
    }
  }
  return create_from_keys(config, std::move(keys), clock);
}

Result<std::unique_ptr<JwtCodec>> JwtCodec::create_from_keys(const AuthConfig& config, JwtKeys keys,
                                                             const Clock& clock) {
  const std::string& algorithm = config.jwt_algorithm;
  auto material = std::make_unique<Keys>();
  if (algorithm == "HS256") {
    if (keys.hmac_secret.size() < kMinSecretBytes) {
      return failed_precondition("the HS256 secret must be at least 32 bytes", "jwt_config_invalid");
    }
    material->hmac_secret = std::move(keys.hmac_secret);
  } else if (algorithm == "RS256" || algorithm == "ES256" || algorithm == "EdDSA") {
    material->public_key = parse_pem(keys.public_key_pem, false);
    if (!material->public_key || EVP_PKEY_get_base_id(material->public_key.get()) != expected_key_type(algorithm)) {
      return failed_precondition("the public key is not a PEM key for " + algorithm, "jwt_config_invalid");
    }
    if (!keys.private_key_pem.empty()) {
      material->private_key = parse_pem(keys.private_key_pem, true);
      if (!material->private_key || EVP_PKEY_get_base_id(material->private_key.get()) != expected_key_type(algorithm)) {
        return failed_precondition("the private key is not a PEM key for " + algorithm, "jwt_config_invalid");
      }
    }
    material->public_pem = std::move(keys.public_key_pem);
    material->private_pem = std::move(keys.private_key_pem);
  } else {
    return failed_precondition("auth.jwt_algorithm must be HS256, RS256, ES256 or EdDSA", "jwt_config_invalid");
  }
  return std::make_unique<JwtCodec>(ConstructionKey{}, config, clock, algorithm, std::move(material));
}

Result<std::string> JwtCodec::issue(AccessClaims& claims) const {
  claims.issued_at_ms = clock_.now_unix_ms();
  claims.issued_at = claims.issued_at_ms / 1000;
  claims.not_before = claims.issued_at;
  claims.expires_at = claims.issued_at + ttl_seconds_;
  nlohmann::json payload = {{"iss", issuer_},          {"aud", audience_},         {"sub", claims.subject},
                            {"org", claims.org_id},    {"roles", claims.roles},    {"jti", claims.jti},
                            {"iat", claims.issued_at}, {"nbf", claims.not_before}, {"exp", claims.expires_at}};
  payload["iat_ms"] = claims.issued_at_ms;
  if (!claims.family_id.empty()) payload["sid"] = claims.family_id;
  std::string payload_text = payload.dump();

  if (algorithm_ == "EdDSA") {
    if (!keys_->private_key) return failed_precondition("no private key configured", "jwt_no_signing_key");
    std::string signing_input =
        base64url_encode(R"({"alg":"EdDSA","typ":"JWT"})") + "." + base64url_encode(payload_text);
    MdCtxPtr ctx(EVP_MD_CTX_new());
    size_t length = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, keys_->private_key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) != 1) {
      return internal_error("EdDSA signing failed", "jwt_sign_failed");
    }
    std::string signature(length, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1) {
      return internal_error("EdDSA signing failed", "jwt_sign_failed");
    }
    signature.resize(length);
    return signing_input + "." + base64url_encode(signature);
  }

  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return internal_error("jwt_new failed", "jwt_sign_failed");
  JwtPtr jwt(raw);
  if (jwt_add_grants_json(jwt.get(), payload_text.c_str()) != 0) {
    return internal_error("cannot set JWT claims", "jwt_sign_failed");
  }
  int rc = 0;
  if (algorithm_ == "HS256") {
    rc = jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(keys_->hmac_secret.data()),
                     static_cast<int>(keys_->hmac_secret.size()));
  } else {
    if (keys_->private_pem.empty()) return failed_precondition("no private key configured", "jwt_no_signing_key");
    rc = jwt_set_alg(jwt.get(), algorithm_ == "RS256" ? JWT_ALG_RS256 : JWT_ALG_ES256,
                     reinterpret_cast<const unsigned char*>(keys_->private_pem.data()),
                     static_cast<int>(keys_->private_pem.size()));
  }
  if (rc != 0) return internal_error("cannot set the JWT algorithm", "jwt_sign_failed");
  MallocString encoded(jwt_encode_str(jwt.get()));
  if (!encoded) return internal_error("JWT encoding failed", "jwt_sign_failed");
  return std::string(encoded.get());
}

Status JwtCodec::verify_signature(std::string_view token, size_t second_dot) const {
  std::string_view signing_input = token.substr(0, second_dot);
  auto signature = base64url_decode(token.substr(second_dot + 1));
  if (!signature || signature->empty()) return malformed("the signature is not base64url");

  if (algorithm_ == "HS256") {
    // Checked here in constant time rather than trusting how the library compares MACs.
    if (!constant_time_equals(hmac_sha256(keys_->hmac_secret, signing_input), *signature)) {
      return invalid("bad signature");
    }
  } else if (algorithm_ == "EdDSA") {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, keys_->public_key.get()) != 1 ||
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                         reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1) {
      return invalid("bad signature");
    }
    return Status::ok();
  }
  if (algorithm_ == "HS256" || algorithm_ == "RS256" || algorithm_ == "ES256") {
    // libjwt verifies with the algorithm named in the header, which verify() has already pinned;
    // checking jwt_get_alg afterwards keeps that guarantee even if the two parsers disagreed.
    const std::string& key = algorithm_ == "HS256" ? keys_->hmac_secret : keys_->public_pem;
    const jwt_alg_t expected =
        algorithm_ == "HS256" ? JWT_ALG_HS256 : (algorithm_ == "RS256" ? JWT_ALG_RS256 : JWT_ALG_ES256);
    std::string copy(token);
    jwt_t* raw = nullptr;
    int rc = jwt_decode(&raw, copy.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                        static_cast<int>(key.size()));
    JwtPtr jwt(raw);
    if (rc != 0 || !jwt || jwt_get_alg(jwt.get()) != expected) return invalid("bad signature");
  }
  return Status::ok();
}

Result<AccessClaims> JwtCodec::verify(std::string_view token) const {
  if (token.empty() || token.size() > kMaxTokenBytes) return malformed("the token is empty or too long");
  for (char c : token) {
    if (!is_token_char(c)) return malformed("the token has characters outside base64url");
  }
  size_t first_dot = token.find('.');
  size_t second_dot = first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (first_dot == std::string_view::npos || second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos || first_dot == 0 || second_dot == first_dot + 1 ||
      second_dot + 1 == token.size()) {
    return malformed("a JWT has three non-empty parts");
  }

  auto header_text = base64url_decode(token.substr(0, first_dot));
  if (!header_text) return malformed("the header is not base64url");
  auto header = nlohmann::json::parse(*header_text, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) return malformed("the header is not a JSON object");
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get<std::string>() != algorithm_) {
    return invalid("unexpected algorithm");
  }
  auto typ = header.find("typ");
  if (typ != header.end() && (!typ->is_string() || typ->get<std::string>() != "JWT")) {
    return invalid("unexpected token type");
  }
  // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid.
  if (header.contains("crit")) return invalid("critical header extensions are not supported");

  VONTRES_RETURN_IF_ERROR(verify_signature(token, second_dot));

  auto payload_text = base64url_decode(token.substr(first_dot + 1, second_dot - first_dot - 1));
  if (!payload_text) return malformed("the payload is not base64url");
  auto payload = nlohmann::json::parse(*payload_text, nullptr, /*allow_exceptions=*/false);
  if (!payload.is_object()) return malformed("the payload is not a JSON object");

  std::string issuer;
  if (!read_string(payload, "iss", issuer) || issuer != issuer_) return invalid("unexpected issuer");
  auto aud = payload.find("aud");
  bool audience_ok = false;
  if (aud != payload.end()) {
    if (aud->is_string()) {
      audience_ok = aud->get<std::string>() == audience_;
    } else if (aud->is_array()) {
      for (const auto& entry : *aud)
        audience_ok = audience_ok || (entry.is_string() && entry.get<std::string>() == audience_);
    }
  }
  if (!audience_ok) return invalid("unexpected audience");

  AccessClaims claims;
  if (!read_int(payload, "exp", claims.expires_at) || !read_int(payload, "iat", claims.issued_at)) {
    return invalid("exp and iat are required");
  }
  if (payload.contains("nbf") && !read_int(payload, "nbf", claims.not_before)) return invalid("bad nbf");
  claims.issued_at_ms = claims.issued_at * 1000;
  if (payload.contains("iat_ms")) {
    // Must agree with iat: a signed token cannot be forged, but a mismatch is a bug somewhere.
    if (!read_int(payload, "iat_ms", claims.issued_at_ms) || claims.issued_at_ms / 1000 != claims.issued_at) {
      return invalid("bad iat_ms");
    }
  }
  const int64_t now = clock_.now_unix_seconds();
  if (now >= claims.expires_at + leeway_seconds_) return unauthenticated("the token has expired", "token_expired");
  if (now + leeway_seconds_ < claims.not_before || now + leeway_seconds_ < claims.issued_at) {
    return unauthenticated("the token is not valid yet", "token_not_yet_valid");
  }
  if (!read_string(payload, "sub", claims.subject) || !read_string(payload, "org", claims.org_id) ||
      !read_string(payload, "jti", claims.jti)) {
    return invalid("sub, org and jti are required");
  }
  if (payload.contains("sid") && !read_string(payload, "sid", claims.family_id)) return invalid("bad sid");
  auto roles = payload.find("roles");
  if (roles == payload.end() || !roles->is_array()) return invalid("roles are required");
  for (const auto& role : *roles) {
    if (!role.is_string()) return invalid("roles must be strings");
    claims.roles.push_back(role.get<std::string>());
  }
  return claims;
}

}  // namespace vontres::users
