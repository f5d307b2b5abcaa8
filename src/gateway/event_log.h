// EventLog: the socket-free core of the desktop gateway (gateway/desktop_gateway.h). It turns bus
// events into desktop events, decides who may see each one, drops redeliveries and keeps the
// recent events of each organisation for resume.
//
//  - Organisation: the `org_id` header or the payload's `org_id`; an event with neither, or with
//    two that differ, belongs to nobody and is never shown ("unscoped").
//  - Agents concerned: those the payload names (`agent`, `agent_id`, `to_agent`, `from_agent`,
//    `consult_agent`, `for_agent`) plus those on the event's call (payload `call_id`) at the time
//    it arrives. The log follows who is on which call from the events themselves: an agent joins
//    a call when an event names them as `agent`, `to_agent`, `consult_agent` or (routing)
//    `agent_id`, and leaves it as `from_agent` of call.transferred, as `agent_id` of a declined,
//    timed-out or rescinded offer, or as `consult_agent` of a cancelled or failed consultation.
//    An event with `for_agent` (an AI hand-off summary) concerns that agent only. The set is fixed
//    when the event is retained, so a replay shows exactly what was shown live.
//  - Visibility (visible_to): same organisation, and either the audience sees the whole
//    organisation (supervisors, admins) or its agent id is one of the event's agents.
//  - De-duplication: the last `dedup_window` event ids; a repeated id is reported as kDuplicate.
//  - Retention: per organisation the last `retained_per_org` events no older than `retention`
//    (by the injected clock, from when they arrived), and at most `max_retained` events in all
//    (beyond it the oldest retained event of any organisation goes first), so memory is bounded
//    whatever the number of organisations; at most `tracked_calls` calls are followed.
//
// Not thread-safe: one owner (the gateway, under its lock).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bus/event_bus.h"
#include "core/clock.h"

namespace vontres::gateway {

struct DesktopEvent {
  std::string id;
  std::string topic;
  std::string type;
  int64_t ts_ms = 0;  // the bus timestamp (ms since the epoch)
  std::string org_id;
  std::string call_id;              // empty: not about a call
  std::vector<std::string> agents;  // who may see it besides the organisation's supervisors
  std::string message;              // the frame pushed: {"id","topic","type","ts","data":<payload>}
  TimePoint received;
  uint64_t seq = 0;  // arrival order across organisations
};

// Who is looking: a connected desktop's principal.
struct Audience {
  std::string org_id;
  std::string agent_id;             // their agent id (the user id); empty: sees no agent's events
  bool whole_organisation = false;  // supervisors and admins (calls.monitor)
};

bool visible_to(const DesktopEvent& event, const Audience& audience);

struct EventLogOptions {
  size_t retained_per_org = 2'000;
  std::chrono::milliseconds retention{600'000};
  size_t dedup_window = 65'536;
  size_t tracked_calls = 10'000;
  size_t max_retained = 200'000;
};

enum class Accepted { kNew, kDuplicate, kUnscoped, kMalformed };
std::string_view accepted_name(Accepted accepted);

class EventLog {
 public:
  // `clock` must outlive the log.
  EventLog(const Clock& clock, EventLogOptions options);

  struct Outcome {
    Accepted accepted = Accepted::kMalformed;
    const DesktopEvent* event = nullptr;  // kNew: the retained event, valid until the next append()
  };
  // Retains one bus event (kNew), or says why not. kMalformed: no id or a payload that is not a
  // JSON object.
  Outcome append(const bus::Event& event);

  // The retained events of `org_id` that arrived after the one with `since_id`, oldest first;
  // nullopt when `since_id` is not (or no longer) retained for that organisation.
  std::optional<std::vector<const DesktopEvent*>> after(const std::string& org_id, const std::string& since_id);

  size_t retained(const std::string& org_id) const;
  size_t retained_total() const { return total_; }
  size_t organisations() const { return orgs_.size(); }  // those with a retained event
  size_t tracked_calls() const { return calls_.size(); }

 private:
  using Rings = std::map<std::string, std::deque<DesktopEvent>>;
  // Drops the organisation's expired events; false when its ring is gone (it became empty).
  bool expire(Rings::iterator org);
  // Every removal goes through here, so `total_` and `fronts_` stay exact. Erases an emptied ring.
  void pop_front(Rings::iterator org);
  bool remember_id(const std::string& id);                          // false: seen before
  std::set<std::string>& call_agents(const std::string& call_key);  // key: org + "\n" + call id

  const Clock& clock_;
  EventLogOptions options_;
  std::unordered_set<std::string> seen_;
  std::deque<std::string> seen_order_;
  Rings orgs_;                                         // no empty rings
  std::set<std::pair<uint64_t, std::string>> fronts_;  // (seq of each ring's oldest event, org)
  size_t total_ = 0;
  uint64_t next_seq_ = 1;
  std::unordered_map<std::string, std::set<std::string>> calls_;
  std::deque<std::string> calls_order_;
};

}  // namespace vontres::gateway
