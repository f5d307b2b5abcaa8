// The services of one `vontres serve` process, created on the Platform's backends and registered
// on the Router. This is where a new service (telephony, routing, AI, analytics) is added.
#pragma once

#include <memory>
#include <vector>

#include <prometheus/registry.h>

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
namespace vontres::routing {
class AcdClient;
class RoutingCommandHandler;
class RoutingService;
}  // namespace vontres::routing
namespace vontres::telephony {
class CallService;
namespace registrar {
class AgentDirectory;
}
}  // namespace vontres::telephony
namespace vontres::ai::service {
class AiService;
}

namespace vontres::app {

class Services {
 public:
  // Applies every service's migrations, creates the services, registers their routes and starts
  // their background work (the routing timer thread). Metrics go to `metrics` when given; it must
  // outlive the Services.
  // The call service (SIP, RTP) starts when config.telephony.enabled.
  static Result<std::unique_ptr<Services>> start(const Config& config, Platform& platform, Clock& clock,
                                                 IdGenerator& ids, api::Router& router,
                                                 prometheus::Registry* metrics = nullptr);
  // Every service's schema, in the order they are applied.
  static std::vector<store::Migration> migrations();

  ~Services();
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;

  api::Authenticator* authenticator();
  users::UsersService& users() { return *users_; }
  routing::RoutingService& routing() { return *routing_; }
  // Null when telephony is disabled.
  telephony::CallService* telephony() { return telephony_.get(); }
  // Null when the AI service is disabled.
  ai::service::AiService* ai() { return ai_.get(); }
  // Stops background work; call after the HTTP server has drained. Idempotent; the destructor
  // calls it too.
  void stop();

 private:
  Services() = default;
  std::unique_ptr<users::UsersService> users_;
  std::unique_ptr<routing::RoutingService> routing_;
  std::unique_ptr<routing::RoutingCommandHandler> routing_commands_;  // when routing.acd_client is "bus"
  std::unique_ptr<routing::AcdClient> acd_;                           // telephony's view of the ACD
  std::unique_ptr<ai::service::AiService> ai_;                        // declared before telephony_: destroyed after it
  std::unique_ptr<telephony::registrar::AgentDirectory> agents_;      // the registrar's view of users_
  std::unique_ptr<telephony::CallService> telephony_;
};

}  // namespace vontres::app
