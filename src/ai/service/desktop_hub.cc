#include "ai/service/desktop_hub.h"

#include <utility>

namespace vontres::ai::service {

using nlohmann::json;

class DesktopHub::StreamSession final : public api::WebSocketSession {
 public:
  StreamSession(DesktopHub& hub, uint64_t id) : hub_(hub), id_(id) {}
  void on_message(std::string_view /*text*/) override {}
  void on_close() override { hub_.unsubscribe(id_); }

 private:
  DesktopHub& hub_;
  uint64_t id_;
};

void DesktopHub::register_routes(api::Router& router) {
  // The agent desktop's live feed. ?call_id=X: one call; ?agent_id=X: that agent's calls (an agent
  // may only ask for their own id, their user id); neither: every call of the organisation
  // (supervisors: calls.monitor).
  router.websocket(
      "/api/v1/ai/stream",
      api::route_options("ai", "", "Live AI events (transcript, sentiment, intent, suggestions, summaries)"),
      [this](api::Request& req, const std::shared_ptr<api::WebSocketConnection>& conn)
          -> Result<std::unique_ptr<api::WebSocketSession>> { return open(req, conn); });
}

Result<std::unique_ptr<api::WebSocketSession>> DesktopHub::open(const api::Request& req,
                                                                const std::shared_ptr<api::WebSocketConnection>& conn) {
  const api::Principal& who = *req.principal;
  const bool monitor = who.has_permission("calls.monitor");
  Subscriber sub;
  sub.org = who.org_id;
  if (auto it = req.query.find("call_id"); it != req.query.end()) sub.call_id = it->second;
  if (auto it = req.query.find("agent_id"); it != req.query.end()) sub.agent_id = it->second;
  if (!monitor) {
    if (!who.has_permission("calls.handle")) {
      return permission_denied("needs calls.handle or calls.monitor", "forbidden");
    }
    if (sub.agent_id.empty()) sub.agent_id = who.subject;
    if (sub.agent_id != who.subject || !sub.call_id.empty()) {
      return permission_denied("agents may only follow their own calls (agent_id = their user id)", "forbidden");
    }
  }
  sub.connection = conn;
  std::lock_guard lock(mutex_);
  sub.id = next_subscriber_++;
  const uint64_t id = sub.id;
  subscribers_.push_back(std::move(sub));
  conn->send_text(json{{"type", "ai.subscribed"}, {"data", {{"subscription", id}}}}.dump());
  return std::unique_ptr<api::WebSocketSession>(std::make_unique<StreamSession>(*this, id));
}

void DesktopHub::fan_out(const HubCall& call, const std::string& type, const json& data, bool agents_only) {
  const std::string message = json{{"type", type}, {"data", data}}.dump();
  const std::string for_agent = data.value("for_agent", std::string());
  std::lock_guard lock(mutex_);
  for (const auto& sub : subscribers_) {
    if (sub.org != call.org) continue;
    if (agents_only && sub.agent_id.empty()) continue;
    bool match = false;
    if (!sub.call_id.empty()) {
      match = sub.call_id == call.id;
    } else if (!sub.agent_id.empty()) {
      match = (!for_agent.empty() ? for_agent == sub.agent_id : call.agent == sub.agent_id);
    } else {
      match = true;  // supervisor: every call of the organisation
    }
    if (!match) continue;
    if (auto conn = sub.connection.lock()) conn->send_text(message);
  }
}

void DesktopHub::close_all(const std::string& reason) {
  std::lock_guard lock(mutex_);
  for (auto& sub : subscribers_) {
    if (auto conn = sub.connection.lock()) conn->close(reason);
  }
}

void DesktopHub::unsubscribe(uint64_t id) {
  std::lock_guard lock(mutex_);
  subscribers_.remove_if([id](const Subscriber& s) { return s.id == id; });
}

}  // namespace vontres::ai::service
