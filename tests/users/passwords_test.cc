// PasswordHasher (argon2id PHC strings), the login rate limiter and permission catalogue.
#include "users/passwords.h"

#include <gtest/gtest.h>

#include "cache/in_process_cache.h"
#include "users/permissions.h"
#include "users/rate_limiter.h"
#include "users_fixture.h"

namespace vontres::users {
namespace {

TEST(PasswordHasher, HashesAreSaltedPhcStringsThatVerify) {
  PasswordHasher hasher(testing::fast_auth_config());
  auto first = hasher.hash("correct horse battery staple");
  auto second = hasher.hash("correct horse battery staple");
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first->rfind("$argon2id$v=19$m=8192,t=1,p=1$", 0), 0u) << *first;
  EXPECT_NE(*first, *second) << "each hash has its own salt";
  EXPECT_TRUE(hasher.verify("correct horse battery staple", *first));
  EXPECT_FALSE(hasher.verify("correct horse battery stapl", *first));
  EXPECT_FALSE(hasher.verify("correct horse battery staple", "$argon2i$garbage"));
  EXPECT_FALSE(hasher.verify("correct horse battery staple", ""));
}

TEST(PasswordHasher, VerifiesHashesMadeWithAnotherCost) {
  AuthConfig cheap = testing::fast_auth_config();
  AuthConfig other = cheap;
  other.argon2_memory_kib = 16 * 1024;
  other.argon2_iterations = 2;
  auto hash = PasswordHasher(other).hash("a long enough password");
  EXPECT_TRUE(PasswordHasher(cheap).verify("a long enough password", *hash));
}

TEST(PasswordHasher, PolicyRefusesShortAndHugePasswords) {
  PasswordHasher hasher(testing::fast_auth_config());
  EXPECT_EQ(hasher.check_policy("short").code(), "password_too_short");
  EXPECT_EQ(hasher.check_policy(std::string(11, 'x')).code(), "password_too_short");
  EXPECT_TRUE(hasher.check_policy(std::string(12, 'x')).is_ok());
  EXPECT_EQ(hasher.check_policy(std::string(2000, 'x')).code(), "password_too_long");
}

TEST(LoginRateLimiter, LocksAnAccountAfterMaxFailuresWithDoublingBackOff) {
  ManualClock clock;
  cache::InProcessCache cache(CacheConfig{}, clock, nullptr);
  AuthConfig config;
  LoginRateLimiter limiter(config, cache);
  std::chrono::milliseconds retry{0};
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(limiter.check("a@x.io", "10.0.0.1", retry).is_ok());
    EXPECT_FALSE(limiter.record_failure("a@x.io", "10.0.0.1")->account_locked_now);
  }
  EXPECT_TRUE(limiter.record_failure("A@X.io", "10.0.0.1")->account_locked_now) << "emails are case-insensitive";
  EXPECT_EQ(limiter.check("a@x.io", "10.0.0.2", retry).code(), "account_locked");
  EXPECT_EQ(retry, std::chrono::minutes(1));
  EXPECT_TRUE(limiter.check("b@x.io", "10.0.0.1", retry).is_ok()) << "other accounts from the address are fine";
  clock.advance(std::chrono::minutes(1));
  EXPECT_TRUE(limiter.check("a@x.io", "10.0.0.1", retry).is_ok());
  for (int i = 0; i < 5; ++i) (void)limiter.record_failure("a@x.io", "10.0.0.3");
  EXPECT_EQ(limiter.check("a@x.io", "10.0.0.1", retry).code(), "account_locked");
  EXPECT_EQ(retry, std::chrono::minutes(2)) << "the second lock-out lasts twice as long";
}

TEST(LoginRateLimiter, LocksAnAddressThatTriesManyAccounts) {
  ManualClock clock;
  cache::InProcessCache cache(CacheConfig{}, clock, nullptr);
  LoginRateLimiter limiter(AuthConfig{}, cache);
  for (int i = 0; i < 20; ++i) (void)limiter.record_failure("user" + std::to_string(i) + "@x.io", "192.0.2.7");
  std::chrono::milliseconds retry{0};
  EXPECT_EQ(limiter.check("fresh@x.io", "192.0.2.7", retry).code(), "account_locked");
  EXPECT_TRUE(limiter.check("fresh@x.io", "192.0.2.8", retry).is_ok());
}

TEST(Permissions, AdminHoldsEveryPermissionAndAgentsFew) {
  const auto* admin = find_builtin_role("admin");
  ASSERT_NE(admin, nullptr);
  EXPECT_EQ(admin->permissions.size(), all_permissions().size());
  EXPECT_FALSE(find_builtin_role("agent")->permissions.count("users.read"));
  EXPECT_TRUE(find_builtin_role("supervisor")->permissions.count("calls.monitor"));
  EXPECT_TRUE(is_valid_role_name("team-lead_2"));
  EXPECT_FALSE(is_valid_role_name("Admin"));
  EXPECT_FALSE(is_valid_role_name("2fast"));
}

}  // namespace
}  // namespace vontres::users
