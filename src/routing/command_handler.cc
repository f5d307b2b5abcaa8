#include "routing/command_handler.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "routing/service.h"

namespace vontres::routing {

namespace {

using nlohmann::json;

constexpr size_t kSeenWindow = 65'536;  // command ids remembered for de-duplication

// Refusals that mean "this already happened": a redelivered or repeated command.
bool already_done(const Status& s) {
  const std::string_view code = s.code();
  return code == "call_exists" || code == "call_not_found" || code == "offer_not_found" || code == "invalid_state";
}

// Enqueue refusals the engine answers without an event of its own (queue_full and queue_empty
// emit route.rejected themselves).
bool silent_refusal(const Status& s) {
  const std::string_view code = s.code();
  return code == "queue_not_found" || code == "no_queue_for_call" || code == "invalid_call";
}

}  // namespace

RoutingCommandHandler::RoutingCommandHandler(bus::EventBus& bus, RoutingService& routing, std::string topic,
                                             std::string events_topic)
    : bus_(bus), routing_(routing), topic_(std::move(topic)), events_topic_(std::move(events_topic)) {}

RoutingCommandHandler::~RoutingCommandHandler() { stop(); }

Status RoutingCommandHandler::start() {
  if (running_) return Status::ok();
  bus::ConsumerOptions options;
  options.from_beginning = true;  // commands sent before the routing process joined still count
  VONTRES_ASSIGN_OR_RETURN(consumer_, bus_.subscribe({topic_}, "routing", options));
  running_ = true;
  thread_ = std::thread([this] { loop(); });
  return Status::ok();
}

void RoutingCommandHandler::stop() {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
  consumer_.reset();
}

void RoutingCommandHandler::loop() {
  while (running_) {
    auto deliveries = consumer_->poll(64, std::chrono::milliseconds(100));
    if (!deliveries.is_ok()) continue;
    for (const auto& delivery : *deliveries) {
      Status handled = handle(delivery.event);
      if (handled.kind() == ErrorKind::kUnavailable) {
        (void)consumer_->nack(delivery);
        continue;
      }
      if (!handled.is_ok()) {
        log_.error("routing command dropped",
                   {{"type", delivery.event.type}, {"event.id", delivery.event.id}, {"error", handled.to_string()}});
      }
      (void)consumer_->ack(delivery);
    }
  }
}

bool RoutingCommandHandler::seen(const std::string& id) {
  std::lock_guard lock(seen_mu_);
  return seen_.contains(id);
}

void RoutingCommandHandler::remember(const std::string& id) {
  if (id.empty()) return;
  std::lock_guard lock(seen_mu_);
  if (!seen_.insert(id).second) return;
  seen_order_.push_back(id);
  if (seen_order_.size() > kSeenWindow) {
    seen_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
}

Status RoutingCommandHandler::handle(const bus::Event& command) {
  if (!command.id.empty() && seen(command.id)) return Status::ok();
  Status s = apply(command);
  if (s.kind() != ErrorKind::kUnavailable) remember(command.id);
  return s;
}

Status RoutingCommandHandler::apply(const bus::Event& command) {
  json j = json::parse(command.payload, nullptr, false);
  if (!j.is_object()) return invalid_argument("routing command is not a JSON object", "invalid_command");
  const OrgId org(j.value("org_id", ""));
  const CallId call(j.value("call_id", ""));
  const AgentId agent(j.value("agent_id", ""));
  const std::string& type = command.type;
  Status s = Status::ok();
  if (type == kEnqueue) {
    CallRequest request;
    request.id = call;
    request.org = org;
    if (j.contains("queue") && j["queue"].is_string()) request.queue = QueueId(j["queue"].get<std::string>());
    request.intent = j.value("intent", "");
    request.language = j.value("language", "");
    request.customer_tier = j.value("customer_tier", "");
    request.sentiment = j.value("sentiment", 0.0);
    request.priority = j.value("priority", 0);
    for (const auto& skill : j.value("required_skills", json::array())) {
      request.required_skills.push_back({skill.value("skill", ""), skill.value("min_proficiency", 1)});
    }
    if (j.contains("attributes") && j["attributes"].is_object()) {
      for (const auto& [k, v] : j["attributes"].items()) {
        if (v.is_string()) request.attributes[k] = v.get<std::string>();
      }
    }
    auto placed = routing_.run([&](Engine& engine) { return engine.enqueue_call(request); });
    s = placed.is_ok() ? Status::ok() : placed.status();
    if (!s.is_ok() && silent_refusal(s)) {
      bus::Event rejected;
      rejected.topic = events_topic_;
      rejected.key = call.str();
      rejected.type = "route.rejected";
      rejected.headers["org_id"] = org.str();
      rejected.payload = json{{"type", "route.rejected"},
                              {"call_id", call.str()},
                              {"org_id", org.str()},
                              {"reason", std::string(s.code())}}
                             .dump();
      auto published = bus_.publish(std::move(rejected), std::chrono::seconds(2));
      if (!published.is_ok()) return published.status();  // redelivered: the caller must hear
      return Status::ok();
    }
  } else if (type == kCancel) {
    s = routing_.run([&](Engine& engine) { return engine.cancel_call(call, j.value("reason", "")); });
  } else if (type == kAcceptOffer) {
    s = routing_.run([&](Engine& engine) { return engine.accept_offer(call, agent); });
  } else if (type == kDeclineOffer) {
    s = routing_.run([&](Engine& engine) { return engine.decline_offer(call, agent, j.value("reason", "")); });
  } else if (type == kCallEnded) {
    s = routing_.run([&](Engine& engine) { return engine.call_ended(call); });
  } else if (type == kRequestCallback) {
    s = routing_.run([&](Engine& engine) { return engine.request_callback(call); });
  } else if (type == kAgentPhone) {
    const bool registered = j.value("registered", false);
    s = routing_.run([&](Engine& engine) {
      return engine.set_presence(org, agent, registered ? Presence::kAvailable : Presence::kOffline,
                                 registered ? "" : "phone_unregistered");
    });
  } else {
    return invalid_argument("unknown routing command '" + type + "'", "invalid_command");
  }
  if (s.is_ok() || already_done(s)) return Status::ok();
  // The engine (in memory, so never "try again later": queue_empty is a verdict) refused the
  // command for a reason of its own (not found, full, not in that state): the refused the command for a reason of its
  // own (not found, not in that state): the same as in one process, where the caller logs and goes on.
  log_.info("routing command refused", {{"type", type}, {"call_id", call.str()}, {"code", std::string(s.code())}});
  return Status::ok();
}

}  // namespace vontres::routing
