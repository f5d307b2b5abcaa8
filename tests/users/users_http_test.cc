// The users service over real HTTP: login, refresh rotation and reuse, expiry, logout, the
// route x role permission table, tenant isolation, JWT attacks, API keys, audit, OpenAPI, and
// secrets never leaking into logs, responses or audit rows.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "users/crypto.h"
#include "users/detail/authenticator.h"
#include "users/permissions.h"
#include "users_fixture.h"

namespace vontres::users {
namespace {

using nlohmann::json;
using testing::Reply;
using testing::UsersEnvironment;

const std::string kAdminPassword = "admin-Pa55word-horse";
const std::string kUserPassword = "user-Pa55word-battery";

struct Tenant {
  std::string admin_email;
  std::string admin_token;
  std::string admin_refresh;
};

class UsersHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(create_admin(env_.service(), "Acme", "admin@acme.test", kAdminPassword).is_ok());
    auto [access, refresh] = env_.login("admin@acme.test", kAdminPassword);
    acme_ = {"admin@acme.test", access, refresh};
  }

  // Creates a user with `roles` through the API; returns its id.
  std::string create_user(const std::string& email, std::vector<std::string> roles, const std::string& token = {}) {
    Reply reply = env_.call("POST", "/api/v1/users", {{"email", email}, {"password", kUserPassword}, {"roles", roles}},
                            token.empty() ? acme_.admin_token : token);
    EXPECT_EQ(reply.status, 201) << reply.body;
    return reply.json().value("id", "");
  }

  UsersEnvironment env_;
  Tenant acme_;
};

TEST_F(UsersHttpTest, LoginReturnsBearerTokensAndMeDescribesTheCaller) {
  Reply login = env_.call("POST", "/api/v1/auth/login", {{"email", "ADMIN@acme.test"}, {"password", kAdminPassword}});
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(login.json()["token_type"], "Bearer");
  EXPECT_EQ(login.json()["expires_in"], 900);
  EXPECT_EQ(login.header("Cache-Control"), "no-store");
  Reply me = env_.call("GET", "/api/v1/auth/me", nullptr, login.json()["access_token"]);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json()["auth_type"], "jwt");
  EXPECT_EQ(me.json()["roles"], json::array({"admin"}));
  EXPECT_EQ(me.json()["user"]["email"], "admin@acme.test");
  EXPECT_FALSE(me.json()["user"].contains("password_hash"));
}

TEST_F(UsersHttpTest, WrongPasswordAndUnknownEmailGiveTheSameAnswer) {
  Reply wrong = env_.call("POST", "/api/v1/auth/login", {{"email", "admin@acme.test"}, {"password", "nope-nope-nope"}});
  Reply unknown =
      env_.call("POST", "/api/v1/auth/login", {{"email", "ghost@acme.test"}, {"password", "nope-nope-nope"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.code(), "invalid_credentials");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.body, wrong.body);
}

TEST_F(UsersHttpTest, RepeatedFailuresLockTheAccountWithRetryAfter) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(env_.call("POST", "/api/v1/auth/login",
                        {{"email", "admin@acme.test"}, {"password", "guess-" + std::to_string(i)}})
                  .status,
              401);
  }
  Reply locked = env_.call("POST", "/api/v1/auth/login", {{"email", "admin@acme.test"}, {"password", kAdminPassword}});
  EXPECT_EQ(locked.status, 429);
  EXPECT_EQ(locked.code(), "account_locked");
  EXPECT_EQ(locked.header("Retry-After"), "60");
  env_.clock().advance(std::chrono::seconds(61));
  EXPECT_EQ(
      env_.call("POST", "/api/v1/auth/login", {{"email", "admin@acme.test"}, {"password", kAdminPassword}}).status,
      200);
  EXPECT_NE(env_.audit_rows().find("account_locked|failure|"), std::string::npos);
}

TEST_F(UsersHttpTest, RefreshRotatesAndReuseRevokesTheWholeFamily) {
  Reply first = env_.call("POST", "/api/v1/auth/refresh", {{"refresh_token", acme_.admin_refresh}});
  ASSERT_EQ(first.status, 200) << first.body;
  std::string rotated = first.json()["refresh_token"];
  std::string access = first.json()["access_token"];
  EXPECT_NE(rotated, acme_.admin_refresh);
  EXPECT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, access).status, 200);

  // The old token comes back: reuse. The family dies: the rotated token and its access token too.
  Reply reuse = env_.call("POST", "/api/v1/auth/refresh", {{"refresh_token", acme_.admin_refresh}});
  EXPECT_EQ(reuse.status, 401);
  EXPECT_EQ(reuse.code(), "refresh_token_reused");
  Reply after = env_.call("POST", "/api/v1/auth/refresh", {{"refresh_token", rotated}});
  EXPECT_EQ(after.status, 401);
  EXPECT_EQ(after.code(), "token_revoked");
  Reply me = env_.call("GET", "/api/v1/auth/me", nullptr, access);
  EXPECT_EQ(me.status, 401);
  EXPECT_EQ(me.code(), "token_revoked");
  EXPECT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, acme_.admin_token).code(), "token_revoked");
  EXPECT_NE(env_.audit_rows().find("refresh_token_reuse_detected|failure|"), std::string::npos);
}

TEST_F(UsersHttpTest, AccessTokenExpiresWithTheClockButRefreshStillWorks) {
  env_.clock().advance(std::chrono::minutes(16));
  Reply me = env_.call("GET", "/api/v1/auth/me", nullptr, acme_.admin_token);
  EXPECT_EQ(me.status, 401);
  EXPECT_EQ(me.code(), "token_expired");
  Reply refreshed = env_.call("POST", "/api/v1/auth/refresh", {{"refresh_token", acme_.admin_refresh}});
  ASSERT_EQ(refreshed.status, 200);
  EXPECT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, refreshed.json()["access_token"]).status, 200);
  env_.clock().advance(std::chrono::hours(24 * 31));
  EXPECT_EQ(env_.call("POST", "/api/v1/auth/refresh", {{"refresh_token", refreshed.json()["refresh_token"]}}).code(),
            "token_expired");
}

TEST_F(UsersHttpTest, LogoutRevokesTheAccessTokenAndTheRefreshFamily) {
  Reply logout = env_.call("POST", "/api/v1/auth/logout", nullptr, acme_.admin_token);
  EXPECT_EQ(logout.status, 204) << logout.body;
  Reply me = env_.call("GET", "/api/v1/auth/me", nullptr, acme_.admin_token);
  EXPECT_EQ(me.status, 401);
  EXPECT_EQ(me.code(), "token_revoked");
  EXPECT_EQ(env_.call("POST", "/api/v1/auth/refresh", {{"refresh_token", acme_.admin_refresh}}).code(),
            "token_revoked");
  // Other sessions of the same user are untouched.
  auto [other, other_refresh] = env_.login("admin@acme.test", kAdminPassword);
  EXPECT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, other).status, 200);
}

TEST_F(UsersHttpTest, RevocationsSurviveARestartThroughTheStore) {
  ASSERT_EQ(env_.call("POST", "/api/v1/auth/logout", nullptr, acme_.admin_token).status, 204);
  // A new process: empty cache, same store and secret.
  cache::InProcessCache fresh_cache(CacheConfig{}, env_.clock(), nullptr);
  IdGenerator ids(env_.clock(), 99);
  auto restarted = UsersService::create(env_.auth(), env_.dir().string(), env_.store(), fresh_cache, env_.clock(), ids);
  ASSERT_TRUE(restarted.is_ok()) << restarted.status().to_string();
  api::Request request;
  request.headers = {{"authorization", "Bearer " + acme_.admin_token}};
  EXPECT_EQ((*restarted)->authenticator().authenticate(request).status().code(), "token_revoked");
}

TEST_F(UsersHttpTest, PasswordChangeEndsSessionsAndAdminResetWorks) {
  std::string id = create_user("agent@acme.test", {"agent"});
  auto [token, refresh] = env_.login("agent@acme.test", kUserPassword);
  Reply weak = env_.call("POST", "/api/v1/auth/password",
                         {{"current_password", kUserPassword}, {"new_password", "short"}}, token);
  EXPECT_EQ(weak.code(), "password_too_short");
  Reply wrong = env_.call("POST", "/api/v1/auth/password",
                          {{"current_password", "not-my-password"}, {"new_password", "a-new-long-password"}}, token);
  EXPECT_EQ(wrong.code(), "invalid_credentials");
  env_.clock().advance(std::chrono::seconds(2));
  Reply changed = env_.call("POST", "/api/v1/auth/password",
                            {{"current_password", kUserPassword}, {"new_password", "a-new-long-password"}}, token);
  EXPECT_EQ(changed.status, 204) << changed.body;
  EXPECT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, token).code(), "token_revoked");
  EXPECT_EQ(env_.call("POST", "/api/v1/auth/refresh", {{"refresh_token", refresh}}).code(), "token_revoked");
  auto [fresh, fresh_refresh] = env_.login("agent@acme.test", "a-new-long-password");
  EXPECT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, fresh).status, 200);

  env_.clock().advance(std::chrono::seconds(2));
  Reply reset = env_.call("POST", "/api/v1/users/" + id + "/password", {{"new_password", "admin-chosen-password"}},
                          acme_.admin_token);
  EXPECT_EQ(reset.status, 204) << reset.body;
  EXPECT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, fresh).code(), "token_revoked");
  env_.login("agent@acme.test", "admin-chosen-password");
  std::string audit = env_.audit_rows();
  EXPECT_NE(audit.find("password_changed|success|"), std::string::npos);
  EXPECT_NE(audit.find("password_reset|success|"), std::string::npos);
}

// ---- route x role table ----

struct Caller {
  std::string token;
  std::string refresh;
  std::string password;
};

struct RouteCase {
  std::string method;
  std::string path;  // {user} {team} {role} {key} are replaced by fresh objects
  std::function<json(const Caller&, int)> body;
  std::string permission;  // "" = any authenticated; "public"
};

TEST_F(UsersHttpTest, EveryRouteAnswers401Or403Or2xxByRole) {
  int counter = 0;
  auto no_body = [](const Caller&, int) { return json(nullptr); };
  std::vector<RouteCase> cases = {
      {"POST", "/api/v1/auth/login",
       [](const Caller&, int) {
         return json{{"email", "admin@acme.test"}, {"password", kAdminPassword}};
       },
       "public"},
      {"POST", "/api/v1/auth/refresh",
       [](const Caller& c, int) {
         return json{{"refresh_token", c.refresh}};
       },
       "public"},
      {"GET", "/api/v1/openapi.json", no_body, "public"},
      {"GET", "/api/v1/auth/me", no_body, ""},
      {"POST", "/api/v1/auth/logout", no_body, ""},
      {"POST", "/api/v1/auth/password",
       [](const Caller& c, int) {
         return json{{"current_password", c.password}, {"new_password", "changed-password-123"}};
       },
       ""},
      {"GET", "/api/v1/users", no_body, "users.read"},
      {"POST", "/api/v1/users",
       [](const Caller&, int n) {
         return json{
             {"email", "new" + std::to_string(n) + "@acme.test"}, {"password", kUserPassword}, {"roles", {"agent"}}};
       },
       "users.write"},
      {"GET", "/api/v1/users/{user}", no_body, "users.read"},
      {"PATCH", "/api/v1/users/{user}",
       [](const Caller&, int) {
         return json{{"display_name", "Renamed"}};
       },
       "users.write"},
      {"DELETE", "/api/v1/users/{user}", no_body, "users.write"},
      {"POST", "/api/v1/users/{user}/password",
       [](const Caller&, int) {
         return json{{"new_password", "reset-password-123"}};
       },
       "users.write"},
      {"GET", "/api/v1/users/{user}/agent-profile", no_body, "agents.read"},
      {"PUT", "/api/v1/users/{user}/agent-profile",
       [](const Caller&, int) {
         return json{{"extension", "1001"},
                     {"skills", {{{"name", "billing"}, {"proficiency", 7}}}},
                     {"max_concurrent_calls", 2}};
       },
       "agents.write"},
      {"GET", "/api/v1/roles", no_body, "roles.read"},
      {"POST", "/api/v1/roles",
       [](const Caller&, int n) {
         return json{{"name", "custom" + std::to_string(n)}, {"permissions", {"teams.read"}}};
       },
       "roles.write"},
      {"GET", "/api/v1/roles/{role}", no_body, "roles.read"},
      {"PATCH", "/api/v1/roles/{role}",
       [](const Caller&, int) {
         return json{{"description", "changed"}};
       },
       "roles.write"},
      {"DELETE", "/api/v1/roles/{role}", no_body, "roles.write"},
      {"GET", "/api/v1/teams", no_body, "teams.read"},
      {"POST", "/api/v1/teams",
       [](const Caller&, int n) {
         return json{{"name", "team" + std::to_string(n)}};
       },
       "teams.write"},
      {"GET", "/api/v1/teams/{team}", no_body, "teams.read"},
      {"PATCH", "/api/v1/teams/{team}",
       [](const Caller&, int) {
         return json{{"description", "changed"}};
       },
       "teams.write"},
      {"DELETE", "/api/v1/teams/{team}", no_body, "teams.write"},
      {"GET", "/api/v1/api-keys", no_body, "api_keys.read"},
      {"POST", "/api/v1/api-keys",
       [](const Caller&, int) {
         return json{{"name", "crm"}, {"permissions", {"teams.read"}}};
       },
       "api_keys.write"},
      {"DELETE", "/api/v1/api-keys/{key}", no_body, "api_keys.write"},
      {"GET", "/api/v1/audit", no_body, "audit.read"},
  };

  // Every registered route must be in the table, so a new route cannot skip this test.
  std::set<std::string> covered;
  for (const auto& c : cases) covered.insert(c.method + " " + c.path);
  for (const auto& route : env_.router().routes()) {
    std::string pattern = route->pattern;
    for (auto [from, to] :
         std::vector<std::pair<std::string, std::string>>{{"{id}/", "{user}/"}, {"{name}", "{role}"}}) {
      if (auto at = pattern.find(from); at != std::string::npos) pattern.replace(at, from.size(), to);
    }
    if (pattern.rfind("/api/v1/users/{id}", 0) == 0) pattern.replace(14, 4, "{user}");
    if (pattern.rfind("/api/v1/teams/{id}", 0) == 0) pattern.replace(14, 4, "{team}");
    if (pattern.rfind("/api/v1/api-keys/{id}", 0) == 0) pattern.replace(17, 4, "{key}");
    EXPECT_TRUE(covered.count(std::string(api::method_name(route->method)) + " " + pattern))
        << "route missing from the table: " << api::method_name(route->method) << " " << route->pattern;
  }

  const std::vector<std::string> roles = {"", "agent", "supervisor", "admin"};
  for (const auto& c : cases) {
    for (const auto& role : roles) {
      int n = ++counter;
      // Fresh objects for this call, made by the admin.
      std::string path = c.path;
      auto fill = [&](const std::string& marker, const std::string& value) {
        if (auto at = path.find(marker); at != std::string::npos) path.replace(at, marker.size(), value);
      };
      if (path.find("{user}") != std::string::npos) {
        std::string id = create_user("target" + std::to_string(n) + "@acme.test", {"agent"});
        env_.call("PUT", "/api/v1/users/" + id + "/agent-profile", {{"extension", "1"}}, acme_.admin_token);
        fill("{user}", id);
      }
      if (path.find("{team}") != std::string::npos) {
        fill("{team}",
             env_.call("POST", "/api/v1/teams", {{"name", "t" + std::to_string(n)}}, acme_.admin_token).json()["id"]);
      }
      if (path.find("{role}") != std::string::npos) {
        std::string name = "r" + std::to_string(n);
        env_.call("POST", "/api/v1/roles", {{"name", name}, {"permissions", {"teams.read"}}}, acme_.admin_token);
        fill("{role}", name);
      }
      if (path.find("{key}") != std::string::npos) {
        fill("{key}",
             env_.call("POST", "/api/v1/api-keys", {{"name", "k"}, {"permissions", json::array()}}, acme_.admin_token)
                 .json()["id"]);
      }
      Caller caller;
      if (!role.empty()) {
        std::string email = "caller" + std::to_string(n) + "@acme.test";
        create_user(email, {role});
        auto [access, refresh] = env_.login(email, kUserPassword);
        caller = {access, refresh, kUserPassword};
      } else {
        auto [access, refresh] = env_.login("admin@acme.test", kAdminPassword);
        caller = {"", refresh, ""};  // public routes still need a refresh token to work with
      }
      json body = c.body(caller, n);
      Reply reply = env_.call(c.method, path, body, caller.token);
      const auto* builtin = find_builtin_role(role);
      int expected = 0;  // 0 = any 2xx
      if (c.permission == "public") {
        expected = 0;
      } else if (role.empty()) {
        expected = 401;
      } else if (!c.permission.empty() && !builtin->permissions.count(c.permission)) {
        expected = 403;
      }
      if (expected == 0) {
        EXPECT_TRUE(reply.status >= 200 && reply.status < 300)
            << c.method << " " << c.path << " as '" << role << "': " << reply.status << " " << reply.body;
      } else {
        EXPECT_EQ(reply.status, expected) << c.method << " " << c.path << " as '" << role << "': " << reply.body;
      }
    }
  }
}

// ---- tenant isolation ----

TEST_F(UsersHttpTest, AnotherOrganisationsObjectsAreNotFound) {
  std::string acme_user = create_user("worker@acme.test", {"agent"});
  std::string acme_team =
      env_.call("POST", "/api/v1/teams", {{"name", "Support"}, {"member_ids", {acme_user}}}, acme_.admin_token)
          .json()["id"];
  ASSERT_TRUE(create_admin(env_.service(), "Globex", "admin@globex.test", kAdminPassword).is_ok());
  auto [globex, refresh] = env_.login("admin@globex.test", kAdminPassword);

  for (auto [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/api/v1/users/" + acme_user},
                                                        {"PATCH", "/api/v1/users/" + acme_user},
                                                        {"DELETE", "/api/v1/users/" + acme_user},
                                                        {"POST", "/api/v1/users/" + acme_user + "/password"},
                                                        {"GET", "/api/v1/users/" + acme_user + "/agent-profile"},
                                                        {"PUT", "/api/v1/users/" + acme_user + "/agent-profile"},
                                                        {"GET", "/api/v1/teams/" + acme_team},
                                                        {"PATCH", "/api/v1/teams/" + acme_team},
                                                        {"DELETE", "/api/v1/teams/" + acme_team}}) {
    // A body each route's schema accepts, so that the answer is about the object, not the body.
    json body = nullptr;
    if (path.ends_with("/password")) {
      body = {{"new_password", "globex-takeover-1"}};
    } else if (path.ends_with("/agent-profile") && method == "PUT") {
      body = {{"extension", "101"}};
    } else if (method == "PATCH") {
      body = path.find("/teams/") != std::string::npos ? json{{"name", "x"}} : json{{"display_name", "x"}};
    }
    Reply reply = env_.call(method, path, body, globex);
    EXPECT_EQ(reply.status, 404) << method << " " << path << ": " << reply.body;
  }
  Reply users = env_.call("GET", "/api/v1/users", nullptr, globex);
  ASSERT_EQ(users.status, 200);
  EXPECT_EQ(users.json()["total"], 1);
  EXPECT_EQ(users.json()["items"][0]["email"], "admin@globex.test");
  // A Globex team cannot take Acme's users as members.
  EXPECT_EQ(env_.call("POST", "/api/v1/teams", {{"name", "Poach"}, {"member_ids", {acme_user}}}, globex).code(),
            "user_not_found");
  // Acme's data is intact.
  EXPECT_EQ(env_.call("GET", "/api/v1/users/" + acme_user, nullptr, acme_.admin_token).status, 200);
  EXPECT_EQ(env_.call("GET", "/api/v1/audit", nullptr, globex).json()["total"], 2) << "only Globex's own events";
}

// ---- JWT attacks over HTTP ----

TEST_F(UsersHttpTest, JwtAttackVectorsAreAllRefusedWith401) {
  const std::string& token = acme_.admin_token;
  size_t first = token.find('.');
  size_t second = token.find('.', first + 1);
  json payload = json::parse(*base64url_decode(token.substr(first + 1, second - first - 1)));
  auto forge = [&](const json& header, const json& body, const std::string& signature) {
    return base64url_encode(header.dump()) + "." + base64url_encode(body.dump()) + "." + signature;
  };
  json escalated = payload;
  escalated["roles"] = {"admin", "supervisor"};
  json other_audience = payload;
  other_audience["aud"] = "someone-else";
  std::vector<std::pair<std::string, std::string>> attacks = {
      {"alg none", forge({{"alg", "none"}, {"typ", "JWT"}}, payload, "")},
      {"alg none with signature", forge({{"alg", "none"}}, payload, token.substr(second + 1))},
      {"tampered payload", token.substr(0, first + 1) + base64url_encode(escalated.dump()) + token.substr(second)},
      {"wrong audience, re-signed with a guessed key",
       [&] {
         std::string input =
             base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(other_audience.dump());
         return input + "." + base64url_encode(hmac_sha256("guessed-secret-guessed-secret-00", input));
       }()},
      {"missing parts", token.substr(0, second)},
      {"bad base64", "%%%." + token.substr(first + 1)},
      {"huge header",
       base64url_encode("{\"alg\":\"HS256\",\"pad\":\"" + std::string(7000, 'a') + "\"}") + token.substr(first)},
      {"garbage", "not-a-jwt"},
  };
  for (const auto& [name, forged] : attacks) {
    Reply reply = env_.call("GET", "/api/v1/auth/me", nullptr, forged);
    EXPECT_EQ(reply.status, 401) << name << ": " << reply.body;
    EXPECT_EQ(env_.call("GET", "/api/v1/users", nullptr, forged).status, 401) << name;
  }
  env_.clock().advance(std::chrono::hours(1));
  EXPECT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, token).code(), "token_expired");
  env_.clock().advance(-std::chrono::hours(2));
  EXPECT_EQ(env_.call("GET", "/api/v1/auth/me", nullptr, token).code(), "token_not_yet_valid");
}

TEST(UsersHttpRs256, AlgorithmConfusionWithThePublicKeyIsRefused) {
  auto dir = testing::make_temp_dir("vontres-rs256");
  std::string priv = (dir / "private.pem").string();
  std::string pub = (dir / "public.pem").string();
  ASSERT_EQ(std::system(("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + priv +
                         " 2>/dev/null && openssl pkey -in " + priv + " -pubout -out " + pub + " 2>/dev/null")
                            .c_str()),
            0);
  AuthConfig auth = testing::fast_auth_config();
  auth.jwt_algorithm = "RS256";
  auth.jwt_private_key_file = priv;
  auth.jwt_public_key_file = pub;
  UsersEnvironment env(auth);
  ASSERT_TRUE(create_admin(env.service(), "Acme", "admin@acme.test", kAdminPassword).is_ok());
  auto [token, refresh] = env.login("admin@acme.test", kAdminPassword);
  EXPECT_EQ(env.call("GET", "/api/v1/auth/me", nullptr, token).status, 200);

  std::ifstream in(pub);
  std::string public_pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t first = token.find('.');
  size_t second = token.find('.', first + 1);
  std::string body = token.substr(first + 1, second - first - 1);
  for (const char* alg : {"HS256", "none", "RS512", "ES256"}) {
    std::string input = base64url_encode(std::string(R"({"alg":")") + alg + R"(","typ":"JWT"})") + "." + body;
    std::string forged = input + "." + base64url_encode(hmac_sha256(public_pem, input));
    Reply reply = env.call("GET", "/api/v1/auth/me", nullptr, forged);
    EXPECT_EQ(reply.status, 401) << alg << ": " << reply.body;
    EXPECT_EQ(reply.code(), "token_invalid") << alg;
  }
  std::filesystem::remove_all(dir);
}

// ---- API keys ----

TEST_F(UsersHttpTest, ApiKeysAreShownOnceScopedAndRevocable) {
  Reply created =
      env_.call("POST", "/api/v1/api-keys", {{"name", "crm"}, {"permissions", {"users.read"}}}, acme_.admin_token);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string key = created.json()["key"];
  std::string id = created.json()["id"];
  auto with_key = [&](const std::string& method, const std::string& path) {
    return testing::http_call(env_.port(), method, path, "", {{"Authorization", "ApiKey " + key}});
  };
  EXPECT_EQ(with_key("GET", "/api/v1/users").status, 200);
  EXPECT_EQ(with_key("GET", "/api/v1/teams").status, 403) << "not in the key's scope";
  Reply listed = env_.call("GET", "/api/v1/api-keys", nullptr, acme_.admin_token);
  EXPECT_EQ(listed.body.find(key), std::string::npos) << "the secret is never listed";
  EXPECT_FALSE(listed.json()["items"][0]["last_used_at"].is_null());
  // Nobody hands out what they lack.
  auto [agent, refresh] = [&] {
    create_user("lead@acme.test", {"supervisor"});
    return env_.login("lead@acme.test", kUserPassword);
  }();
  (void)refresh;
  EXPECT_EQ(env_.call("POST", "/api/v1/roles", {{"name", "sneaky"}, {"permissions", {"users.write"}}}, agent).status,
            403);
  EXPECT_EQ(env_.call("DELETE", "/api/v1/api-keys/" + id, nullptr, acme_.admin_token).status, 204);
  Reply revoked = with_key("GET", "/api/v1/users");
  EXPECT_EQ(revoked.status, 401);
  EXPECT_EQ(revoked.code(), "api_key_revoked");
  EXPECT_EQ(
      testing::http_call(env_.port(), "GET", "/api/v1/users", "", {{"Authorization", "ApiKey " + key + "x"}}).code(),
      "invalid_api_key");
  std::string audit = env_.audit_rows();
  EXPECT_NE(audit.find("api_key_created|"), std::string::npos);
  EXPECT_NE(audit.find("api_key_revoked|"), std::string::npos);
  EXPECT_EQ(audit.find(key), std::string::npos);
}

TEST_F(UsersHttpTest, RolesCanBeCustomisedButBuiltinsAreReadOnly) {
  Reply created = env_.call("POST", "/api/v1/roles",
                            {{"name", "qa"}, {"permissions", {"calls.monitor", "reports.read"}}}, acme_.admin_token);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(
      env_.call("POST", "/api/v1/roles", {{"name", "qa"}, {"permissions", json::array()}}, acme_.admin_token).code(),
      "role_exists");
  EXPECT_EQ(env_.call("POST", "/api/v1/roles", {{"name", "x"}, {"permissions", {"launch.missiles"}}}, acme_.admin_token)
                .code(),
            "unknown_permission");
  EXPECT_EQ(env_.call("PATCH", "/api/v1/roles/admin", {{"description", "mine"}}, acme_.admin_token).code(),
            "role_read_only");
  EXPECT_EQ(env_.call("DELETE", "/api/v1/roles/agent", nullptr, acme_.admin_token).code(), "role_read_only");
  std::string id = create_user("qa@acme.test", {"qa"});
  auto [token, refresh] = env_.login("qa@acme.test", kUserPassword);
  Reply me = env_.call("GET", "/api/v1/auth/me", nullptr, token);
  EXPECT_EQ(me.json()["permissions"], json::array({"calls.monitor", "reports.read"}));
  EXPECT_EQ(env_.call("DELETE", "/api/v1/roles/qa", nullptr, acme_.admin_token).code(), "role_in_use");
  EXPECT_EQ(env_.call("POST", "/api/v1/users",
                      {{"email", "a@acme.test"}, {"password", kUserPassword}, {"roles", {"nope"}}}, acme_.admin_token)
                .code(),
            "role_not_found");
  Reply patched = env_.call("PATCH", "/api/v1/users/" + id, {{"roles", {"agent"}}}, acme_.admin_token);
  EXPECT_EQ(patched.status, 200);
  EXPECT_NE(env_.audit_rows().find("role_changed|success|"), std::string::npos);
  Reply roles = env_.call("GET", "/api/v1/roles?limit=2&offset=1", nullptr, acme_.admin_token);
  EXPECT_EQ(roles.json()["total"], 4);
  EXPECT_EQ(roles.json()["items"].size(), 2u);
  EXPECT_EQ(env_.call("GET", "/api/v1/users?limit=0", nullptr, acme_.admin_token).code(), "invalid_pagination");
}

TEST_F(UsersHttpTest, DuplicateEmailAndWeakPasswordAreRefused) {
  EXPECT_EQ(
      env_.call("POST", "/api/v1/users", {{"email", "Admin@Acme.test"}, {"password", kUserPassword}}, acme_.admin_token)
          .code(),
      "email_taken");
  EXPECT_EQ(
      env_.call("POST", "/api/v1/users", {{"email", "b@acme.test"}, {"password", "short"}}, acme_.admin_token).code(),
      "password_too_short");
  EXPECT_EQ(env_.call("GET", "/api/v1/users/" + std::string("0190c0de-0000-7000-8000-000000000000"), nullptr,
                      acme_.admin_token)
                .code(),
            "user_not_found");
}

TEST_F(UsersHttpTest, OpenApiDocumentListsEveryRegisteredRoute) {
  api::Handler noop = [](api::Request&) { return api::Response::no_content(); };
  env_.router().add(api::Method::kGet, "/api/v1/queues/{id}",
                    {.public_route = false, .permission = "queues.read", .summary = "", .tag = "routing"}, noop);
  Reply reply = env_.call("GET", "/api/v1/openapi.json");
  ASSERT_EQ(reply.status, 200);
  json doc = reply.json();
  EXPECT_EQ(doc["openapi"], "3.0.3");
  for (const auto& route : env_.router().routes()) {
    std::string method(api::method_name(route->method));
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_TRUE(doc["paths"].contains(route->pattern) && doc["paths"][route->pattern].contains(method))
        << method << " " << route->pattern;
  }
  EXPECT_EQ(doc["paths"]["/api/v1/users"]["get"]["x-required-permission"], "users.read");
  EXPECT_EQ(doc["paths"]["/api/v1/auth/login"]["post"]["security"], json::array());
  EXPECT_EQ(doc["components"]["securitySchemes"]["apiKeyAuth"]["name"], "Authorization");
}

// ---- WebSocket credential forms ----

TEST_F(UsersHttpTest, WebSocketUpgradesMayCarryTheTokenInProtocolOrQueryButPlainHttpMayNot) {
  api::Authenticator& auth = env_.service().authenticator();
  api::Request ws;
  ws.headers = {{"upgrade", "websocket"}, {"sec-websocket-protocol", "bearer, " + acme_.admin_token}};
  EXPECT_TRUE(auth.authenticate(ws).is_ok());
  api::Request ws_query;
  ws_query.headers = {{"upgrade", "WebSocket"}};
  ws_query.query = {{"access_token", acme_.admin_token}};
  EXPECT_TRUE(auth.authenticate(ws_query).is_ok());
  api::Request plain;
  plain.query = {{"access_token", acme_.admin_token}};
  EXPECT_EQ(auth.authenticate(plain).status().code(), "missing_credentials");
  api::Request plain_protocol;
  plain_protocol.headers = {{"sec-websocket-protocol", "bearer, " + acme_.admin_token}};
  EXPECT_EQ(auth.authenticate(plain_protocol).status().code(), "missing_credentials");
  api::Request basic;
  basic.headers = {{"authorization", "Basic YTpi"}};
  EXPECT_EQ(auth.authenticate(basic).status().code(), "unsupported_auth_scheme");
  EXPECT_EQ(testing::http_call(env_.port(), "GET", "/api/v1/auth/me?access_token=" + acme_.admin_token).status, 401);
}

// ---- secrets ----

TEST_F(UsersHttpTest, PasswordsAndTokensNeverAppearInLogsResponsesOrAudit) {
  std::string id = create_user("secret@acme.test", {"agent"});
  auto [token, refresh] = env_.login("secret@acme.test", kUserPassword);
  env_.call("POST", "/api/v1/auth/login", {{"email", "secret@acme.test"}, {"password", "wrong-Pa55word-xyz"}});
  env_.call("POST", "/api/v1/auth/password",
            {{"current_password", kUserPassword}, {"new_password", "rotated-Pa55word-abc"}}, token);
  env_.call("POST", "/api/v1/users/" + id + "/password", {{"new_password", "reset-Pa55word-def"}}, acme_.admin_token);
  Reply user = env_.call("GET", "/api/v1/users/" + id, nullptr, acme_.admin_token);
  Reply list = env_.call("GET", "/api/v1/users", nullptr, acme_.admin_token);
  Reply audit = env_.call("GET", "/api/v1/audit?limit=500", nullptr, acme_.admin_token);
  std::string logs = env_.logs();
  std::string rows = env_.audit_rows();
  EXPECT_NE(logs.find("login_succeeded"), std::string::npos) << "audit events are logged";
  for (const std::string& secret : {kAdminPassword, kUserPassword, std::string("wrong-Pa55word-xyz"),
                                    std::string("rotated-Pa55word-abc"), std::string("reset-Pa55word-def"), token,
                                    refresh, acme_.admin_token, acme_.admin_refresh, std::string("$argon2id$")}) {
    EXPECT_EQ(logs.find(secret), std::string::npos) << "log leaks " << secret.substr(0, 12);
    EXPECT_EQ(rows.find(secret), std::string::npos) << "audit leaks " << secret.substr(0, 12);
    for (const Reply* reply : {&user, &list, &audit}) {
      EXPECT_EQ(reply->body.find(secret), std::string::npos) << "response leaks " << secret.substr(0, 12);
    }
  }
}

}  // namespace
}  // namespace vontres::users
