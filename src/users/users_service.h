// The users service (issue 3): organisations, users, roles and permissions, teams, agent
// profiles, API keys; login with argon2id passwords, short-lived JWT access tokens and rotating
// refresh tokens; the api::Authenticator of the HTTP server; an audit trail of security events.
// Every route is scoped to the caller's organisation; other organisations' objects answer 404.
//
// Wiring (app/): store.migrate(UsersService::migrations()) (create() also does it, idempotently),
// then create(), then register_routes(router) before the server starts, and hand authenticator()
// to the HttpServer. The Store, Cache, Clock and IdGenerator must outlive the service.
//
// Thread-safety: after register_routes(), every method may be called from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/http.h"
#include "bus/event_bus.h"
#include "cache/cache.h"
#include "core/audit.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"
#include "users/model.h"
#include "users/openapi.h"

namespace vontres::users {

namespace detail {
class UsersCore;
class TokenAuthenticator;
}  // namespace detail

class UsersService {
 public:
  // Loads or creates the JWT key (see users/jwt.h; HS256's secret file defaults to
  // <data_dir>/jwt-secret), applies the migrations and refills the Cache's revocation list from
  // the Store. Errors: "jwt_config_invalid", "jwt_key_unreadable", Store errors.
  static Result<std::unique_ptr<UsersService>> create(const AuthConfig& config, const std::string& data_dir,
                                                      store::Store& store, cache::Cache& cache, const Clock& clock,
                                                      IdGenerator& ids);
  // The schema, component "users".
  static std::vector<store::Migration> migrations();

  ~UsersService();
  UsersService(const UsersService&) = delete;
  UsersService& operator=(const UsersService&) = delete;

  // Adds the /api/v1/auth, users, roles, teams, api-keys, audit routes and GET
  // /api/v1/openapi.json, which describes every route of `router` at request time (so routes
  // other services add later are included). `router` must outlive the service's use of it.
  void register_routes(api::Router& router);

  // Establishes Principals for the HTTP server (Bearer JWT or ApiKey; WebSocket forms too).
  api::Authenticator& authenticator();

  // Publishes user lifecycle events (users/events.h: deactivated, reactivated, deleted) on `bus`
  // from now on. Call before register_routes(); `bus` must outlive the service.
  void set_event_bus(bus::EventBus& bus);

  // Whether `user_id` is an active user of `org_id`; nullopt when there is no such user. For the
  // registrar's check of a SIP account's agent (wired in app/). Errors: Store errors.
  Result<std::optional<bool>> user_active(const std::string& org_id, const std::string& user_id);

  // Used by create_admin and tests.
  detail::UsersCore& core();

  // Every organisation of the deployment (deployment-wide settings only, never a tenant's request).
  Result<std::vector<Organisation>> organisations();

  // The audit trail for other services' changes (stored with this service's security events).
  AuditSink& audit_sink();

  // Use create(). The key keeps construction going through it.
  class ConstructionKey {
    friend class UsersService;
    ConstructionKey() = default;
  };
  UsersService(ConstructionKey, std::unique_ptr<detail::UsersCore> core);

 private:
  std::unique_ptr<detail::UsersCore> core_;
  std::unique_ptr<detail::TokenAuthenticator> authenticator_;
  std::unique_ptr<AuditSink> audit_sink_;
};

// `vontres users create-admin`: creates organisation `org_name` if it does not exist and an admin
// user in it. The password must meet auth.password_min_length. Errors: "email_taken",
// "invalid_email", "password_too_short", "password_too_long", Store errors.
Status create_admin(UsersService& service, const std::string& org_name, const std::string& email,
                    const std::string& password);

}  // namespace vontres::users
