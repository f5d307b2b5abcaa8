#include "telephony/registrar/accounts.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "core/log.h"
#include "telephony/registrar/digest.h"

namespace vontres::telephony::registrar {
namespace {

using nlohmann::json;

constexpr size_t kMaxUsernameLength = 64;
constexpr size_t kMaxAgentIdLength = 128;

constexpr std::string_view kColumns =
    "username, org_id, agent_id, realm, ha1_md5, ha1_sha256, enabled, created_at_ms, updated_at_ms";

SipAccount account_from_row(const store::Row& row) {
  SipAccount account;
  account.username = row.get_string(0);
  account.org_id = row.get_string(1);
  account.agent_id = row.get_string(2);
  account.realm = row.get_string(3);
  account.ha1_md5 = row.get_string(4);
  account.ha1_sha256 = row.get_string(5);
  account.enabled = row.get_int(6) != 0;
  account.created_at_ms = row.get_int(7);
  account.updated_at_ms = row.get_int(8);
  return account;
}

// What the API shows: no HA1s.
json to_json(const SipAccount& account) {
  const auto at = [](int64_t ms) { return format_rfc3339(TimePoint(std::chrono::milliseconds(ms))); };
  return {{"username", account.username},
          {"agent_id", account.agent_id},
          {"enabled", account.enabled},
          {"realm", account.realm},
          {"created_at", at(account.created_at_ms)},
          {"updated_at", at(account.updated_at_ms)}};
}

const log::Logger& logger() {
  static const log::Logger kLogger("sip.accounts");
  return kLogger;
}

}  // namespace

Status validate_sip_username(std::string_view username) {
  const bool ok = !username.empty() && username.size() <= kMaxUsernameLength &&
                  std::all_of(username.begin(), username.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                           c == '_' || c == '-' || c == '~' || c == '+';
                  });
  if (!ok) {
    return invalid_argument("SIP username must be 1-64 characters of letters, digits and ._~+-",
                            "invalid_sip_username");
  }
  return Status::ok();
}

Status validate_sip_password(std::string_view password) {
  if (password.size() < kMinSipPasswordLength) {
    return invalid_argument("SIP password must have at least " + std::to_string(kMinSipPasswordLength) + " characters",
                            "weak_sip_password");
  }
  if (password.size() > kMaxSipPasswordLength) {
    return invalid_argument("SIP password is too long", "invalid_sip_password");
  }
  if (std::any_of(password.begin(), password.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return invalid_argument("SIP password contains control characters", "invalid_sip_password");
  }
  return Status::ok();
}

Status set_sip_password(SipAccount& account, std::string_view realm, std::string_view password) {
  VONTRES_RETURN_IF_ERROR(validate_sip_username(account.username));
  VONTRES_RETURN_IF_ERROR(validate_sip_password(password));
  account.realm = std::string(realm);
  account.ha1_md5 = compute_ha1(DigestAlgorithm::kMd5, account.username, realm, password);
  account.ha1_sha256 = compute_ha1(DigestAlgorithm::kSha256, account.username, realm, password);
  return Status::ok();
}

// ---- InMemoryCredentialStore ------------------------------------------------------------------

Result<SipAccount> InMemoryCredentialStore::find(std::string_view username) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(username);
  if (it == accounts_.end()) return not_found("no SIP account " + std::string(username), "sip_account_not_found");
  return it->second;
}

void InMemoryCredentialStore::put(SipAccount account) {
  std::lock_guard lock(mu_);
  std::string key = account.username;
  accounts_.insert_or_assign(std::move(key), std::move(account));
}

bool InMemoryCredentialStore::remove(std::string_view username) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(username);
  if (it == accounts_.end()) return false;
  accounts_.erase(it);
  return true;
}

// ---- AgentGatedCredentialStore ----------------------------------------------------------------

Result<SipAccount> AgentGatedCredentialStore::find(std::string_view username) {
  VONTRES_ASSIGN_OR_RETURN(SipAccount account, accounts_.find(username));
  if (!account.enabled) return account;
  VONTRES_ASSIGN_OR_RETURN(AgentDirectory::Standing standing, agents_.standing(account.org_id, account.agent_id));
  if (standing == AgentDirectory::Standing::kInactive) account.enabled = false;
  return account;
}

// ---- StoreCredentialStore ---------------------------------------------------------------------

std::vector<store::Migration> StoreCredentialStore::migrations() {
  return {
      {"sip_registrar", 1, "sip_accounts table",
       "CREATE TABLE sip_accounts ("
       "  username TEXT PRIMARY KEY,"
       "  org_id TEXT NOT NULL,"
       "  agent_id TEXT NOT NULL,"
       "  realm TEXT NOT NULL,"
       "  ha1_md5 TEXT NOT NULL,"
       "  ha1_sha256 TEXT NOT NULL,"
       "  enabled INTEGER NOT NULL DEFAULT 1,"
       "  created_at_ms BIGINT NOT NULL,"
       "  updated_at_ms BIGINT NOT NULL);"
       "CREATE INDEX sip_accounts_org ON sip_accounts (org_id, username)"},
  };
}

Result<SipAccount> StoreCredentialStore::find(std::string_view username) {
  VONTRES_ASSIGN_OR_RETURN(store::Rows rows,
                           store_.query("SELECT " + std::string(kColumns) + " FROM sip_accounts WHERE username = $1",
                                        {std::string(username)}));
  if (rows.empty()) return not_found("no SIP account " + std::string(username), "sip_account_not_found");
  return account_from_row(rows[0]);
}

Result<bool> StoreCredentialStore::upsert(const SipAccount& account) {
  VONTRES_RETURN_IF_ERROR(validate_sip_username(account.username));
  if (account.org_id.empty() || account.agent_id.empty()) {
    return invalid_argument("org_id and agent_id are required", "invalid_sip_account");
  }
  if (account.ha1_md5.empty() || account.ha1_sha256.empty()) {
    return invalid_argument("HA1s are required", "invalid_sip_account");
  }
  bool created = false;
  const int64_t now_ms = clock_.now_unix_ms();
  Status status = store_.transaction([&](store::Session& session) -> Status {
    VONTRES_ASSIGN_OR_RETURN(store::Rows rows,
                             session.query("SELECT org_id FROM sip_accounts WHERE username = $1", {account.username}));
    if (!rows.empty() && rows[0].get_string(0) != account.org_id) {
      return already_exists("SIP username " + account.username + " is taken", "sip_account_taken");
    }
    created = rows.empty();
    if (created) {
      return session
          .execute(
              "INSERT INTO sip_accounts (" + std::string(kColumns) + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
              {account.username, account.org_id, account.agent_id, account.realm, account.ha1_md5, account.ha1_sha256,
               int64_t{account.enabled ? 1 : 0}, now_ms, now_ms})
          .status();
    }
    return session
        .execute(
            "UPDATE sip_accounts SET agent_id = $2, realm = $3, ha1_md5 = $4, ha1_sha256 = $5, enabled = $6, "
            "updated_at_ms = $7 WHERE username = $1",
            {account.username, account.agent_id, account.realm, account.ha1_md5, account.ha1_sha256,
             int64_t{account.enabled ? 1 : 0}, now_ms})
        .status();
  });
  if (!status.is_ok()) return status;
  return created;
}

Result<std::vector<SipAccount>> StoreCredentialStore::list(std::string_view org_id) {
  VONTRES_ASSIGN_OR_RETURN(store::Rows rows, store_.query("SELECT " + std::string(kColumns) +
                                                              " FROM sip_accounts WHERE org_id = $1 ORDER BY username",
                                                          {std::string(org_id)}));
  std::vector<SipAccount> out;
  out.reserve(rows.size());
  for (const auto& row : rows.rows) out.push_back(account_from_row(row));
  return out;
}

Status StoreCredentialStore::remove(std::string_view org_id, std::string_view username) {
  VONTRES_ASSIGN_OR_RETURN(const int64_t removed,
                           store_.execute("DELETE FROM sip_accounts WHERE org_id = $1 AND username = $2",
                                          {std::string(org_id), std::string(username)}));
  if (removed == 0) return not_found("no SIP account " + std::string(username), "sip_account_not_found");
  return Status::ok();
}

// ---- SipAccountsApi ---------------------------------------------------------------------------

Status SipAccountsApi::revoke_agent(std::string_view org_id, std::string_view agent_id, bool disable) {
  VONTRES_ASSIGN_OR_RETURN(auto accounts, accounts_.list(org_id));
  for (auto& account : accounts) {
    if (account.agent_id != agent_id) continue;
    if (disable && account.enabled) {
      account.enabled = false;
      VONTRES_ASSIGN_OR_RETURN(bool created, accounts_.upsert(account));
      (void)created;
    }
    logger().info("sip account revoked with its user", {{"user.name", account.username},
                                                        {"organization.id", account.org_id},
                                                        {"vontres.agent.id", account.agent_id},
                                                        {"vontres.sip.enabled", account.enabled}});
    if (on_revoked_) on_revoked_(account.username);
  }
  return Status::ok();
}

void SipAccountsApi::register_routes(api::Router& router) {
  using api::Method;
  using api::Request;
  using api::Response;
  auto opts = [](std::string permission, std::string summary) {
    return api::route_options("telephony", std::move(permission), std::move(summary));
  };

  router.add(
      Method::kPut, "/api/v1/sip-accounts/{username}", opts("agents.write", "Create or update an agent's SIP account"),
      [this](Request& req) {
        const std::string& org = req.principal->org_id;
        SipAccount account;
        account.username = req.path_params.at("username");
        account.org_id = org;
        if (Status valid = validate_sip_username(account.username); !valid.is_ok()) {
          return Response::error(valid);
        }
        auto body = req.json_body();
        if (!body.is_ok()) return Response::error(body.status());
        if (!body->is_object()) {
          return Response::error(invalid_argument("body must be an object", "invalid_sip_account"));
        }
        auto existing = accounts_.find(account.username);
        if (!existing.is_ok() && existing.status().code() != "sip_account_not_found") {
          return Response::error(existing.status());
        }
        const bool exists_here = existing.is_ok() && existing->org_id == org;
        if (existing.is_ok() && !exists_here) {
          return Response::error(already_exists("SIP username " + account.username + " is taken", "sip_account_taken"));
        }
        const auto agent = body->find("agent_id");
        if (agent != body->end() && agent->is_string() && !agent->get<std::string>().empty() &&
            agent->get<std::string>().size() <= kMaxAgentIdLength) {
          account.agent_id = agent->get<std::string>();
        } else if (agent == body->end() && exists_here) {
          account.agent_id = existing->agent_id;
        } else {
          return Response::error(
              invalid_argument("agent_id must be a non-empty string (max 128)", "invalid_sip_account"));
        }
        const auto enabled = body->find("enabled");
        if (enabled != body->end() && !enabled->is_boolean()) {
          return Response::error(invalid_argument("enabled must be a boolean", "invalid_sip_account"));
        }
        account.enabled = enabled != body->end() ? enabled->get<bool>() : (exists_here ? existing->enabled : true);
        const auto password = body->find("password");
        if (password != body->end()) {
          if (!password->is_string()) {
            return Response::error(invalid_argument("password must be a string", "invalid_sip_password"));
          }
          if (Status set = set_sip_password(account, realm_, password->get_ref<const std::string&>()); !set.is_ok()) {
            return Response::error(set);
          }
        } else if (exists_here) {
          account.realm = existing->realm;
          account.ha1_md5 = existing->ha1_md5;
          account.ha1_sha256 = existing->ha1_sha256;
        } else {
          return Response::error(invalid_argument("password is required for a new account", "sip_password_required"));
        }
        auto created = accounts_.upsert(account);
        if (!created.is_ok()) return Response::error(created.status());
        logger().info(*created ? "sip account created" : "sip account updated",
                      {{"user.name", account.username},
                       {"organization.id", org},
                       {"vontres.agent.id", account.agent_id},
                       {"vontres.sip.password_changed", password != body->end()},
                       {"vontres.sip.enabled", account.enabled}});
        const bool revoked =
            exists_here && ((existing->enabled && !account.enabled) || existing->agent_id != account.agent_id);
        if (revoked && on_revoked_) on_revoked_(account.username);
        auto stored = accounts_.find(account.username);
        if (!stored.is_ok()) return Response::error(stored.status());
        return Response::json(*created ? 201 : 200, to_json(*stored));
      });
  // agent_id and password are required for a new account only, which the handler checks; the
  // password's policy (validate_sip_password) is the handler's too: the schema only bounds it.
  router.set_body_schema(Method::kPut, "/api/v1/sip-accounts/{username}",
                         {{"type", "object"},
                          {"properties",
                           {{"agent_id", {{"type", "string"}, {"minLength", 1}, {"maxLength", kMaxAgentIdLength}}},
                            {"enabled", {{"type", "boolean"}}},
                            {"password", {{"type", "string"}, {"maxLength", 1024}}}}},
                          {"additionalProperties", false}});

  router.add(Method::kGet, "/api/v1/sip-accounts", opts("agents.read", "List SIP accounts"), [this](Request& req) {
    auto accounts = accounts_.list(req.principal->org_id);
    if (!accounts.is_ok()) return Response::error(accounts.status());
    json out = json::array();
    for (const auto& account : *accounts) out.push_back(to_json(account));
    return Response::json(200, {{"sip_accounts", out}});
  });

  router.add(
      Method::kDelete, "/api/v1/sip-accounts/{username}", opts("agents.write", "Delete a SIP account"),
      [this](Request& req) {
        const std::string& username = req.path_params.at("username");
        Status removed = accounts_.remove(req.principal->org_id, username);
        if (!removed.is_ok()) return Response::error(removed);
        if (on_revoked_) on_revoked_(username);
        logger().info("sip account deleted", {{"user.name", username}, {"organization.id", req.principal->org_id}});
        return Response::no_content();
      });
}

}  // namespace vontres::telephony::registrar
