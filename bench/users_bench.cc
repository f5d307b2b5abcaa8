// Users service hot paths: access-token verification per request (HS256, RS256, ES256, EdDSA) and
// argon2id hashing at the configured default cost (AuthConfig: 19 MiB, 2 passes, 1 lane — the
// OWASP minimum for argon2id). Baseline in the same run: a bare HMAC-SHA256 over the same bytes,
// so the verify figure reads as a ratio to the cryptographic floor.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/clock.h"
#include "users/crypto.h"
#include "users/jwt.h"
#include "users/passwords.h"

namespace {

using vontres::AuthConfig;
using vontres::ManualClock;
using namespace vontres::users;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

JwtKeys keys_for(const std::string& algorithm) {
  JwtKeys keys;
  if (algorithm == "HS256") {
    keys.hmac_secret = std::string(32, 'k');
    return keys;
  }
  auto dir = std::filesystem::temp_directory_path() / ("vontres-bench-keys-" + algorithm);
  std::filesystem::create_directories(dir);
  std::string gen = algorithm == "RS256"   ? "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"
                    : algorithm == "ES256" ? "-algorithm EC -pkeyopt ec_paramgen_curve:P-256"
                                           : "-algorithm ED25519";
  std::string priv = (dir / "private.pem").string();
  std::string pub = (dir / "public.pem").string();
  std::string command = "openssl genpkey " + gen + " -out " + priv + " 2>/dev/null && openssl pkey -in " + priv +
                        " -pubout -out " + pub + " 2>/dev/null";
  if (std::system(command.c_str()) != 0) std::abort();
  keys.private_key_pem = slurp(priv);
  keys.public_key_pem = slurp(pub);
  std::filesystem::remove_all(dir);
  return keys;
}

void BM_VerifyAccessToken(benchmark::State& state, const std::string& algorithm) {
  ManualClock clock;
  AuthConfig config;
  config.jwt_algorithm = algorithm;
  auto codec = JwtCodec::create_from_keys(config, keys_for(algorithm), clock);
  if (!codec.is_ok()) {
    state.SkipWithError(codec.status().to_string().c_str());
    return;
  }
  AccessClaims claims{"0190c0de-0000-7000-8000-000000000001",
                      "0190c0de-0000-7000-8000-000000000002",
                      {"supervisor"},
                      "0190c0de-0000-7000-8000-000000000003",
                      "0190c0de-0000-7000-8000-000000000004",
                      0,
                      0,
                      0};
  std::string token = *(*codec)->issue(claims);
  for (auto _ : state) {
    auto verified = (*codec)->verify(token);
    benchmark::DoNotOptimize(verified);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["token_bytes"] = static_cast<double>(token.size());
}
BENCHMARK_CAPTURE(BM_VerifyAccessToken, HS256, std::string("HS256"));
BENCHMARK_CAPTURE(BM_VerifyAccessToken, RS256, std::string("RS256"));
BENCHMARK_CAPTURE(BM_VerifyAccessToken, ES256, std::string("ES256"));
BENCHMARK_CAPTURE(BM_VerifyAccessToken, EdDSA, std::string("EdDSA"));

// Baseline: the HMAC alone over a token-sized input.
void BM_BaselineHmacSha256(benchmark::State& state) {
  std::string input(300, 'x');
  std::string key(32, 'k');
  for (auto _ : state) benchmark::DoNotOptimize(hmac_sha256(key, input));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BaselineHmacSha256);

void BM_Argon2idHashDefaultCost(benchmark::State& state) {
  AuthConfig config;  // defaults: 19456 KiB, t=2, p=1
  PasswordHasher hasher(config);
  state.SetLabel("m=" + std::to_string(config.argon2_memory_kib) + "KiB,t=" + std::to_string(config.argon2_iterations) +
                 ",p=" + std::to_string(config.argon2_parallelism));
  for (auto _ : state) benchmark::DoNotOptimize(hasher.hash("correct horse battery staple"));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Argon2idHashDefaultCost)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
