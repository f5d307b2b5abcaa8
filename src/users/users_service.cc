#include "users/users_service.h"

#include "users/detail/authenticator.h"
#include "users/detail/core.h"
#include "users/detail/handlers.h"
#include "users/repository.h"

namespace vontres::users {
namespace {

class AuditLogSink final : public AuditSink {
 public:
  explicit AuditLogSink(AuditLog& log) : log_(log) {}
  void record(AuditRecord r) override {
    log_.record(security_event(std::move(r.action), std::move(r.org_id), std::move(r.actor_id), std::move(r.target_id),
                               std::move(r.remote_address), std::move(r.outcome), std::move(r.details)));
  }

 private:
  AuditLog& log_;
};

}  // namespace

Result<std::unique_ptr<UsersService>> UsersService::create(const AuthConfig& config, const std::string& data_dir,
                                                           store::Store& store, cache::Cache& cache, const Clock& clock,
                                                           IdGenerator& ids) {
  const std::string secret_path = config.jwt_secret_file.empty() ? data_dir + "/jwt-secret" : config.jwt_secret_file;
  VONTRES_ASSIGN_OR_RETURN(auto jwt, JwtCodec::create(config, secret_path, clock));
  VONTRES_RETURN_IF_ERROR(store.migrate(migrations()));
  auto core = std::make_unique<detail::UsersCore>(config, store, cache, clock, ids, std::move(jwt));
  VONTRES_RETURN_IF_ERROR(core->warm_revocations());
  return std::make_unique<UsersService>(ConstructionKey{}, std::move(core));
}

std::vector<store::Migration> UsersService::migrations() { return repo::migrations(); }

UsersService::UsersService(ConstructionKey, std::unique_ptr<detail::UsersCore> core)
    : core_(std::move(core)),
      authenticator_(std::make_unique<detail::TokenAuthenticator>(*core_)),
      audit_sink_(std::make_unique<AuditLogSink>(core_->audit())) {}

UsersService::~UsersService() = default;

void UsersService::register_routes(api::Router& router) {
  detail::register_auth_routes(router, *core_);
  detail::register_admin_routes(router, *core_);
  const api::Router* routes = &router;
  detail::add_route(router, api::Method::kGet, "/api/v1/openapi.json",
                    {.public_route = true, .permission = "", .summary = "This OpenAPI 3 document", .tag = "meta"},
                    {.request_body = nullptr,
                     .response = {{"type", "object"}},
                     .success_status = 200,
                     .error_codes = {},
                     .paginated = false},
                    [routes](api::Request&) {
                      // Built per request from the live table so routes added after ours appear too.
                      return api::Response::json(200, openapi_document(*routes));
                    });
}

api::Authenticator& UsersService::authenticator() { return *authenticator_; }

void UsersService::set_event_bus(bus::EventBus& bus) { core_->set_event_bus(&bus); }

Result<std::optional<bool>> UsersService::user_active(const std::string& org_id, const std::string& user_id) {
  VONTRES_ASSIGN_OR_RETURN(auto user, repo::find_user(core_->store(), org_id, user_id));
  if (!user) return std::optional<bool>();
  return std::optional<bool>(user->active);
}

detail::UsersCore& UsersService::core() { return *core_; }

AuditSink& UsersService::audit_sink() { return *audit_sink_; }

Result<std::vector<Organisation>> UsersService::organisations() { return repo::list_orgs(core_->store()); }

Status create_admin(UsersService& service, const std::string& org_name, const std::string& email,
                    const std::string& password) {
  return service.core().create_admin(org_name, email, password);
}

}  // namespace vontres::users
