#include "gateway/desktop_gateway.h"

#include <utility>

#include <nlohmann/json.hpp>

namespace vontres::gateway {

using nlohmann::json;

// One connected desktop; the server calls it one callback at a time.
class DesktopGateway::Session final : public api::WebSocketSession {
 public:
  Session(DesktopGateway& gateway, uint64_t id) : gateway_(gateway), id_(id) {}
  void on_message(std::string_view /*text*/) override {}  // the feed is one-way
  void on_close() override { gateway_.disconnect(id_); }

 private:
  DesktopGateway& gateway_;
  uint64_t id_;
};

DesktopGateway::DesktopGateway(const Clock& clock, bus::EventBus& bus, std::string node_id,
                               DesktopGatewayOptions options)
    : clock_(clock),
      bus_(bus),
      node_id_(std::move(node_id)),
      group_(consumer_group(node_id_)),
      options_(std::move(options)),
      events_(clock_, options_.log) {
  init_metrics();
}

DesktopGateway::~DesktopGateway() { stop(); }

std::string DesktopGateway::consumer_group(const std::string& node_id) { return "gateway." + node_id; }

Status DesktopGateway::subscribe() {
  if (consumer_) return Status::ok();
  VONTRES_ASSIGN_OR_RETURN(consumer_, bus_.subscribe(options_.topics, group_));
  return Status::ok();
}

Status DesktopGateway::start() {
  VONTRES_RETURN_IF_ERROR(subscribe());
  if (running_.exchange(true)) return Status::ok();
  consumer_thread_ = std::thread([this] { consume_loop(); });
  std::string topics;
  for (const auto& t : options_.topics) topics += (topics.empty() ? "" : ",") + t;
  logger_.info("desktop gateway started",
               {{"vontres.node_id", node_id_}, {"vontres.group", group_}, {"vontres.topics", topics}});
  return Status::ok();
}

void DesktopGateway::stop() {
  if (running_.exchange(false) && consumer_thread_.joinable()) consumer_thread_.join();
  std::list<Client> gone;
  {
    std::lock_guard lock(mu_);
    gone.swap(clients_);
    clients_gauge_->Set(0);
  }
  for (auto& client : gone) {
    if (auto connection = client.connection.lock()) connection->close("server shutting down");
  }
  consumer_.reset();  // leaves the group: unacknowledged deliveries go back to it
}

void DesktopGateway::consume_loop() {
  while (running_) {
    auto pumped = pump(options_.poll_timeout);
    if (!pumped.is_ok()) {
      logger_.warn("bus events not polled",
                   {{"error.code", std::string(pumped.status().code())}, {"error.message", pumped.status().message()}});
      std::this_thread::sleep_for(options_.poll_timeout);
    }
  }
}

Result<size_t> DesktopGateway::pump(std::chrono::milliseconds timeout) {
  if (!consumer_) return failed_precondition("the gateway has not joined its consumer group", "not_subscribed");
  VONTRES_ASSIGN_OR_RETURN(auto deliveries, consumer_->poll(128, timeout));
  for (const auto& delivery : deliveries) {
    (void)ingest(delivery.event);
    // Retained (or deliberately not): the group need not see it again.
    Status acked = consumer_->ack(delivery);
    if (!acked.is_ok()) logger_.warn("delivery not acknowledged", {{"error.code", std::string(acked.code())}});
  }
  return deliveries.size();
}

Accepted DesktopGateway::ingest(const bus::Event& event) {
  std::lock_guard lock(mu_);
  const EventLog::Outcome outcome = events_.append(event);
  events_family_->Add({{"outcome", std::string(accepted_name(outcome.accepted))}}).Increment();
  if (outcome.accepted != Accepted::kNew) return outcome.accepted;
  const DesktopEvent& retained = *outcome.event;
  for (auto it = clients_.begin(); it != clients_.end();) {
    if (visible_to(retained, it->audience) && !push_locked(*it, retained.message, true)) {
      it = clients_.erase(it);
    } else {
      ++it;
    }
  }
  clients_gauge_->Set(static_cast<double>(clients_.size()));
  return Accepted::kNew;
}

bool DesktopGateway::push_locked(Client& client, const std::string& frame, bool is_event) {
  auto connection = client.connection.lock();
  if (!connection) return false;
  if (connection->queued_messages() >= options_.client_queue) {
    dropped_slow_->Increment();
    logger_.info("desktop client dropped: too slow",
                 {{"vontres.client", std::to_string(client.id)}, {"organization.id", client.audience.org_id}});
    connection->close_with(api::WebSocketConnection::kCloseTryAgainLater, "slow_consumer");
    return false;
  }
  connection->send_text(frame);
  if (is_event) pushed_->Increment();
  return true;
}

Result<Audience> DesktopGateway::audience_of(const api::Principal& principal) {
  Audience audience;
  audience.org_id = principal.org_id;
  audience.whole_organisation = principal.has_permission("calls.monitor");
  if (principal.has_permission("calls.handle")) audience.agent_id = principal.subject;
  if (!audience.whole_organisation && audience.agent_id.empty()) {
    return permission_denied("needs calls.monitor (the organisation) or calls.handle (own calls)", "forbidden");
  }
  if (audience.org_id.empty()) return permission_denied("the principal has no organisation", "forbidden");
  return audience;
}

Result<std::unique_ptr<api::WebSocketSession>> DesktopGateway::connect(
    const Audience& audience, const std::optional<std::string>& since,
    const std::shared_ptr<api::WebSocketConnection>& connection) {
  std::lock_guard lock(mu_);
  if (clients_.size() >= options_.max_clients) {
    return unavailable("too many desktop clients on this node", "too_many_clients");
  }
  Client& client = clients_.emplace_back();
  client.id = next_client_++;
  client.audience = audience;
  client.connection = connection;
  // Replay and registration happen under one lock, so no event falls between them or comes twice.
  size_t replayed = 0;
  bool ok = true;
  if (since) {
    std::optional<std::vector<const DesktopEvent*>> missed;
    if (auto after = events_.after(audience.org_id, *since)) {
      missed.emplace();
      for (const DesktopEvent* e : *after) {
        if (visible_to(*e, audience)) missed->push_back(e);
      }
      if (missed->size() >= options_.client_queue) missed.reset();  // more than one queue behind
    }
    if (!missed) {
      ok = push_locked(client, json{{"type", "gateway.resync_required"}}.dump(), false);
    } else {
      for (const DesktopEvent* e : *missed) {
        if (!(ok = push_locked(client, e->message, true))) break;
        ++replayed;
      }
    }
  }
  if (ok) ok = push_locked(client, json{{"type", "gateway.live"}, {"data", {{"replayed", replayed}}}}.dump(), false);
  const uint64_t id = client.id;
  if (!ok) clients_.pop_back();
  clients_gauge_->Set(static_cast<double>(clients_.size()));
  return std::unique_ptr<api::WebSocketSession>(std::make_unique<Session>(*this, id));
}

void DesktopGateway::disconnect(uint64_t id) {
  std::lock_guard lock(mu_);
  clients_.remove_if([id](const Client& c) { return c.id == id; });
  clients_gauge_->Set(static_cast<double>(clients_.size()));
}

size_t DesktopGateway::clients() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

void DesktopGateway::register_routes(api::Router& router) {
  api::RouteOptions options =
      api::route_options("gateway", "",
                         "Live desktop events (calls, routing, AI) of the caller's organisation, or an agent's own; "
                         "?since=<event id> resumes");
  options.error_codes = {"forbidden", "too_many_clients"};
  router.websocket("/api/v1/events", std::move(options),
                   [this](api::Request& request, const std::shared_ptr<api::WebSocketConnection>& connection)
                       -> Result<std::unique_ptr<api::WebSocketSession>> {
                     VONTRES_ASSIGN_OR_RETURN(Audience audience, audience_of(*request.principal));
                     std::optional<std::string> since;
                     if (auto it = request.query.find("since"); it != request.query.end() && !it->second.empty()) {
                       since = it->second;
                     }
                     return connect(audience, since, connection);
                   });
}

void DesktopGateway::init_metrics() {
  if (options_.metrics == nullptr) {
    own_metrics_ = std::make_unique<prometheus::Registry>();
    options_.metrics = own_metrics_.get();
  }
  auto& registry = *options_.metrics;
  clients_gauge_ = &prometheus::BuildGauge()
                        .Name("vontres_gateway_clients")
                        .Help("Desktop WebSocket clients connected to /api/v1/events")
                        .Register(registry)
                        .Add({});
  events_family_ = &prometheus::BuildCounter()
                        .Name("vontres_gateway_events_total")
                        .Help("Bus events seen by the desktop gateway, by outcome")
                        .Register(registry);
  pushed_ = &prometheus::BuildCounter()
                 .Name("vontres_gateway_pushed_total")
                 .Help("Frames pushed to desktop clients (live and replayed)")
                 .Register(registry)
                 .Add({});
  dropped_slow_ = &prometheus::BuildCounter()
                       .Name("vontres_gateway_clients_dropped_total")
                       .Help("Desktop clients closed by the gateway")
                       .Register(registry)
                       .Add({{"reason", "slow_consumer"}});
}

}  // namespace vontres::gateway
