// JwtCodec: issuing, verification against a ManualClock, and every attack vector refused.
#include "users/jwt.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "users/crypto.h"
#include "users_fixture.h"

namespace vontres::users {
namespace {

using testing::make_temp_dir;

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Generates a key pair with the openssl CLI (as an operator would).
JwtKeys generate_keys(const std::string& algorithm) {
  auto dir = make_temp_dir("vontres-keys");
  std::string gen = algorithm == "RS256"   ? "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"
                    : algorithm == "ES256" ? "-algorithm EC -pkeyopt ec_paramgen_curve:P-256"
                                           : "-algorithm ED25519";
  std::string priv = (dir / "private.pem").string();
  std::string pub = (dir / "public.pem").string();
  std::string command = "openssl genpkey " + gen + " -out " + priv + " 2>/dev/null && openssl pkey -in " + priv +
                        " -pubout -out " + pub + " 2>/dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0);
  JwtKeys keys;
  keys.private_key_pem = read_all(priv);
  keys.public_key_pem = read_all(pub);
  std::filesystem::remove_all(dir);
  return keys;
}

AuthConfig config_for(const std::string& algorithm) {
  AuthConfig config;
  config.jwt_algorithm = algorithm;
  return config;
}

AccessClaims sample_claims() {
  AccessClaims claims;
  claims.subject = "user-1";
  claims.org_id = "org-1";
  claims.roles = {"agent"};
  claims.jti = "jti-1";
  claims.family_id = "family-1";
  return claims;
}

const std::string kSecret(32, 's');

std::unique_ptr<JwtCodec> hs256(const Clock& clock, AuthConfig config = config_for("HS256")) {
  JwtKeys keys;
  keys.hmac_secret = kSecret;
  auto codec = JwtCodec::create_from_keys(config, keys, clock);
  EXPECT_TRUE(codec.is_ok()) << codec.status().to_string();
  return std::move(codec).value();
}

std::string hs256_token(const nlohmann::json& header, const nlohmann::json& payload, const std::string& key = kSecret) {
  std::string input = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
  return input + "." + base64url_encode(hmac_sha256(key, input));
}

nlohmann::json valid_payload(const Clock& clock) {
  int64_t now = clock.now_unix_seconds();
  return {{"iss", "vontres"}, {"aud", "vontres-api"}, {"sub", "u"}, {"org", "o"},      {"roles", {"admin"}},
          {"jti", "j"},       {"iat", now},           {"nbf", now}, {"exp", now + 900}};
}

TEST(JwtCodec, IssuedTokenVerifiesWithAllClaims) {
  ManualClock clock;
  auto codec = hs256(clock);
  AccessClaims claims = sample_claims();
  auto token = codec->issue(claims);
  ASSERT_TRUE(token.is_ok());
  auto verified = codec->verify(*token);
  ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
  EXPECT_EQ(verified->subject, "user-1");
  EXPECT_EQ(verified->org_id, "org-1");
  EXPECT_EQ(verified->roles, std::vector<std::string>{"agent"});
  EXPECT_EQ(verified->jti, "jti-1");
  EXPECT_EQ(verified->family_id, "family-1");
  EXPECT_EQ(verified->expires_at - verified->issued_at, 15 * 60);
}

TEST(JwtCodec, TokenExpiresOnTheInjectedClockAfterTtlPlusLeeway) {
  ManualClock clock;
  auto codec = hs256(clock);
  AccessClaims claims = sample_claims();
  auto token = codec->issue(claims);
  clock.advance(std::chrono::minutes(15) + std::chrono::seconds(29));
  EXPECT_TRUE(codec->verify(*token).is_ok());
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(codec->verify(*token).status().code(), "token_expired");
}

TEST(JwtCodec, TokenFromTheFutureIsNotYetValid) {
  ManualClock clock;
  auto codec = hs256(clock);
  auto payload = valid_payload(clock);
  payload["nbf"] = clock.now_unix_seconds() + 120;
  EXPECT_EQ(codec->verify(hs256_token({{"alg", "HS256"}, {"typ", "JWT"}}, payload)).status().code(),
            "token_not_yet_valid");
  payload = valid_payload(clock);
  payload["iat"] = clock.now_unix_seconds() + 120;
  EXPECT_EQ(codec->verify(hs256_token({{"alg", "HS256"}}, payload)).status().code(), "token_not_yet_valid");
}

TEST(JwtCodec, HandCraftedValidTokenIsAccepted) {
  ManualClock clock;
  auto codec = hs256(clock);
  EXPECT_TRUE(codec->verify(hs256_token({{"alg", "HS256"}, {"typ", "JWT"}}, valid_payload(clock))).is_ok());
}

TEST(JwtCodec, WrongIssuerOrAudienceIsRefused) {
  ManualClock clock;
  auto codec = hs256(clock);
  for (auto [claim, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"iss", "evil"}, {"aud", "other-api"}, {"aud", nlohmann::json::array({"other"})}, {"iss", 5}}) {
    auto payload = valid_payload(clock);
    payload[claim] = value;
    auto result = codec->verify(hs256_token({{"alg", "HS256"}}, payload));
    EXPECT_EQ(result.status().code(), "token_invalid") << claim;
    EXPECT_EQ(result.status().kind(), ErrorKind::kUnauthenticated);
  }
  auto payload = valid_payload(clock);
  payload["aud"] = {"other", "vontres-api"};
  EXPECT_TRUE(codec->verify(hs256_token({{"alg", "HS256"}}, payload)).is_ok());
}

TEST(JwtCodec, MissingRequiredClaimsAreRefused) {
  ManualClock clock;
  auto codec = hs256(clock);
  for (const char* claim : {"exp", "iat", "sub", "org", "jti", "roles", "iss", "aud"}) {
    auto payload = valid_payload(clock);
    payload.erase(claim);
    EXPECT_FALSE(codec->verify(hs256_token({{"alg", "HS256"}}, payload)).is_ok()) << claim;
  }
}

TEST(JwtCodec, AlgNoneIsRefused) {
  ManualClock clock;
  auto codec = hs256(clock);
  std::string unsigned_token =
      base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(valid_payload(clock).dump());
  EXPECT_EQ(codec->verify(unsigned_token + ".").status().kind(), ErrorKind::kUnauthenticated);
  EXPECT_EQ(codec->verify(unsigned_token + ".AAAA").status().code(), "token_invalid");
  EXPECT_EQ(codec->verify(hs256_token({{"alg", "none"}}, valid_payload(clock))).status().code(), "token_invalid");
  EXPECT_EQ(codec->verify(hs256_token({{"alg", "NONE"}}, valid_payload(clock))).status().code(), "token_invalid");
  EXPECT_EQ(codec->verify(hs256_token({{"alg", "HS512"}}, valid_payload(clock))).status().code(), "token_invalid");
}

TEST(JwtCodec, TamperedPayloadOrSignatureIsRefused) {
  ManualClock clock;
  auto codec = hs256(clock);
  AccessClaims claims = sample_claims();
  std::string token = *codec->issue(claims);
  size_t first = token.find('.');
  size_t second = token.find('.', first + 1);
  auto payload = nlohmann::json::parse(*base64url_decode(token.substr(first + 1, second - first - 1)));
  payload["roles"] = {"admin"};
  std::string tampered = token.substr(0, first + 1) + base64url_encode(payload.dump()) + token.substr(second);
  EXPECT_EQ(codec->verify(tampered).status().code(), "token_invalid");
  std::string flipped = token;
  flipped[second + 3] = flipped[second + 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(codec->verify(flipped).status().kind(), ErrorKind::kUnauthenticated);
  EXPECT_FALSE(codec->verify(hs256_token({{"alg", "HS256"}}, valid_payload(clock), std::string(32, 'x'))).is_ok());
}

TEST(JwtCodec, MalformedTokensAreRefusedAsUnauthenticated) {
  ManualClock clock;
  auto codec = hs256(clock);
  std::string good = hs256_token({{"alg", "HS256"}}, valid_payload(clock));
  std::vector<std::string> bad = {
      "",
      "abc",
      "a.b",
      "a.b.c.d",
      ".b.c",
      "a..c",
      "a.b.",
      "!!!.b.c",
      "a b.c.d",
      good + "=",
      good.substr(0, good.size() - 1),
      base64url_encode("not json") + "." + base64url_encode("{}") + ".AAAA",
      base64url_encode("[1]") + "." + base64url_encode("{}") + ".AAAA",
      base64url_encode(R"({"alg":"HS256"})") + ".@@@." + "AAAA",
      std::string(JwtCodec::kMaxTokenBytes + 1, 'a'),
      base64url_encode(R"({"alg":"HS256","x":")" + std::string(9000, 'x') + "\"}") + ".e30.AAAA"};
  for (const auto& token : bad) {
    auto result = codec->verify(token);
    ASSERT_FALSE(result.is_ok()) << token.substr(0, 80);
    EXPECT_EQ(result.status().kind(), ErrorKind::kUnauthenticated) << token.substr(0, 80);
  }
  // A payload that is valid JSON but not an object, correctly signed.
  std::string input = base64url_encode(R"({"alg":"HS256"})") + "." + base64url_encode("[]");
  EXPECT_EQ(codec->verify(input + "." + base64url_encode(hmac_sha256(kSecret, input))).status().code(),
            "token_malformed");
}

TEST(JwtCodec, CriticalHeaderExtensionsAreRefused) {
  ManualClock clock;
  auto codec = hs256(clock);
  EXPECT_EQ(codec->verify(hs256_token({{"alg", "HS256"}, {"crit", {"exp"}}}, valid_payload(clock))).status().code(),
            "token_invalid");
}

class AsymmetricJwt : public ::testing::TestWithParam<std::string> {};

TEST_P(AsymmetricJwt, IssuesAndVerifiesWithTheKeyPair) {
  ManualClock clock;
  auto codec = JwtCodec::create_from_keys(config_for(GetParam()), generate_keys(GetParam()), clock);
  ASSERT_TRUE(codec.is_ok()) << codec.status().to_string();
  AccessClaims claims = sample_claims();
  auto token = (*codec)->issue(claims);
  ASSERT_TRUE(token.is_ok()) << token.status().to_string();
  auto header = nlohmann::json::parse(*base64url_decode(token->substr(0, token->find('.'))));
  EXPECT_EQ(header["alg"], GetParam());
  EXPECT_TRUE((*codec)->verify(*token).is_ok());
  // Another key pair of the same type does not verify it.
  auto other = JwtCodec::create_from_keys(config_for(GetParam()), generate_keys(GetParam()), clock);
  EXPECT_EQ((*other)->verify(*token).status().code(), "token_invalid");
}

TEST_P(AsymmetricJwt, HmacTokenKeyedWithThePublicKeyIsRefused) {
  ManualClock clock;
  JwtKeys keys = generate_keys(GetParam());
  auto codec = JwtCodec::create_from_keys(config_for(GetParam()), keys, clock);
  ASSERT_TRUE(codec.is_ok());
  for (const char* alg : {"HS256", "HS384", "HS512", "none"}) {
    std::string forged = hs256_token({{"alg", alg}, {"typ", "JWT"}}, valid_payload(clock), keys.public_key_pem);
    auto result = (*codec)->verify(forged);
    EXPECT_EQ(result.status().code(), "token_invalid") << alg;
  }
}

TEST_P(AsymmetricJwt, VerifyOnlyNodeCannotIssue) {
  ManualClock clock;
  JwtKeys keys = generate_keys(GetParam());
  keys.private_key_pem.clear();
  auto codec = JwtCodec::create_from_keys(config_for(GetParam()), keys, clock);
  ASSERT_TRUE(codec.is_ok());
  AccessClaims claims = sample_claims();
  EXPECT_EQ((*codec)->issue(claims).status().code(), "jwt_no_signing_key");
}

INSTANTIATE_TEST_SUITE_P(Algorithms, AsymmetricJwt, ::testing::Values("RS256", "ES256", "EdDSA"));

TEST(JwtCodec, MismatchedKeyTypeIsAConfigurationError) {
  ManualClock clock;
  EXPECT_EQ(JwtCodec::create_from_keys(config_for("RS256"), generate_keys("ES256"), clock).status().code(),
            "jwt_config_invalid");
  EXPECT_EQ(JwtCodec::create_from_keys(config_for("HS384"), JwtKeys{kSecret, "", ""}, clock).status().code(),
            "jwt_config_invalid");
  EXPECT_EQ(JwtCodec::create_from_keys(config_for("HS256"), JwtKeys{"short", "", ""}, clock).status().code(),
            "jwt_config_invalid");
}

TEST(JwtCodec, CreatesTheHs256SecretFileOnceWithMode0600) {
  ManualClock clock;
  auto dir = make_temp_dir("vontres-secret");
  std::string path = (dir / "sub" / "jwt-secret").string();
  auto first = JwtCodec::create(config_for("HS256"), path, clock);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(std::filesystem::file_size(path), 32u);
  auto perms = std::filesystem::status(path).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  AccessClaims claims = sample_claims();
  auto token = (*first)->issue(claims);
  auto second = JwtCodec::create(config_for("HS256"), path, clock);
  EXPECT_TRUE((*second)->verify(*token).is_ok()) << "the secret must survive a restart";
  std::filesystem::remove_all(dir);
}

TEST(Base64Url, RoundTripsAndRejectsNonCanonicalInput) {
  for (const std::string& text :
       std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\xff\x00\xfe", 3)}) {
    EXPECT_EQ(base64url_decode(base64url_encode(text)), text);
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_FALSE(base64url_decode("Zm9v=").has_value());
  EXPECT_FALSE(base64url_decode("Z").has_value());
  EXPECT_FALSE(base64url_decode("Zh").has_value()) << "non-zero trailing bits";
  EXPECT_FALSE(base64url_decode("Zm+v").has_value());
}

}  // namespace
}  // namespace vontres::users
