#include "gateway/event_log.h"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

namespace vontres::gateway {
namespace {

using nlohmann::json;

std::string text_field(const json& payload, const char* name) {
  auto it = payload.find(name);
  return it != payload.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool leaves_by_agent_id(std::string_view type) {
  return type == "route.declined" || type == "route.timeout" || type == "route.rescinded";
}

bool ends_consultation(std::string_view type) {
  return type.starts_with("call.consult_") && (type.ends_with("_cancelled") || type.ends_with("_failed"));
}

void add_unique(std::vector<std::string>& out, const std::string& agent) {
  if (!agent.empty() && std::find(out.begin(), out.end(), agent) == out.end()) out.push_back(agent);
}

}  // namespace

bool visible_to(const DesktopEvent& event, const Audience& audience) {
  if (audience.org_id.empty() || event.org_id != audience.org_id) return false;
  if (audience.whole_organisation) return true;
  if (audience.agent_id.empty()) return false;
  return std::find(event.agents.begin(), event.agents.end(), audience.agent_id) != event.agents.end();
}

std::string_view accepted_name(Accepted accepted) {
  switch (accepted) {
    case Accepted::kNew: return "retained";
    case Accepted::kDuplicate: return "duplicate";
    case Accepted::kUnscoped: return "unscoped";
    case Accepted::kMalformed: return "malformed";
  }
  return "unknown";
}

EventLog::EventLog(const Clock& clock, EventLogOptions options) : clock_(clock), options_(options) {
  options_.retained_per_org = std::max<size_t>(1, options_.retained_per_org);
  options_.dedup_window = std::max<size_t>(1, options_.dedup_window);
  options_.tracked_calls = std::max<size_t>(1, options_.tracked_calls);
  options_.max_retained = std::max<size_t>(1, options_.max_retained);
}

EventLog::Outcome EventLog::append(const bus::Event& event) {
  if (event.id.empty()) return {Accepted::kMalformed};
  json payload = json::parse(event.payload, nullptr, false);
  if (!payload.is_object()) return {Accepted::kMalformed};
  // The organisation: header and payload must agree when both are there.
  std::string header_org;
  if (auto it = event.headers.find("org_id"); it != event.headers.end()) header_org = it->second;
  const std::string payload_org = text_field(payload, "org_id");
  if (!header_org.empty() && !payload_org.empty() && header_org != payload_org) return {Accepted::kUnscoped};
  const std::string org = header_org.empty() ? payload_org : header_org;
  if (org.empty()) return {Accepted::kUnscoped};
  // Duplicates are recognised only for events that could have been retained.
  if (!remember_id(event.id)) return {Accepted::kDuplicate};

  DesktopEvent out;
  out.id = event.id;
  out.topic = event.topic;
  out.type = event.type;
  out.ts_ms = event.timestamp_ms;
  out.org_id = org;
  out.call_id = text_field(payload, "call_id");
  out.received = clock_.now();

  const std::string for_agent = text_field(payload, "for_agent");
  const std::string agent = text_field(payload, "agent");
  const std::string agent_id = text_field(payload, "agent_id");
  const std::string to_agent = text_field(payload, "to_agent");
  const std::string from_agent = text_field(payload, "from_agent");
  const std::string consult_agent = text_field(payload, "consult_agent");
  if (!for_agent.empty()) {
    out.agents.push_back(for_agent);
  } else {
    for (const std::string* named : {&agent, &agent_id, &to_agent, &from_agent, &consult_agent}) {
      add_unique(out.agents, *named);
    }
  }
  if (!out.call_id.empty()) {
    // Call ids are only unique within an organisation's view; key the tracking by both.
    std::set<std::string>& on_call = call_agents(org + "\n" + out.call_id);
    for (const std::string* joining : {&agent, &to_agent, &consult_agent}) {
      if (!joining->empty()) on_call.insert(*joining);
    }
    if (!agent_id.empty() && !leaves_by_agent_id(event.type)) on_call.insert(agent_id);
    if (for_agent.empty()) {
      for (const auto& a : on_call) add_unique(out.agents, a);
    }
    if (event.type == "call.transferred" && !from_agent.empty()) on_call.erase(from_agent);
    if (leaves_by_agent_id(event.type) && !agent_id.empty()) on_call.erase(agent_id);
    if (ends_consultation(event.type) && !consult_agent.empty()) on_call.erase(consult_agent);
  }
  out.message =
      json{{"id", out.id}, {"topic", out.topic}, {"type", out.type}, {"ts", out.ts_ms}, {"data", payload}}.dump(
          -1, ' ', false, json::error_handler_t::replace);

  out.seq = next_seq_++;
  auto ring = orgs_.find(org);
  if (ring != orgs_.end() && !expire(ring)) ring = orgs_.end();
  if (ring == orgs_.end()) {
    ring = orgs_.emplace(org, std::deque<DesktopEvent>()).first;
    fronts_.emplace(out.seq, org);
  }
  ring->second.push_back(std::move(out));
  ++total_;
  while (ring->second.size() > options_.retained_per_org) pop_front(ring);
  // The new event is the newest of all, so it is never the one evicted (max_retained >= 1).
  while (total_ > options_.max_retained) pop_front(orgs_.find(fronts_.begin()->second));
  return {Accepted::kNew, &ring->second.back()};
}

std::optional<std::vector<const DesktopEvent*>> EventLog::after(const std::string& org_id,
                                                                const std::string& since_id) {
  auto it = orgs_.find(org_id);
  if (it == orgs_.end() || since_id.empty() || !expire(it)) return std::nullopt;
  const std::deque<DesktopEvent>& ring = it->second;
  auto found = std::find_if(ring.begin(), ring.end(), [&](const DesktopEvent& e) { return e.id == since_id; });
  if (found == ring.end()) return std::nullopt;
  std::vector<const DesktopEvent*> out;
  for (auto next = std::next(found); next != ring.end(); ++next) out.push_back(&*next);
  return out;
}

size_t EventLog::retained(const std::string& org_id) const {
  auto it = orgs_.find(org_id);
  return it == orgs_.end() ? 0 : it->second.size();
}

bool EventLog::expire(Rings::iterator org) {
  const TimePoint oldest = clock_.now() - options_.retention;
  while (org->second.front().received < oldest) {
    const bool last = org->second.size() == 1;
    pop_front(org);
    if (last) return false;
  }
  return true;
}

void EventLog::pop_front(Rings::iterator org) {
  std::deque<DesktopEvent>& ring = org->second;
  fronts_.erase({ring.front().seq, org->first});
  ring.pop_front();
  --total_;
  if (ring.empty()) {
    orgs_.erase(org);
  } else {
    fronts_.emplace(ring.front().seq, org->first);
  }
}

bool EventLog::remember_id(const std::string& id) {
  if (!seen_.insert(id).second) return false;
  seen_order_.push_back(id);
  while (seen_order_.size() > options_.dedup_window) {
    seen_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  return true;
}

std::set<std::string>& EventLog::call_agents(const std::string& call_key) {
  auto [it, inserted] = calls_.try_emplace(call_key);
  if (inserted) {
    calls_order_.push_back(call_key);
    while (calls_order_.size() > options_.tracked_calls) {
      calls_.erase(calls_order_.front());
      calls_order_.pop_front();
    }
    it = calls_.find(call_key);  // still there: it is the newest
  }
  return it->second;
}

}  // namespace vontres::gateway
