#include "users/detail/core.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "core/log.h"
#include "users/crypto.h"
#include "users/events.h"
#include "users/permissions.h"
#include "users/repository.h"

namespace vontres::users::detail {

namespace {

constexpr size_t kRefreshTokenBytes = 32;
constexpr size_t kMaxOpaqueTokenBytes = 512;
constexpr int64_t kApiKeyTouchIntervalMs = 60'000;  // last-used precision; avoids a write per request

std::string revocation_cache_key(const std::string& kind, const std::string& id) {
  return "users:revoked:" + kind + ":" + id;
}

Status invalid_credentials() { return unauthenticated("wrong email or password", "invalid_credentials"); }

// The value of a "user" revocation entry: the revocation time in Unix milliseconds, "ms:<n>".
// Entries written before millisecond precision hold plain Unix seconds.
std::string user_revocation_value(int64_t revoked_at_ms) { return "ms:" + std::to_string(revoked_at_ms); }

std::optional<int64_t> parse_user_revocation_ms(std::string_view value) {
  const bool in_ms = value.starts_with("ms:");
  if (in_ms) value.remove_prefix(3);
  if (value.empty() || value.size() > 19) return std::nullopt;
  int64_t number = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + (c - '0');
  }
  return in_ms ? number : number * 1000;
}

}  // namespace

std::string normalise_email(std::string_view email) {
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.front()))) email.remove_prefix(1);
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.back()))) email.remove_suffix(1);
  if (email.empty() || email.size() > 254) return {};
  size_t at = email.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == email.size() || email.find('@', at + 1) != email.npos) {
    return {};
  }
  std::string out;
  out.reserve(email.size());
  for (char c : email) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) return {};
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

UsersCore::UsersCore(const AuthConfig& config, store::Store& store, cache::Cache& cache, const Clock& clock,
                     IdGenerator& ids, std::unique_ptr<JwtCodec> jwt)
    : config_(config),
      store_(store),
      cache_(cache),
      clock_(clock),
      ids_(ids),
      jwt_(std::move(jwt)),
      hasher_(config),
      limiter_(config, cache),
      audit_(store, clock, ids) {}

std::chrono::milliseconds UsersCore::access_token_horizon() const {
  // Plus a second: exp is in whole seconds.
  return config_.access_token_ttl + config_.clock_skew_leeway + std::chrono::seconds(1);
}

Status UsersCore::warm_revocations() {
  const int64_t now = clock_.now_unix_ms();
  VONTRES_RETURN_IF_ERROR(repo::delete_expired_revocations(store_, now));
  VONTRES_ASSIGN_OR_RETURN(auto revocations, repo::list_active_revocations(store_, now));
  for (const auto& revocation : revocations) {
    std::string id = revocation.token_id.substr(revocation.token_id.find(':') + 1);
    std::string value = revocation.kind == "user" ? user_revocation_value(revocation.revoked_at_ms) : "1";
    VONTRES_RETURN_IF_ERROR(cache_.set(revocation_cache_key(revocation.kind, id), value,
                                       std::chrono::milliseconds(revocation.expires_at_ms - now)));
  }
  return Status::ok();
}

Status UsersCore::revoke(const std::string& kind, const std::string& token_id, const std::string& org_id,
                         std::chrono::milliseconds lifetime, const std::string& value) {
  if (lifetime.count() <= 0) return Status::ok();  // nothing it covers can still verify
  const int64_t now = clock_.now_unix_ms();
  // Durable first: if the Cache write fails the Store still has it for the next warm-up.
  VONTRES_RETURN_IF_ERROR(
      repo::insert_revocation(store_, {kind + ":" + token_id, kind, org_id, now + lifetime.count(), now}));
  return cache_.set(revocation_cache_key(kind, token_id), value, lifetime);
}

Result<TokenPair> UsersCore::issue_tokens(const User& user, const std::string& family_id) {
  VONTRES_ASSIGN_OR_RETURN(std::string refresh, random_token(kRefreshTokenBytes));
  const int64_t now = clock_.now_unix_ms();
  RefreshToken row;
  row.id = ids_.next();
  row.family_id = family_id;
  row.user_id = user.id;
  row.org_id = user.org_id;
  row.token_hash = sha256_hex(refresh);
  row.created_at_ms = now;
  row.expires_at_ms = now + config_.refresh_token_ttl.count();
  VONTRES_RETURN_IF_ERROR(repo::insert_refresh_token(store_, row));

  AccessClaims claims;
  claims.subject = user.id;
  claims.org_id = user.org_id;
  claims.roles = user.roles;
  claims.jti = ids_.next();
  claims.family_id = family_id;
  VONTRES_ASSIGN_OR_RETURN(std::string access, jwt_->issue(claims));
  return TokenPair{std::move(access), std::move(refresh), claims.expires_at - claims.issued_at};
}

Result<TokenPair> UsersCore::login(const std::string& raw_email, const std::string& password,
                                   const std::string& address, LoginFailure& failure) {
  const std::string email = normalise_email(raw_email);
  if (email.empty() || password.empty() || password.size() > PasswordHasher::kMaxPasswordBytes) {
    failure.status = invalid_credentials();
    return failure.status;
  }
  Status allowed = limiter_.check(email, address, failure.retry_after);
  if (!allowed.is_ok()) {
    audit_.record(security_event(audit_type::kLoginFailed, "", "", "", address, "failure", {{"reason", "locked"}}));
    failure.status = allowed;
    return allowed;
  }

  VONTRES_ASSIGN_OR_RETURN(auto user, repo::find_user_by_email(store_, email));
  bool ok = false;
  if (user && user->active) {
    ok = hasher_.verify(password, user->password_hash);
  } else {
    hasher_.verify_dummy(password);
  }
  if (!ok) {
    AuditEvent event =
        security_event(audit_type::kLoginFailed, "", "", "", address, "failure",
                       {{"reason", user ? (user->active ? "wrong_password" : "inactive") : "unknown_account"}});
    if (user) {
      event.org_id = user->org_id;
      event.subject_id = user->id;
    }
    audit_.record(event);
    VONTRES_ASSIGN_OR_RETURN(auto outcome, limiter_.record_failure(email, address));
    if (outcome.account_locked_now || outcome.address_locked_now) {
      event.type = audit_type::kAccountLocked;
      event.details = {{"scope", outcome.account_locked_now ? "account" : "address"}};
      audit_.record(event);
    }
    failure.status = invalid_credentials();
    return failure.status;
  }

  VONTRES_RETURN_IF_ERROR(limiter_.record_success(email));
  auto tokens = issue_tokens(*user, ids_.next());
  if (tokens.is_ok()) {
    audit_.record(security_event(audit_type::kLoginSucceeded, user->org_id, user->id, user->id, address));
  }
  return tokens;
}

Result<TokenPair> UsersCore::refresh(const std::string& refresh_token, const std::string& address) {
  const Status unknown = unauthenticated("unknown refresh token", "invalid_refresh_token");
  if (refresh_token.empty() || refresh_token.size() > kMaxOpaqueTokenBytes) return unknown;
  VONTRES_ASSIGN_OR_RETURN(auto found, repo::find_refresh_token_by_hash(store_, sha256_hex(refresh_token)));
  if (!found) return unknown;
  const RefreshToken token = *found;
  const int64_t now = clock_.now_unix_ms();
  if (token.revoked_at_ms) return unauthenticated("the session has ended", "token_revoked");

  enum class Outcome { kRotated, kReused, kUserGone };
  Outcome outcome = Outcome::kRotated;
  std::optional<User> user;
  if (!token.used_at_ms) {
    if (now >= token.expires_at_ms) return unauthenticated("the refresh token has expired", "token_expired");
    // The body returns OK even when reuse is detected, so the revocation below is not rolled back.
    VONTRES_RETURN_IF_ERROR(store_.transaction([&](store::Session& session) -> Status {
      VONTRES_ASSIGN_OR_RETURN(bool won, repo::mark_refresh_token_used(session, token.id, now));
      if (!won) {
        outcome = Outcome::kReused;
        return Status::ok();
      }
      VONTRES_ASSIGN_OR_RETURN(user, repo::find_user(session, token.org_id, token.user_id));
      if (!user || !user->active) outcome = Outcome::kUserGone;
      return Status::ok();
    }));
  } else {
    outcome = Outcome::kReused;
  }

  if (outcome == Outcome::kReused) {
    // A rotated token came back: either it was stolen or the client replayed it. Either way the
    // session can no longer be trusted, so every token of the family dies.
    VONTRES_RETURN_IF_ERROR(repo::revoke_refresh_family(store_, token.family_id, now));
    VONTRES_RETURN_IF_ERROR(revoke("family", token.family_id, token.org_id, access_token_horizon(), "1"));
    audit_.record(security_event(audit_type::kRefreshReuseDetected, token.org_id, "", token.user_id, address, "failure",
                                 {{"family_id", token.family_id}}));
    return unauthenticated("the refresh token was already used; the session is revoked", "refresh_token_reused");
  }
  if (outcome == Outcome::kUserGone) {
    VONTRES_RETURN_IF_ERROR(repo::revoke_refresh_family(store_, token.family_id, now));
    return unauthenticated("the account is disabled", "token_revoked");
  }
  return issue_tokens(*user, token.family_id);
}

Status UsersCore::logout(const api::Principal& principal, const AccessClaims& claims, const std::string& address) {
  const int64_t now = clock_.now_unix_ms();
  auto remaining = std::chrono::milliseconds((claims.expires_at + 1) * 1000 - now) + config_.clock_skew_leeway;
  VONTRES_RETURN_IF_ERROR(revoke("jti", claims.jti, claims.org_id, remaining, "1"));
  if (!claims.family_id.empty()) {
    VONTRES_RETURN_IF_ERROR(repo::revoke_refresh_family(store_, claims.family_id, now));
    VONTRES_RETURN_IF_ERROR(revoke("family", claims.family_id, claims.org_id, access_token_horizon(), "1"));
  }
  audit_.record(security_event(audit_type::kLogout, principal.org_id, principal.subject, principal.subject, address));
  return Status::ok();
}

Status UsersCore::revoke_user_sessions(const std::string& org_id, const std::string& user_id) {
  const int64_t now = clock_.now_unix_ms();
  VONTRES_ASSIGN_OR_RETURN(auto families, repo::revoke_user_refresh_families(store_, user_id, now));
  // Each live session by its id: this covers tokens issued in the very millisecond of the
  // revocation, which no time comparison can separate from a login right after it.
  for (const auto& family : families) {
    VONTRES_RETURN_IF_ERROR(revoke("family", family, org_id, access_token_horizon(), "1"));
  }
  // And every token issued before now, whatever its session.
  return revoke("user", user_id, org_id, access_token_horizon(), user_revocation_value(now));
}

Status UsersCore::change_password(const api::Principal& principal, const std::string& current, const std::string& next,
                                  const std::string& address) {
  if (principal.auth_type != "jwt") return permission_denied("only users have passwords", "not_a_user");
  VONTRES_ASSIGN_OR_RETURN(auto user, repo::find_user(store_, principal.org_id, principal.subject));
  if (!user) return not_found("no such user", "user_not_found");
  std::chrono::milliseconds retry_after{0};
  VONTRES_RETURN_IF_ERROR(limiter_.check(user->email, address, retry_after));
  if (!hasher_.verify(current, user->password_hash)) {
    VONTRES_ASSIGN_OR_RETURN(auto outcome, limiter_.record_failure(user->email, address));
    (void)outcome;
    audit_.record(security_event(audit_type::kPasswordChanged, user->org_id, user->id, user->id, address, "failure",
                                 {{"reason", "wrong_password"}}));
    return invalid_credentials();
  }
  VONTRES_RETURN_IF_ERROR(hasher_.check_policy(next));
  VONTRES_ASSIGN_OR_RETURN(std::string hash, hasher_.hash(next));
  VONTRES_ASSIGN_OR_RETURN(bool updated,
                           repo::update_password(store_, user->org_id, user->id, hash, clock_.now_unix_ms()));
  if (!updated) return not_found("no such user", "user_not_found");
  // Every session (this one included) ends: whoever knew the old password may hold one.
  VONTRES_RETURN_IF_ERROR(revoke_user_sessions(user->org_id, user->id));
  audit_.record(security_event(audit_type::kPasswordChanged, user->org_id, user->id, user->id, address));
  return Status::ok();
}

Status UsersCore::reset_password(const api::Principal& principal, const std::string& user_id, const std::string& next,
                                 const std::string& address) {
  VONTRES_RETURN_IF_ERROR(hasher_.check_policy(next));
  VONTRES_ASSIGN_OR_RETURN(auto user, repo::find_user(store_, principal.org_id, user_id));
  if (!user) return not_found("no such user", "user_not_found");
  VONTRES_ASSIGN_OR_RETURN(std::string hash, hasher_.hash(next));
  VONTRES_ASSIGN_OR_RETURN(bool updated,
                           repo::update_password(store_, principal.org_id, user_id, hash, clock_.now_unix_ms()));
  if (!updated) return not_found("no such user", "user_not_found");
  VONTRES_RETURN_IF_ERROR(revoke_user_sessions(principal.org_id, user_id));
  audit_.record(security_event(audit_type::kPasswordReset, principal.org_id, principal.subject, user_id, address));
  return Status::ok();
}

Status UsersCore::create_admin(const std::string& org_name, const std::string& raw_email, const std::string& password) {
  const std::string email = normalise_email(raw_email);
  if (email.empty()) return invalid_argument("not an email address", "invalid_email");
  if (org_name.empty() || org_name.size() > 200) return invalid_argument("bad organisation name", "invalid_org_name");
  VONTRES_RETURN_IF_ERROR(hasher_.check_policy(password));
  VONTRES_ASSIGN_OR_RETURN(std::string hash, hasher_.hash(password));
  const int64_t now = clock_.now_unix_ms();
  std::string user_id = ids_.next();
  std::string org_id;
  VONTRES_RETURN_IF_ERROR(store_.transaction([&](store::Session& session) -> Status {
    VONTRES_ASSIGN_OR_RETURN(auto org, repo::find_org_by_name(session, org_name));
    if (!org) {
      org = Organisation{ids_.next(), org_name, now};
      VONTRES_RETURN_IF_ERROR(repo::insert_org(session, *org));
    }
    org_id = org->id;
    User user{.id = user_id,
              .org_id = org->id,
              .email = email,
              .display_name = email,
              .password_hash = hash,
              .roles = {"admin"},
              .active = true,
              .created_at_ms = now,
              .updated_at_ms = now};
    return repo::insert_user(session, user);
  }));
  audit_.record(security_event(audit_type::kUserCreated, org_id, "cli", user_id, "", "success",
                               {{"roles", nlohmann::json::array({"admin"})}}));
  return Status::ok();
}

Result<AccessClaims> UsersCore::verify_access_token(std::string_view token) {
  VONTRES_ASSIGN_OR_RETURN(AccessClaims claims, jwt_->verify(token));
  const Status revoked = unauthenticated("the token has been revoked", "token_revoked");
  VONTRES_ASSIGN_OR_RETURN(auto jti, cache_.get(revocation_cache_key("jti", claims.jti)));
  if (jti) return revoked;
  if (!claims.family_id.empty()) {
    VONTRES_ASSIGN_OR_RETURN(auto family, cache_.get(revocation_cache_key("family", claims.family_id)));
    if (family) return revoked;
  }
  VONTRES_ASSIGN_OR_RETURN(auto user, cache_.get(revocation_cache_key("user", claims.subject)));
  if (user) {
    const std::optional<int64_t> revoked_at_ms = parse_user_revocation_ms(*user);
    if (!revoked_at_ms) return revoked;  // unreadable entry: fail closed
    // Milliseconds: a user who logs in again right after a password change is not locked out;
    // tokens of the revoked sessions issued in that same millisecond carry a revoked "sid".
    if (claims.issued_at_ms < *revoked_at_ms) return revoked;
  }
  return claims;
}

Result<std::set<std::string>> UsersCore::resolve_permissions(const std::string& org_id,
                                                             const std::vector<std::string>& roles) {
  std::set<std::string> permissions;
  for (const auto& name : roles) {
    if (const BuiltinRole* builtin = find_builtin_role(name)) {
      permissions.insert(builtin->permissions.begin(), builtin->permissions.end());
      continue;
    }
    VONTRES_ASSIGN_OR_RETURN(auto role, repo::find_role(store_, org_id, name));
    if (role) permissions.insert(role->permissions.begin(), role->permissions.end());
  }
  return permissions;
}

Result<api::Principal> UsersCore::principal_for(const AccessClaims& claims) {
  api::Principal principal;
  principal.subject = claims.subject;
  principal.org_id = claims.org_id;
  principal.roles = claims.roles;
  VONTRES_ASSIGN_OR_RETURN(principal.permissions, resolve_permissions(claims.org_id, claims.roles));
  principal.auth_type = "jwt";
  principal.token_id = claims.jti;
  return principal;
}

Result<api::Principal> UsersCore::verify_api_key(std::string_view key) {
  const Status invalid = unauthenticated("unknown API key", "invalid_api_key");
  if (key.size() > kMaxOpaqueTokenBytes || key.substr(0, kApiKeyMarker.size()) != kApiKeyMarker) return invalid;
  std::string_view rest = key.substr(kApiKeyMarker.size());
  size_t separator = rest.find('_');
  if (separator == std::string_view::npos || separator == 0) return invalid;
  VONTRES_ASSIGN_OR_RETURN(auto found, repo::find_api_key_by_prefix(store_, std::string(rest.substr(0, separator))));
  if (!found) return invalid;
  if (!constant_time_equals(sha256_hex(key), found->secret_hash)) return invalid;
  if (found->revoked_at_ms) return unauthenticated("the API key has been revoked", "api_key_revoked");
  const int64_t now = clock_.now_unix_ms();
  if (!found->last_used_at_ms || now - *found->last_used_at_ms >= kApiKeyTouchIntervalMs) {
    (void)repo::touch_api_key(store_, found->id, now);  // best effort: bookkeeping must not fail a request
  }
  api::Principal principal;
  principal.subject = found->id;
  principal.org_id = found->org_id;
  for (const auto& permission : found->permissions) {
    if (is_known_permission(permission)) principal.permissions.insert(permission);
  }
  principal.auth_type = "api_key";
  principal.token_id = found->id;
  return principal;
}

Status UsersCore::check_role_assignment(const api::Principal& principal, const std::vector<std::string>& roles) {
  for (const auto& name : roles) {
    std::set<std::string> granted;
    if (const BuiltinRole* builtin = find_builtin_role(name)) {
      granted = builtin->permissions;
    } else {
      VONTRES_ASSIGN_OR_RETURN(auto role, repo::find_role(store_, principal.org_id, name));
      if (!role) return invalid_argument("no role named '" + name + "'", "role_not_found");
      granted.insert(role->permissions.begin(), role->permissions.end());
    }
    for (const auto& permission : granted) {
      if (!principal.has_permission(permission)) {
        return permission_denied("cannot grant role '" + name + "': it holds " + permission + " which you lack",
                                 "permission_escalation");
      }
    }
  }
  return Status::ok();
}

void UsersCore::publish_user_change(std::string_view type, const std::string& org_id, const std::string& user_id) {
  bus::EventBus* bus = bus_.load();
  if (bus == nullptr) return;
  events::UserLifecycle change{std::string(type), org_id, user_id, clock_.now_unix_ms()};
  auto published = bus->publish(events::to_event(change), std::chrono::seconds(2));
  if (!published.is_ok()) {
    log::Logger("users").error("user lifecycle event not published", {{"event.action", change.type},
                                                                      {"organization.id", org_id},
                                                                      {"user.id", user_id},
                                                                      {"error.code", published.status().code()}});
  }
}

Status UsersCore::check_can_manage(const api::Principal& principal, const std::vector<std::string>& target_roles) {
  VONTRES_ASSIGN_OR_RETURN(auto held_by_target, resolve_permissions(principal.org_id, target_roles));
  for (const auto& permission : held_by_target) {
    if (grants_authority(permission) && !principal.has_permission(permission)) {
      return permission_denied("this user holds " + permission + " which you lack", "permission_escalation");
    }
  }
  return Status::ok();
}

Status UsersCore::check_keeps_an_admin(store::Session& session, const User& before, const std::optional<User>& after) {
  const auto is_active_admin = [](const User& user) {
    return user.active && std::find(user.roles.begin(), user.roles.end(), "admin") != user.roles.end();
  };
  if (!is_active_admin(before) || (after && is_active_admin(*after))) return Status::ok();
  VONTRES_ASSIGN_OR_RETURN(int64_t others,
                           repo::count_active_users_with_role(session, before.org_id, "admin", before.id));
  if (others == 0) {
    return failed_precondition("the organisation would have no active admin left", "last_admin");
  }
  return Status::ok();
}

}  // namespace vontres::users::detail
