#include "telephony/node_sweeper.h"

#include <nlohmann/json.hpp>

namespace vontres::telephony {

using nlohmann::json;

Status NodeSweeper::heartbeat() {
  return state_.set(options_.key_prefix + options_.node_id, "alive", options_.heartbeat_ttl);
}

Status NodeSweeper::withdraw() {
  auto erased = state_.erase(options_.key_prefix + options_.node_id);
  return erased.is_ok() ? Status::ok() : erased.status();
}

Result<bool> NodeSweeper::alive(const std::string& node) {
  VONTRES_ASSIGN_OR_RETURN(auto value, state_.get(options_.key_prefix + node));
  return value.has_value();
}

Result<int> NodeSweeper::sweep() {
  if (!options_.sweep_others) return 0;
  VONTRES_ASSIGN_OR_RETURN(auto owners, records_.open_call_owners());
  int closed = 0;
  for (const auto& owner : owners) {
    if (owner.empty() || owner == options_.node_id) continue;
    VONTRES_ASSIGN_OR_RETURN(bool live, alive(owner));
    if (live) continue;
    log_.warn("node lost: its heartbeat lapsed; ending its calls", {{"node", owner}});
    VONTRES_ASSIGN_OR_RETURN(int n, close_calls_of(owner));
    closed += n;
  }
  return closed;
}

Result<int> NodeSweeper::close_calls_of(const std::string& node) {
  VONTRES_ASSIGN_OR_RETURN(auto open, records_.open_calls(node));
  int closed = 0;
  for (const auto& call : open) {
    VONTRES_ASSIGN_OR_RETURN(auto record, records_.close_lost(call.id));
    if (!record) continue;  // someone else ended it first
    ++closed;
    json data = {{"call_id", call.id},          {"reason", "node_lost"}, {"phase", "ended"},
                 {"org_id", call.org},          {"owner_node", node},    {"at", record->value("ended_at", "")},
                 {"swept_by", options_.node_id}};
    if (auto q = record->value("queue", ""); !q.empty()) data["queue"] = q;
    if (auto a = record->value("agent", ""); !a.empty()) data["agent"] = a;
    bus::Event event;
    event.topic = options_.topic;
    event.key = call.id;
    event.type = "call.ended";
    if (!call.org.empty()) event.headers["org_id"] = call.org;
    event.payload = data.dump();
    auto published = bus_.publish(std::move(event), options_.publish_timeout);
    if (!published.is_ok()) {
      log_.error("call.ended of a lost call not published",
                 {{"call_id", call.id}, {"code", std::string(published.status().code())}});
    }
    if (acd_ != nullptr && !call.org.empty()) {
      Status told = acd_->call_ended(OrgId(call.org), CallId(call.id));
      if (!told.is_ok() && told.code() != "call_not_found") {
        log_.error("the ACD was not told a lost call ended",
                   {{"call_id", call.id}, {"code", std::string(told.code())}});
      }
    }
    log_.warn("call ended: its node was lost", {{"call_id", call.id}, {"node", node}});
  }
  return closed;
}

}  // namespace vontres::telephony
