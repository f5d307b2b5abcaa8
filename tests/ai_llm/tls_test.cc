// The client against a TLS peer with a self-signed certificate made on the fly: trusted through
// ClientOptions::ca_file it works (SNI + host name verification of "localhost"); without it the
// handshake is refused and nothing is answered.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>

#include "ai/llm/openai_client.h"
#include "ai_llm/fake_openai_server.h"
#include "support/subprocess.h"

namespace vontres::ai::llm {
namespace {

struct Pem {
  std::string certificate;
  std::string key;
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return {data, static_cast<std::size_t>(size)};
}

Pem make_self_signed_localhost() {
  const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  const std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    X509_add_ext(cert.get(), extension, -1);
    X509_EXTENSION_free(extension);
  }
  X509_sign(cert.get(), key.get(), EVP_sha256());
  Pem pem;
  const std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  pem.certificate = bio_text(cert_bio.get());
  const std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  pem.key = bio_text(key_bio.get());
  return pem;
}

class TlsTest : public ::testing::Test {
 protected:
  TlsTest() : pem_(make_self_signed_localhost()), server_tls_(boost::asio::ssl::context::tls_server) {
    server_tls_.use_certificate_chain(boost::asio::buffer(pem_.certificate));
    server_tls_.use_private_key(boost::asio::buffer(pem_.key), boost::asio::ssl::context::pem);
    ca_file_ = dir_.path() + "/ca.pem";
    std::ofstream(ca_file_) << pem_.certificate;
  }
  ClientOptions options(const std::string& base_url) const {
    ClientOptions o;
    o.base_url = base_url;
    o.api_key = "sk-tls";
    o.max_retries = 0;
    o.timeout = std::chrono::milliseconds(5000);
    return o;
  }

  Pem pem_;
  boost::asio::ssl::context server_tls_;
  vontres::testing::TempDir dir_;
  std::string ca_file_;
  ManualClock clock_;
};

TEST_F(TlsTest, TrustsTheServerThroughTheCaFile) {
  testing::FakeOpenAiServer server(&server_tls_);
  server.enqueue(testing::json_reply(
      200,
      R"({"choices":[{"index":0,"message":{"role":"assistant","content":"secure hello"},"finish_reason":"stop"}]})"));
  ClientOptions o = options(server.base_url("https"));
  o.ca_file = ca_file_;
  OpenAiClient client(o, clock_);
  ChatRequest request;
  request.messages = {{"user", "hi"}};
  const auto result = client.chat(request);
  ASSERT_TRUE(result) << result.status().to_string();
  EXPECT_EQ(result->content, "secure hello");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1U);
  EXPECT_EQ(requests[0].headers.at("host"), "localhost:" + std::to_string(server.port()));
  EXPECT_EQ(requests[0].headers.at("authorization"), "Bearer sk-tls");
}

TEST_F(TlsTest, RefusesAnUntrustedCertificate) {
  testing::FakeOpenAiServer server(&server_tls_);
  OpenAiClient client(options(server.base_url("https")), clock_);  // system CA store only
  ChatRequest request;
  request.messages = {{"user", "hi"}};
  const auto result = client.chat(request);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), "llm_unavailable");
  EXPECT_NE(result.status().message().find("TLS handshake"), std::string::npos) << result.status().message();
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(TlsTest, AMissingCaFileIsASetupError) {
  ClientOptions o = options("https://localhost:1/v1");
  o.ca_file = dir_.path() + "/missing.pem";
  OpenAiClient client(o, clock_);
  EXPECT_FALSE(client.configured());
  ChatRequest request;
  EXPECT_EQ(client.chat(request).status().code(), "llm_tls_setup");
}

}  // namespace
}  // namespace vontres::ai::llm
