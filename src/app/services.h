// The services of one `vontres serve` process, created on the Platform's backends and registered
// on the Router. This is where a new service (telephony, routing, AI, analytics) is added.
#pragma once

#include <memory>
#include <vector>

#include "api/http.h"
#include "app/platform.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace vontres::users {
class UsersService;
}

namespace vontres::app {

class Services {
 public:
  // Applies every service's migrations, creates the services and registers their routes.
  static Result<std::unique_ptr<Services>> start(const Config& config, Platform& platform, const Clock& clock,
                                                 IdGenerator& ids, api::Router& router);
  // Every service's schema, in the order they are applied.
  static std::vector<store::Migration> migrations();

  ~Services();
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;

  api::Authenticator* authenticator();
  users::UsersService& users() { return *users_; }
  // Stops background work; call after the HTTP server has drained.
  void stop();

 private:
  Services() = default;
  std::unique_ptr<users::UsersService> users_;
};

}  // namespace vontres::app
