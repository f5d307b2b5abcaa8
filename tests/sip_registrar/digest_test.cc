// Digest authentication: RFC 7616 3.9.1 known answers, the auth-header parser, the stateless
// nonces (expiry, forgery), replay defence with its bounded table, and client -> server round trips.
#include "telephony/registrar/digest.h"

#include <gtest/gtest.h>

#include <random>

namespace vontres::telephony::registrar {
namespace {

using namespace std::chrono_literals;

constexpr char kRfcRealm[] = "http-auth@example.org";
constexpr char kRfcNonce[] = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
constexpr char kRfcCnonce[] = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
constexpr char kRfcOpaque[] = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";

TEST(DigestVectors, Rfc7616ExampleReproducesMd5AndSha256Responses) {
  const std::string md5_ha1 = compute_ha1(DigestAlgorithm::kMd5, "Mufasa", kRfcRealm, "Circle of Life");
  EXPECT_EQ(compute_response(DigestAlgorithm::kMd5, md5_ha1, kRfcNonce, "00000001", kRfcCnonce, "auth", "GET",
                             "/dir/index.html"),
            "8ca523f5e9506fed4657c9700eebdbec");
  const std::string sha_ha1 = compute_ha1(DigestAlgorithm::kSha256, "Mufasa", kRfcRealm, "Circle of Life");
  EXPECT_EQ(compute_response(DigestAlgorithm::kSha256, sha_ha1, kRfcNonce, "00000001", kRfcCnonce, "auth", "GET",
                             "/dir/index.html"),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

TEST(DigestVectors, ClientAnswersTheRfc7616ChallengeExactly) {
  for (const auto& [algorithm, expected] :
       {std::pair<std::string, std::string>{"MD5", "8ca523f5e9506fed4657c9700eebdbec"},
        {"SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"}}) {
    const std::string header = std::string("Digest\n realm=\"") + kRfcRealm +
                               "\",\n qop=\"auth, auth-int\",\n algorithm=" + algorithm + ",\n nonce=\"" + kRfcNonce +
                               "\",\n opaque=\"" + kRfcOpaque + "\"";
    auto challenge = parse_challenge(header);
    ASSERT_TRUE(challenge.is_ok()) << challenge.status().to_string();
    EXPECT_TRUE(challenge->qop_auth);
    const std::string value =
        build_authorization(*challenge, {"Mufasa", "Circle of Life", "GET", "/dir/index.html", kRfcCnonce, 1});
    auto parsed = parse_auth_header(value);
    ASSERT_TRUE(parsed.is_ok()) << value;
    EXPECT_EQ(*parsed->param("response"), expected) << algorithm;
    EXPECT_EQ(*parsed->param("nc"), "00000001");
    EXPECT_EQ(*parsed->param("qop"), "auth");
    EXPECT_EQ(*parsed->param("opaque"), kRfcOpaque);
    EXPECT_EQ(*parsed->param("algorithm"), algorithm);
  }
}

TEST(DigestVectors, Rfc2617LegacyResponseWithoutQop) {
  // RFC 2617 3.5 computed without qop (RFC 2069 form): H(HA1:nonce:HA2).
  const std::string ha1 = compute_ha1(DigestAlgorithm::kMd5, "Mufasa", "testrealm@host.com", "Circle Of Life");
  const std::string ha2 = digest_hash_hex(DigestAlgorithm::kMd5, "GET:/dir/index.html");
  const std::string nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
  EXPECT_EQ(compute_response(DigestAlgorithm::kMd5, ha1, nonce, "", "", "", "GET", "/dir/index.html"),
            digest_hash_hex(DigestAlgorithm::kMd5, ha1 + ":" + nonce + ":" + ha2));
  // And the RFC 2617 3.5 qop=auth answer itself.
  EXPECT_EQ(
      compute_response(DigestAlgorithm::kMd5, ha1, nonce, "00000001", "0a4f113b", "auth", "GET", "/dir/index.html"),
      "6629fae49393a05397450978507c4ef1");
}

// ---- Parser -------------------------------------------------------------------------------------

TEST(AuthHeaderParser, HandlesQuotedCommasEscapesAnyOrderAndCaseInsensitiveNames) {
  auto parsed = parse_auth_header(
      R"(Digest  URI="sip:a,b@x", Username = "al\"ice\\", nc=0000000a,realm="r, with comma" ,, QOP=auth)");
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->scheme, "Digest");
  EXPECT_EQ(*parsed->param("uri"), "sip:a,b@x");
  EXPECT_EQ(*parsed->param("username"), "al\"ice\\");
  EXPECT_EQ(*parsed->param("nc"), "0000000a");
  EXPECT_EQ(*parsed->param("realm"), "r, with comma");
  EXPECT_EQ(*parsed->param("qop"), "auth");
  EXPECT_EQ(parsed->param("missing"), nullptr);
}

TEST(AuthHeaderParser, RejectsMalformedInput) {
  for (const char* bad :
       {"", "   ", "Digest realm", "Digest realm=\"open", "Digest realm=\"a\" nonce=\"b\"", "Digest realm=a, realm=b",
        "Digest =x", "Digest realm=", "Digest realm=\"a\rb\"", "Digest, realm=a"}) {
    auto parsed = parse_auth_header(bad);
    ASSERT_FALSE(parsed.is_ok()) << bad;
    EXPECT_EQ(parsed.status().code(), "digest_malformed") << bad;
  }
}

TEST(AuthHeaderParser, QuotedRoundTripsArbitraryText) {
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i) {
    std::string text;
    const int length = static_cast<int>(rng() % 20);
    for (int j = 0; j < length; ++j) text.push_back(std::string_view(" ,=\"\\azAZ09:@;")[rng() % 14]);
    auto parsed = parse_auth_header("Digest a=" + quoted_string(text) + ", b=" + quoted_string(text));
    ASSERT_TRUE(parsed.is_ok()) << text;
    EXPECT_EQ(*parsed->param("a"), text);
    EXPECT_EQ(*parsed->param("b"), text);
  }
}

// ---- Server -------------------------------------------------------------------------------------

constexpr char kRealm[] = "vontres.test";
constexpr char kPassword[] = "correct horse battery";
constexpr char kUri[] = "sip:vontres.test";

class DigestServerTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = make_server(options()); }

  DigestServerOptions options() const {
    DigestServerOptions o;
    o.realm = kRealm;
    o.secret = std::string(32, 's');
    o.nonce_ttl = 60s;
    return o;
  }
  std::unique_ptr<DigestServer> make_server(DigestServerOptions o) {
    auto created = DigestServer::create(std::move(o), clock_);
    EXPECT_TRUE(created.is_ok()) << created.status().to_string();
    return std::move(created).value();
  }

  Ha1Lookup lookup_ = [](std::string_view username) -> Result<Ha1Set> {
    if (username != "alice" && username != "bob") return unauthenticated("unknown", "digest_unknown_user");
    return Ha1Set{compute_ha1(DigestAlgorithm::kMd5, username, kRealm, kPassword),
                  compute_ha1(DigestAlgorithm::kSha256, username, kRealm, kPassword)};
  };

  DigestChallenge challenge(DigestServer& server, DigestAlgorithm algorithm) {
    for (const auto& value : server.challenge_values(false)) {
      auto c = parse_challenge(value);
      EXPECT_TRUE(c.is_ok());
      if (c->algorithm == algorithm) return *c;
    }
    ADD_FAILURE() << "no challenge for " << algorithm_name(algorithm);
    return {};
  }
  std::string answer(const DigestChallenge& c, uint32_t nc, std::string username = "alice",
                     std::string password = kPassword, std::string uri = kUri) {
    return build_authorization(c, {std::move(username), std::move(password), "REGISTER", std::move(uri), "cn0nce", nc});
  }
  Result<DigestIdentity> verify(const std::string& header, std::string_view uri = kUri) {
    return server_->verify_credentials(header, "REGISTER", uri, lookup_);
  }
  static std::string code(const Result<DigestIdentity>& r) { return std::string(r.status().code()); }

  ManualClock clock_;
  std::unique_ptr<DigestServer> server_;
};

TEST_F(DigestServerTest, RejectsBadOptions) {
  DigestServerOptions o = options();
  o.secret = "short";
  EXPECT_EQ(DigestServer::create(o, clock_).status().code(), "digest_bad_options");
  o = options();
  o.realm.clear();
  EXPECT_EQ(DigestServer::create(o, clock_).status().code(), "digest_bad_options");
}

TEST_F(DigestServerTest, ChallengesOfferSha256FirstThenMd5WithQopAuthAndOpaque) {
  const auto values = server_->challenge_values(false);
  ASSERT_EQ(values.size(), 2u);
  auto first = parse_auth_header(values[0]);
  auto second = parse_auth_header(values[1]);
  ASSERT_TRUE(first.is_ok() && second.is_ok());
  EXPECT_EQ(*first->param("algorithm"), "SHA-256");
  EXPECT_EQ(*second->param("algorithm"), "MD5");
  EXPECT_EQ(*first->param("realm"), kRealm);
  EXPECT_EQ(*first->param("qop"), "auth");
  EXPECT_FALSE(first->param("opaque")->empty());
  EXPECT_EQ(first->param("stale"), nullptr);
  EXPECT_EQ(*parse_auth_header(server_->challenge_values(true)[0])->param("stale"), "true");
  EXPECT_NE(server_->new_nonce(), server_->new_nonce());

  DigestServerOptions o = options();
  o.offer_md5 = false;
  EXPECT_EQ(make_server(o)->challenge_values(false).size(), 1u);

  // MD5-only peers (SIPp answers the first challenge whatever its algorithm).
  o = options();
  o.offer_sha256 = false;
  const auto md5_only = make_server(o)->challenge_values(false);
  ASSERT_EQ(md5_only.size(), 1u);
  EXPECT_EQ(*parse_auth_header(md5_only[0])->param("algorithm"), "MD5");
}

TEST_F(DigestServerTest, AcceptsCorrectSha256AndMd5Answers) {
  auto sha = verify(answer(challenge(*server_, DigestAlgorithm::kSha256), 1));
  ASSERT_TRUE(sha.is_ok()) << sha.status().to_string();
  EXPECT_EQ(sha->username, "alice");
  EXPECT_EQ(sha->algorithm, DigestAlgorithm::kSha256);
  auto md5 = verify(answer(challenge(*server_, DigestAlgorithm::kMd5), 1));
  ASSERT_TRUE(md5.is_ok()) << md5.status().to_string();
  EXPECT_EQ(md5->algorithm, DigestAlgorithm::kMd5);
}

TEST_F(DigestServerTest, RejectsWrongPasswordAndUnknownUser) {
  const auto c = challenge(*server_, DigestAlgorithm::kSha256);
  EXPECT_EQ(code(verify(answer(c, 1, "alice", "wrong password!!"))), "digest_bad_response");
  EXPECT_EQ(code(verify(answer(c, 1, "mallory"))), "digest_unknown_user");
}

TEST_F(DigestServerTest, UpperCaseHexResponseIsAccepted) {
  std::string header = answer(challenge(*server_, DigestAlgorithm::kSha256), 1);
  auto parsed = parse_auth_header(header);
  std::string upper = *parsed->param("response");
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  header.replace(header.find(*parsed->param("response")), upper.size(), upper);
  EXPECT_TRUE(verify(header).is_ok());
}

TEST_F(DigestServerTest, NonceCountMustIncreasePerNonceAndUser) {
  const auto c = challenge(*server_, DigestAlgorithm::kSha256);
  EXPECT_TRUE(verify(answer(c, 1)).is_ok());
  EXPECT_EQ(code(verify(answer(c, 1))), "digest_replay");
  EXPECT_TRUE(verify(answer(c, 2)).is_ok());
  EXPECT_TRUE(verify(answer(c, 7)).is_ok());
  EXPECT_EQ(code(verify(answer(c, 3))), "digest_replay");
  // Another user may use the same nonce with its own counter.
  EXPECT_TRUE(verify(answer(c, 1, "bob")).is_ok());
}

TEST_F(DigestServerTest, FailedAttemptsDoNotAdvanceTheCounter) {
  const auto c = challenge(*server_, DigestAlgorithm::kSha256);
  EXPECT_EQ(code(verify(answer(c, 9, "alice", "not the password"))), "digest_bad_response");
  EXPECT_TRUE(verify(answer(c, 1)).is_ok());
}

TEST_F(DigestServerTest, NonceGoesStaleAfterTtlAndNoncesFromTheFutureAreBad) {
  const auto c = challenge(*server_, DigestAlgorithm::kSha256);
  clock_.advance(59s);
  EXPECT_TRUE(verify(answer(c, 1)).is_ok());
  clock_.advance(2s);
  EXPECT_EQ(code(verify(answer(c, 2))), "digest_stale");
  EXPECT_EQ(verify(answer(c, 2)).status().kind(), ErrorKind::kUnauthenticated);

  const auto future = challenge(*server_, DigestAlgorithm::kSha256);
  clock_.advance(-1min);
  EXPECT_EQ(code(verify(answer(future, 1))), "digest_bad_nonce");
}

TEST_F(DigestServerTest, ForgedOrForeignNoncesAreRejected) {
  DigestChallenge c = challenge(*server_, DigestAlgorithm::kSha256);
  DigestChallenge tampered = c;
  tampered.nonce[3] = tampered.nonce[3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(code(verify(answer(tampered, 1))), "digest_bad_nonce");
  DigestChallenge truncated = c;
  truncated.nonce.pop_back();
  EXPECT_EQ(code(verify(answer(truncated, 1))), "digest_bad_nonce");
  DigestChallenge garbage = c;
  garbage.nonce = std::string(64, '*');
  EXPECT_EQ(code(verify(answer(garbage, 1))), "digest_bad_nonce");

  DigestServerOptions other = options();
  other.secret = std::string(32, 'x');
  auto other_server = make_server(other);
  DigestChallenge foreign = challenge(*other_server, DigestAlgorithm::kSha256);
  EXPECT_EQ(code(verify(answer(foreign, 1))), "digest_opaque_mismatch");  // the opaque is per secret too
  foreign.opaque.reset();
  EXPECT_EQ(code(verify(answer(foreign, 1))), "digest_bad_nonce");
}

TEST_F(DigestServerTest, UriMustMatchTheRequestUri) {
  const auto c = challenge(*server_, DigestAlgorithm::kSha256);
  auto mismatch = verify(answer(c, 1, "alice", kPassword, "sip:elsewhere.test"));
  EXPECT_EQ(code(mismatch), "digest_uri_mismatch");
  EXPECT_EQ(mismatch.status().kind(), ErrorKind::kInvalidArgument);
}

TEST_F(DigestServerTest, ChecksRealmOpaqueAlgorithmAndQop) {
  DigestChallenge c = challenge(*server_, DigestAlgorithm::kSha256);
  DigestChallenge other_realm = c;
  other_realm.realm = "elsewhere";
  EXPECT_EQ(code(verify(answer(other_realm, 1))), "digest_missing");
  DigestChallenge other_opaque = c;
  other_opaque.opaque = "0000";
  EXPECT_EQ(code(verify(answer(other_opaque, 1))), "digest_opaque_mismatch");
  DigestChallenge no_opaque = c;
  no_opaque.opaque.reset();
  EXPECT_TRUE(verify(answer(no_opaque, 1)).is_ok());
  DigestChallenge no_qop = c;
  no_qop.qop_offered = false;
  EXPECT_EQ(code(verify(answer(no_qop, 2))), "digest_unsupported_qop");

  const std::string good = answer(c, 3);
  std::string sess = good;
  sess.replace(sess.find("algorithm=SHA-256"), 17, "algorithm=SHA-256-sess");
  EXPECT_EQ(code(verify(sess)), "digest_unsupported_algorithm");
  std::string bad_nc = good;
  bad_nc.replace(bad_nc.find("nc=00000003"), 11, "nc=3");
  EXPECT_EQ(code(verify(bad_nc)), "digest_malformed");
  EXPECT_EQ(code(verify("Digest username=\"alice\"")), "digest_malformed");
  EXPECT_EQ(code(verify("Basic YWxhZGRpbjpvcGVuc2VzYW1l")), "digest_missing");

  DigestServerOptions sha_only = options();
  sha_only.offer_md5 = false;
  auto strict = make_server(sha_only);
  auto md5 =
      strict->verify_credentials(answer(challenge(*server_, DigestAlgorithm::kMd5), 1), "REGISTER", kUri, lookup_);
  EXPECT_EQ(code(md5), "digest_unsupported_algorithm");
}

TEST_F(DigestServerTest, ReplayTableIsBoundedAndEvictedNoncesAreStaleNotTrusted) {
  DigestServerOptions o = options();
  o.max_tracked_nonces = 4;
  server_ = make_server(o);
  std::vector<DigestChallenge> used;
  for (int i = 0; i < 10; ++i) {
    used.push_back(challenge(*server_, DigestAlgorithm::kSha256));
    ASSERT_TRUE(verify(answer(used.back(), 1)).is_ok()) << i;
    clock_.advance(1ms);
    EXPECT_LE(server_->tracked_nonces(), 4u);
  }
  // The first nonce's history was evicted: replaying its nc=1 must not succeed.
  EXPECT_EQ(code(verify(answer(used.front(), 1))), "digest_stale");
  EXPECT_EQ(code(verify(answer(used.front(), 2))), "digest_stale");
  // The newest is still tracked.
  EXPECT_EQ(code(verify(answer(used.back(), 1))), "digest_replay");
  EXPECT_TRUE(verify(answer(used.back(), 2)).is_ok());
  // Expired entries are dropped when the next nonce is recorded.
  clock_.advance(2min);
  ASSERT_TRUE(verify(answer(challenge(*server_, DigestAlgorithm::kSha256), 1)).is_ok());
  EXPECT_EQ(server_->tracked_nonces(), 1u);
}

TEST_F(DigestServerTest, RoundTripsUsernamesAndPasswordsWithSpecialCharacters) {
  std::mt19937 rng(42);
  const std::string alphabet = "abcXYZ019 \"\\,=:;@!%*_+~'";
  for (int i = 0; i < 200; ++i) {
    std::string username = "u";
    std::string password;
    for (int j = 0; j < 6; ++j) username.push_back(alphabet[rng() % alphabet.size()]);
    for (int j = 0; j < 14; ++j) password.push_back(alphabet[rng() % alphabet.size()]);
    Ha1Lookup lookup = [username, stored = password](std::string_view user) -> Result<Ha1Set> {
      if (user != username) return unauthenticated("unknown", "digest_unknown_user");
      return Ha1Set{compute_ha1(DigestAlgorithm::kMd5, user, kRealm, stored),
                    compute_ha1(DigestAlgorithm::kSha256, user, kRealm, stored)};
    };
    const auto algorithm = i % 2 == 0 ? DigestAlgorithm::kSha256 : DigestAlgorithm::kMd5;
    const std::string header =
        build_authorization(challenge(*server_, algorithm), {username, password, "REGISTER", kUri, "", 1});
    auto ok = server_->verify_credentials(header, "REGISTER", kUri, lookup);
    ASSERT_TRUE(ok.is_ok()) << header << " " << ok.status().to_string();
    EXPECT_EQ(ok->username, username);
    password.back() ^= 1;
    EXPECT_EQ(server_
                  ->verify_credentials(build_authorization(challenge(*server_, algorithm),
                                                           {username, password, "REGISTER", kUri, "", 1}),
                                       "REGISTER", kUri, lookup)
                  .status()
                  .code(),
              "digest_bad_response");
  }
}

TEST_F(DigestServerTest, VerifyPicksTheCredentialsForOurRealmAmongSeveralHeaders) {
  auto request = sip::Message::request("REGISTER", kUri);
  EXPECT_EQ(server_->verify(request, ChallengeKind::kWww, lookup_).status().code(), "digest_missing");
  request.add_header("Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
  request.add_header("Authorization",
                     R"(Digest username="x", realm="upstream", nonce="n", uri="sip:vontres.test", response="00")");
  EXPECT_EQ(server_->verify(request, ChallengeKind::kWww, lookup_).status().code(), "digest_missing");
  request.add_header("Authorization", answer(challenge(*server_, DigestAlgorithm::kSha256), 1));
  auto ok = server_->verify(request, ChallengeKind::kWww, lookup_);
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  // Proxy credentials live in another header.
  EXPECT_EQ(server_->verify(request, ChallengeKind::kProxy, lookup_).status().code(), "digest_missing");
}

TEST_F(DigestServerTest, DigestClientAnswers407WithProxyAuthorizationAndStopsWhenRejected) {
  auto challenge_response = sip::Message::response(407, "Proxy Authentication Required");
  server_->add_challenge(challenge_response, ChallengeKind::kProxy, false);
  EXPECT_EQ(challenge_response.headers_named("Proxy-Authenticate").size(), 2u);
  DigestClient client("alice", kPassword);
  EXPECT_FALSE(client.authorization("INVITE", kUri).has_value());
  ASSERT_TRUE(client.on_challenge(challenge_response).is_ok());

  auto invite = sip::Message::request("INVITE", kUri);
  auto header = client.authorization("INVITE", kUri);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->name, "Proxy-Authorization");
  invite.add_header(header->name, header->value);
  auto ok = server_->verify(invite, ChallengeKind::kProxy, lookup_);
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(ok->algorithm, DigestAlgorithm::kSha256);  // the stronger offer was taken
  // The next request on the same nonce counts up.
  auto next = parse_auth_header(client.authorization("INVITE", kUri)->value);
  EXPECT_EQ(*next->param("nc"), "00000002");

  // The same nonce challenged again without stale=true: the credentials are wrong, do not loop.
  EXPECT_EQ(client.on_challenge(challenge_response).code(), "digest_rejected");
  auto stale = sip::Message::response(407, "Proxy Authentication Required");
  for (auto value : challenge_response.headers_named("Proxy-Authenticate")) {
    stale.add_header("Proxy-Authenticate", std::string(value) + ", stale=true");
  }
  EXPECT_TRUE(client.on_challenge(stale).is_ok());
  EXPECT_EQ(client.on_challenge(sip::Message::response(200, "OK")).code(), "digest_not_challenge");
}

// ---- Client -------------------------------------------------------------------------------------

TEST(DigestClientSide, SelectsSha256OverMd5InAnyOrderAndSkipsUnsupported) {
  const std::string md5 = R"(Digest realm="r", nonce="n1", algorithm=MD5, qop="auth")";
  const std::string sha = R"(Digest realm="r", nonce="n2", algorithm=SHA-256, qop="auth")";
  const std::string sha512 = R"(Digest realm="r", nonce="n3", algorithm=SHA-512-256, qop="auth")";
  auto picked = select_challenge({md5, sha512, sha});
  ASSERT_TRUE(picked.is_ok());
  EXPECT_EQ(picked->algorithm, DigestAlgorithm::kSha256);
  EXPECT_EQ(picked->nonce, "n2");
  EXPECT_EQ(select_challenge({md5})->algorithm, DigestAlgorithm::kMd5);
  EXPECT_EQ(select_challenge({sha512}).status().code(), "digest_unsupported_algorithm");
  EXPECT_EQ(select_challenge({}).status().code(), "digest_missing");
  EXPECT_EQ(parse_challenge(R"(Digest realm="r", nonce="n", qop="auth-int")").status().code(),
            "digest_unsupported_qop");
  EXPECT_EQ(parse_challenge(R"(Basic realm="r")").status().code(), "digest_not_digest");
  // No algorithm means MD5 (RFC 2617).
  EXPECT_EQ(parse_challenge(R"(Digest realm="r", nonce="n")")->algorithm, DigestAlgorithm::kMd5);
}

TEST(DigestClientSide, AnswersLegacyChallengesWithoutQop) {
  auto c = parse_challenge(R"(Digest realm="trunk", nonce="abc")");
  ASSERT_TRUE(c.is_ok());
  auto parsed = parse_auth_header(build_authorization(*c, {"u", "p", "INVITE", "sip:1@trunk", "", 1}));
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed->param("qop"), nullptr);
  EXPECT_EQ(parsed->param("nc"), nullptr);
  const std::string ha1 = compute_ha1(DigestAlgorithm::kMd5, "u", "trunk", "p");
  EXPECT_EQ(*parsed->param("response"),
            compute_response(DigestAlgorithm::kMd5, ha1, "abc", "", "", "", "INVITE", "sip:1@trunk"));
}

TEST(DigestMisc, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "abcd"));
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_EQ(random_bytes(32).size(), 32u);
}

}  // namespace
}  // namespace vontres::telephony::registrar
