// Shared helpers for the routing tests: a sink that records events, and a fixture owning a manual
// clock and an engine with builders for queues, agents and calls.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "routing/engine.h"

namespace vontres::routing::testing {

class RecordingSink final : public RoutingEventSink {
 public:
  void on_event(const RoutingEvent& event) override { events.push_back(event); }
  std::vector<RoutingEvent> of(RoutingEventType type) const {
    std::vector<RoutingEvent> out;
    std::copy_if(events.begin(), events.end(), std::back_inserter(out),
                 [type](const RoutingEvent& e) { return e.type == type; });
    return out;
  }
  size_t count(RoutingEventType type) const { return of(type).size(); }
  std::vector<RoutingEvent> events;
};

class EngineTest : public ::testing::Test {
 protected:
  explicit EngineTest(EngineOptions options = {}) : engine(std::make_unique<Engine>(clock, sink, options)) {}

  QueueConfig queue(const std::string& id, Strategy strategy = Strategy::kLongestIdle) const {
    QueueConfig q;
    q.id = QueueId(id);
    q.org = org;
    q.name = id;
    q.strategy = strategy;
    return q;
  }
  void add_queue(const QueueConfig& q) { ASSERT_TRUE(engine->upsert_queue(q).is_ok()); }

  // Adds an agent (member of `queues` at penalty 0 unless given) and logs it in.
  void add_agent(const std::string& id, std::map<std::string, int> skills, std::vector<QueueMembership> queues,
                 bool login = true, int capacity = 1) {
    AgentConfig a;
    a.id = AgentId(id);
    a.org = org;
    a.name = id;
    a.skills = std::move(skills);
    a.queues = std::move(queues);
    a.capacity = capacity;
    ASSERT_TRUE(engine->upsert_agent(a).is_ok());
    if (login) {
      ASSERT_TRUE(engine->set_presence(org, AgentId(id), Presence::kAvailable).is_ok());
    }
  }
  static std::vector<QueueMembership> in(const std::string& queue, int penalty = 0) {
    return {QueueMembership{QueueId(queue), penalty}};
  }

  CallRequest call(const std::string& id, const std::string& queue_id) const {
    CallRequest c;
    c.id = CallId(id);
    c.org = org;
    c.queue = QueueId(queue_id);
    return c;
  }
  CallPlacement enqueue(const CallRequest& c) {
    auto placed = engine->enqueue_call(c);
    EXPECT_TRUE(placed.is_ok()) << placed.status().to_string();
    return placed.is_ok() ? *placed : CallPlacement{};
  }

  // Agent ids with a pending offer of the call.
  std::vector<std::string> offered(const std::string& call_id) const {
    std::vector<std::string> out;
    auto v = engine->call(CallId(call_id));
    if (!v.is_ok()) return out;
    for (const auto& a : v->offered_to) out.push_back(a.str());
    std::sort(out.begin(), out.end());
    return out;
  }
  AgentState state(const std::string& agent_id) const { return engine->agent(org, AgentId(agent_id))->state; }
  CallState call_state(const std::string& call_id) const { return engine->call(CallId(call_id))->state; }

  void advance(Millis by) {
    clock.advance(by);
    engine->tick();
  }
  void answer(const std::string& call_id, const std::string& agent_id) {
    ASSERT_TRUE(engine->accept_offer(CallId(call_id), AgentId(agent_id)).is_ok());
  }
  void hang_up(const std::string& call_id) { ASSERT_TRUE(engine->call_ended(CallId(call_id)).is_ok()); }

  ManualClock clock;
  RecordingSink sink;
  OrgId org{"org-1"};
  std::unique_ptr<Engine> engine;
};

}  // namespace vontres::routing::testing
