#include "app/services.h"

#include "users/users_service.h"

namespace vontres::app {

Services::~Services() = default;

std::vector<store::Migration> Services::migrations() {
  std::vector<store::Migration> all;
  for (auto& m : users::UsersService::migrations()) all.push_back(std::move(m));
  return all;
}

Result<std::unique_ptr<Services>> Services::start(const Config& config, Platform& platform, const Clock& clock,
                                                  IdGenerator& ids, api::Router& router) {
  VONTRES_RETURN_IF_ERROR(platform.store->migrate(migrations()));
  auto services =
      std::unique_ptr<Services>(new Services());  // NOLINT(cppcoreguidelines-owning-memory): private constructor
  VONTRES_ASSIGN_OR_RETURN(services->users_, users::UsersService::create(config.auth, config.data_dir, *platform.store,
                                                                         *platform.cache, clock, ids));
  services->users_->register_routes(router);
  return services;
}

api::Authenticator* Services::authenticator() { return &users_->authenticator(); }

void Services::stop() {}

}  // namespace vontres::app
