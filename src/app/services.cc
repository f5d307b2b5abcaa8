#include "app/services.h"

#include "ai/service/ai_service.h"
#include "gateway/desktop_gateway.h"
#include "routing/acd_client.h"
#include "routing/command_handler.h"
#include "routing/service.h"
#include "telephony/call_service.h"
#include "telephony/registrar/accounts.h"
#include "users/users_service.h"

namespace vontres::app {

namespace {

// The registrar asks the users service whether a SIP account's agent is still active: an agent id
// is a user id; one the users service does not know is an ACD-only agent and not its to refuse.
class UsersAgentDirectory final : public telephony::registrar::AgentDirectory {
 public:
  explicit UsersAgentDirectory(users::UsersService& users) : users_(users) {}
  Result<Standing> standing(std::string_view org_id, std::string_view agent_id) override {
    VONTRES_ASSIGN_OR_RETURN(std::optional<bool> active,
                             users_.user_active(std::string(org_id), std::string(agent_id)));
    if (!active) return Standing::kUnknown;
    return *active ? Standing::kActive : Standing::kInactive;
  }

 private:
  users::UsersService& users_;
};

}  // namespace

Services::~Services() { stop(); }

std::vector<store::Migration> Services::migrations() {
  std::vector<store::Migration> all;
  for (auto& m : users::UsersService::migrations()) all.push_back(std::move(m));
  for (auto& m : routing::RoutingService::migrations()) all.push_back(std::move(m));
  for (auto& m : telephony::CallService::migrations()) all.push_back(std::move(m));
  for (auto& m : ai::service::AiService::migrations()) all.push_back(std::move(m));
  return all;
}

Result<std::unique_ptr<Services>> Services::start(const Config& config, Platform& platform, Clock& clock,
                                                  IdGenerator& ids, api::Router& router,
                                                  prometheus::Registry* metrics) {
  VONTRES_RETURN_IF_ERROR(platform.store->migrate(migrations()));
  auto services =
      std::unique_ptr<Services>(new Services());  // NOLINT(cppcoreguidelines-owning-memory): private constructor
  VONTRES_ASSIGN_OR_RETURN(services->users_, users::UsersService::create(config.auth, config.data_dir, *platform.store,
                                                                         *platform.cache, clock, ids));
  // Deactivations and deletions reach the SIP accounts and the ACD as "users.events".
  services->users_->set_event_bus(*platform.bus);
  if (config.runs("api")) services->users_->register_routes(router);

  if (config.runs("routing")) {
    routing::RoutingServiceOptions routing_options = routing::options_from_config(config.routing);
    routing_options.metrics = metrics;
    services->routing_ =
        std::make_unique<routing::RoutingService>(clock, *platform.bus, *platform.store, std::move(routing_options));
    VONTRES_RETURN_IF_ERROR(services->routing_->start());
    services->routing_->register_routes(router);
    services->routing_->start_timer();
    // Call hosts elsewhere (or this one, over the bus) send their commands on routing.commands.
    if (config.acd_over_bus() || !config.runs("telephony")) {
      services->routing_commands_ =
          std::make_unique<routing::RoutingCommandHandler>(*platform.bus, *services->routing_);
      VONTRES_RETURN_IF_ERROR(services->routing_commands_->start());
    }
    VONTRES_RETURN_IF_ERROR(services->routing_->follow_user_events("routing-" + config.effective_node_id()));
  }
  if (config.runs("telephony")) {
    if (config.acd_over_bus()) {
      routing::BusAcdClientOptions acd_options;
      acd_options.source_node = config.effective_node_id();
      services->acd_ = std::make_unique<routing::BusAcdClient>(*platform.bus, *platform.store, std::move(acd_options));
    } else {
      services->acd_ = std::make_unique<routing::InProcessAcdClient>(*services->routing_);
    }
  }

  if (config.ai.enabled && config.runs("ai")) {
    ai::service::AiServiceOptions options;
    options.ai = config.ai;
    for (const auto& option : config.telephony.ivr_options) {
      for (const auto& phrase : option.phrases) options.ivr_phrases.push_back(phrase);
    }
    options.knowledge_dir =
        config.ai.knowledge_dir.empty() ? ai::service::default_share_dir("knowledge") : config.ai.knowledge_dir;
    if (!config.ai.intent_examples_file.empty()) {
      options.intent_examples_file = config.ai.intent_examples_file;
    } else if (auto dir = ai::service::default_share_dir("intents"); !dir.empty()) {
      options.intent_examples_file = dir + "/examples.csv";
    }
    options.node_id = config.effective_node_id();
    options.metrics = metrics;
    options.audit = &services->users_->audit_sink();
    VONTRES_ASSIGN_OR_RETURN(services->ai_,
                             ai::service::AiService::create(clock, *platform.bus, *platform.store, std::move(options)));
    services->ai_->register_routes(router);
  }
  if (config.telephony.enabled && config.runs("telephony")) {
    telephony::CallServiceOptions options;
    options.telephony = config.telephony;
    options.data_dir = config.data_dir;
    options.prompts_dir =
        config.telephony.prompts_dir.empty() ? telephony::default_prompts_dir() : config.telephony.prompts_dir;
    options.metrics = metrics;
    options.node_id = config.effective_node_id();
    options.state = platform.state.get();
    options.state_shared = config.state.backend != "in_process";
    services->agents_ = std::make_unique<UsersAgentDirectory>(*services->users_);
    options.agents = services->agents_.get();
    options.organisations =
        [users = services->users_.get()]() -> Result<std::vector<telephony::CallServiceOptions::Organisation>> {
      VONTRES_ASSIGN_OR_RETURN(auto orgs, users->organisations());
      std::vector<telephony::CallServiceOptions::Organisation> out;
      out.reserve(orgs.size());
      for (auto& org : orgs) out.push_back({std::move(org.id), std::move(org.name)});
      return out;
    };
    services->telephony_ = std::make_unique<telephony::CallService>(clock, *platform.bus, *platform.store,
                                                                    *services->acd_, std::move(options));
    services->telephony_->register_routes(router);
    if (services->ai_) {
      services->telephony_->set_media_tap(services->ai_.get());
      services->ai_->attach(services->telephony_.get());
    }
    VONTRES_RETURN_IF_ERROR(services->telephony_->start());
  }
  if (services->ai_) VONTRES_RETURN_IF_ERROR(services->ai_->start());
  if (config.gateway.enabled && config.runs("api")) {
    gateway::DesktopGatewayOptions options;
    options.topics = config.gateway.topic_list();
    options.log.retained_per_org = config.gateway.retained_per_org;
    options.log.max_retained = config.gateway.max_retained;
    options.log.retention = config.gateway.retention;
    options.log.dedup_window = config.gateway.dedup_window;
    options.client_queue = config.gateway.client_queue;
    options.max_clients = config.gateway.max_clients;
    options.metrics = metrics;
    services->gateway_ =
        std::make_unique<gateway::DesktopGateway>(clock, *platform.bus, config.effective_node_id(), std::move(options));
    services->gateway_->register_routes(router);
    VONTRES_RETURN_IF_ERROR(services->gateway_->start());
  }
  return services;
}

api::Authenticator* Services::authenticator() { return &users_->authenticator(); }

void Services::stop() {
  if (gateway_) gateway_->stop();
  if (telephony_) telephony_->stop();
  if (ai_) ai_->stop();
  if (routing_commands_) routing_commands_->stop();
  if (routing_) {
    routing_->stop_following_user_events();
    routing_->stop_timer();
  }
}

}  // namespace vontres::app
