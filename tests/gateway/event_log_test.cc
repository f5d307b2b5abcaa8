#include "gateway/event_log.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace vontres::gateway {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

bus::Event make(const std::string& id, const std::string& topic, const std::string& type, json payload,
                const std::string& header_org = {}) {
  bus::Event e;
  e.id = id;
  e.topic = topic;
  e.type = type;
  e.payload = payload.dump();
  e.timestamp_ms = 1'700'000'000'000;
  if (!header_org.empty()) e.headers["org_id"] = header_org;
  return e;
}

const Audience kSupervisorA{"org-a", "", true};
const Audience kAgentAnn{"org-a", "ann", false};
const Audience kAgentBob{"org-a", "bob", false};
const Audience kSupervisorB{"org-b", "", true};

class EventLogTest : public ::testing::Test {
 protected:
  // Retains `event` (asserting it is new) and returns a copy.
  DesktopEvent add(const bus::Event& event) {
    auto outcome = log_.append(event);
    EXPECT_EQ(outcome.accepted, Accepted::kNew) << event.id;
    return outcome.event != nullptr ? *outcome.event : DesktopEvent{};
  }

  ManualClock clock_;
  EventLogOptions options_;
  EventLog log_{clock_, options_};
};

TEST_F(EventLogTest, TakesTheOrganisationFromTheHeaderOrThePayload) {
  EXPECT_EQ(add(make("1", "routing.events", "route.queued", {{"call_id", "c1"}}, "org-a")).org_id, "org-a");
  EXPECT_EQ(add(make("2", "call.events", "call.started", {{"call_id", "c1"}, {"org_id", "org-a"}})).org_id, "org-a");
  EXPECT_EQ(log_.retained("org-a"), 2u);
}

TEST_F(EventLogTest, AnEventWithoutOrWithContradictoryOrganisationsBelongsToNobody) {
  EXPECT_EQ(log_.append(make("1", "call.events", "call.started", {{"call_id", "c1"}})).accepted, Accepted::kUnscoped);
  EXPECT_EQ(log_.append(make("2", "call.events", "call.started", {{"org_id", "org-b"}}, "org-a")).accepted,
            Accepted::kUnscoped);
  EXPECT_EQ(log_.organisations(), 0u);
}

TEST_F(EventLogTest, RejectsEventsWithoutIdOrWithAPayloadThatIsNotAnObject) {
  EXPECT_EQ(log_.append(make("", "call.events", "call.started", {{"org_id", "org-a"}})).accepted, Accepted::kMalformed);
  bus::Event text = make("1", "call.events", "call.started", json::object(), "org-a");
  text.payload = "not json";
  EXPECT_EQ(log_.append(text).accepted, Accepted::kMalformed);
  text.payload = "[1,2]";
  EXPECT_EQ(log_.append(text).accepted, Accepted::kMalformed);
}

TEST_F(EventLogTest, FramesCarryIdTopicTypeTimestampAndThePayload) {
  const DesktopEvent e = add(make("ev-1", "call.events", "call.started", {{"call_id", "c1"}, {"org_id", "org-a"}}));
  const json frame = json::parse(e.message);
  EXPECT_EQ(frame["id"], "ev-1");
  EXPECT_EQ(frame["topic"], "call.events");
  EXPECT_EQ(frame["type"], "call.started");
  EXPECT_EQ(frame["ts"], 1'700'000'000'000);
  EXPECT_EQ(frame["data"]["call_id"], "c1");
}

TEST_F(EventLogTest, ARedeliveredEventIsADuplicate) {
  add(make("1", "call.events", "call.started", {{"org_id", "org-a"}}));
  EXPECT_EQ(log_.append(make("1", "call.events", "call.started", {{"org_id", "org-a"}})).accepted,
            Accepted::kDuplicate);
  EXPECT_EQ(log_.retained("org-a"), 1u);
}

TEST_F(EventLogTest, TheDuplicateWindowIsBounded) {
  EventLogOptions small;
  small.dedup_window = 2;
  EventLog log(clock_, small);
  for (const char* id : {"1", "2", "3"}) {
    EXPECT_EQ(log.append(make(id, "call.events", "x", {{"org_id", "org-a"}})).accepted, Accepted::kNew);
  }
  EXPECT_EQ(log.append(make("3", "call.events", "x", {{"org_id", "org-a"}})).accepted, Accepted::kDuplicate);
  // "1" fell out of the window: it would be taken again.
  EXPECT_EQ(log.append(make("1", "call.events", "x", {{"org_id", "org-a"}})).accepted, Accepted::kNew);
}

TEST_F(EventLogTest, SupervisorsSeeTheirWholeOrganisationAndNeverAnother) {
  const DesktopEvent e = add(make("1", "call.events", "call.started", {{"call_id", "c1"}, {"org_id", "org-a"}}));
  EXPECT_TRUE(visible_to(e, kSupervisorA));
  EXPECT_FALSE(visible_to(e, kSupervisorB));
  EXPECT_FALSE(visible_to(e, Audience{"", "", true}));
}

TEST_F(EventLogTest, AnAgentSeesEventsNamingThemAndTheirOwnState) {
  const DesktopEvent state = add(
      make("1", "routing.events", "agent.state_changed", {{"agent_id", "ann"}, {"to_state", "available"}}, "org-a"));
  EXPECT_TRUE(visible_to(state, kAgentAnn));
  EXPECT_FALSE(visible_to(state, kAgentBob));
  // The same agent id in another organisation is another agent.
  EXPECT_FALSE(visible_to(state, Audience{"org-b", "ann", false}));
  const DesktopEvent unassigned = add(make("2", "call.events", "call.started", {{"call_id", "c1"}}, "org-a"));
  EXPECT_FALSE(visible_to(unassigned, kAgentAnn));
}

TEST_F(EventLogTest, AnAgentSeesTheEventsOfACallTheyAreOnIncludingAiEvents) {
  add(make("1", "call.events", "call.started", {{"call_id", "c1"}}, "org-a"));
  const DesktopEvent offered =
      add(make("2", "routing.events", "route.offered", {{"call_id", "c1"}, {"agent_id", "ann"}}, "org-a"));
  EXPECT_TRUE(visible_to(offered, kAgentAnn));
  const DesktopEvent transcript =
      add(make("3", "ai.events", "ai.transcript", {{"call_id", "c1"}, {"text", "hello"}}, "org-a"));
  EXPECT_TRUE(visible_to(transcript, kAgentAnn));
  EXPECT_FALSE(visible_to(transcript, kAgentBob));
  // Another call's AI events are not Ann's.
  const DesktopEvent other = add(make("4", "ai.events", "ai.transcript", {{"call_id", "c2"}}, "org-a"));
  EXPECT_FALSE(visible_to(other, kAgentAnn));
}

TEST_F(EventLogTest, AnAgentLeavesACallWhenTheyDeclineOrTransferIt) {
  add(make("1", "call.events", "call.ringing", {{"call_id", "c1"}, {"agent", "ann"}}, "org-a"));
  const DesktopEvent declined =
      add(make("2", "routing.events", "route.declined", {{"call_id", "c1"}, {"agent_id", "ann"}}, "org-a"));
  EXPECT_TRUE(visible_to(declined, kAgentAnn));  // named: Ann sees her own decline
  EXPECT_FALSE(visible_to(add(make("3", "ai.events", "ai.sentiment", {{"call_id", "c1"}}, "org-a")), kAgentAnn));

  add(make("4", "call.events", "call.answered", {{"call_id", "c1"}, {"agent", "bob"}}, "org-a"));
  const DesktopEvent transferred = add(make("5", "call.events", "call.transferred",
                                            {{"call_id", "c1"}, {"from_agent", "bob"}, {"to_agent", "ann"}}, "org-a"));
  EXPECT_TRUE(visible_to(transferred, kAgentAnn));
  EXPECT_TRUE(visible_to(transferred, kAgentBob));
  const DesktopEvent after = add(make("6", "ai.events", "ai.transcript", {{"call_id", "c1"}}, "org-a"));
  EXPECT_TRUE(visible_to(after, kAgentAnn));
  EXPECT_FALSE(visible_to(after, kAgentBob));
}

TEST_F(EventLogTest, AnEventForOneAgentIsForThatAgentOnly) {
  add(make("1", "call.events", "call.answered", {{"call_id", "c1"}, {"agent", "bob"}}, "org-a"));
  const DesktopEvent handoff =
      add(make("2", "ai.events", "ai.summary", {{"call_id", "c1"}, {"for_agent", "ann"}}, "org-a"));
  EXPECT_TRUE(visible_to(handoff, kAgentAnn));
  EXPECT_FALSE(visible_to(handoff, kAgentBob));
  EXPECT_TRUE(visible_to(handoff, kSupervisorA));
}

TEST_F(EventLogTest, CallTrackingIsPerOrganisation) {
  add(make("1", "call.events", "call.answered", {{"call_id", "c1"}, {"agent", "ann"}}, "org-a"));
  const DesktopEvent other_org = add(make("2", "ai.events", "ai.transcript", {{"call_id", "c1"}}, "org-b"));
  EXPECT_TRUE(other_org.agents.empty());
  EXPECT_FALSE(visible_to(other_org, Audience{"org-b", "ann", false}));
}

TEST_F(EventLogTest, ResumeReturnsTheEventsAfterTheGivenId) {
  for (const char* id : {"1", "2", "3", "4"}) add(make(id, "call.events", "x", {{"org_id", "org-a"}}));
  auto after = log_.after("org-a", "2");
  ASSERT_TRUE(after.has_value());
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0]->id, "3");
  EXPECT_EQ((*after)[1]->id, "4");
  ASSERT_TRUE(log_.after("org-a", "4").has_value());
  EXPECT_TRUE(log_.after("org-a", "4")->empty());
}

TEST_F(EventLogTest, ResumeFromAnUnknownOrAnotherOrganisationsIdIsRefused) {
  add(make("1", "call.events", "x", {{"org_id", "org-a"}}));
  add(make("2", "call.events", "x", {{"org_id", "org-b"}}));
  EXPECT_FALSE(log_.after("org-a", "nope").has_value());
  EXPECT_FALSE(log_.after("org-a", "2").has_value());
  EXPECT_FALSE(log_.after("org-c", "1").has_value());
  EXPECT_FALSE(log_.after("org-a", "").has_value());
}

TEST_F(EventLogTest, TheRingKeepsTheNewestEventsPerOrganisation) {
  EventLogOptions small;
  small.retained_per_org = 3;
  EventLog log(clock_, small);
  for (int i = 1; i <= 5; ++i) log.append(make(std::to_string(i), "call.events", "x", {{"org_id", "org-a"}}));
  log.append(make("b1", "call.events", "x", {{"org_id", "org-b"}}));
  EXPECT_EQ(log.retained("org-a"), 3u);
  EXPECT_EQ(log.retained("org-b"), 1u);
  EXPECT_FALSE(log.after("org-a", "2").has_value());  // evicted: too old to resume from
  ASSERT_TRUE(log.after("org-a", "3").has_value());
  EXPECT_EQ(log.after("org-a", "3")->size(), 2u);
}

TEST_F(EventLogTest, RetainedEventsExpireAfterTheRetention) {
  EventLogOptions short_lived;
  short_lived.retention = 10s;
  EventLog log(clock_, short_lived);
  log.append(make("1", "call.events", "x", {{"org_id", "org-a"}}));
  clock_.advance(6s);
  log.append(make("2", "call.events", "x", {{"org_id", "org-a"}}));
  ASSERT_TRUE(log.after("org-a", "1").has_value());
  clock_.advance(5s);
  EXPECT_FALSE(log.after("org-a", "1").has_value());
  ASSERT_TRUE(log.after("org-a", "2").has_value());
  clock_.advance(10s);
  EXPECT_FALSE(log.after("org-a", "2").has_value());
}

TEST_F(EventLogTest, AllOrganisationsTogetherRetainAtMostMaxRetainedEventsOldestFirst) {
  EventLogOptions small;
  small.max_retained = 3;
  EventLog log(clock_, small);
  log.append(make("a1", "call.events", "x", {{"org_id", "org-a"}}));
  log.append(make("b1", "call.events", "x", {{"org_id", "org-b"}}));
  log.append(make("a2", "call.events", "x", {{"org_id", "org-a"}}));
  log.append(make("c1", "call.events", "x", {{"org_id", "org-c"}}));
  EXPECT_EQ(log.retained_total(), 3u);
  EXPECT_FALSE(log.after("org-a", "a1").has_value());  // the oldest of all went first
  EXPECT_TRUE(log.after("org-a", "a2").has_value());
  log.append(make("c2", "call.events", "x", {{"org_id", "org-c"}}));
  EXPECT_EQ(log.retained("org-b"), 0u);  // then b1, and with it organisation b
  EXPECT_EQ(log.organisations(), 2u);
  EXPECT_EQ(log.retained_total(), 3u);
}

TEST_F(EventLogTest, AnOrganisationWhoseEventsAllExpiredIsForgotten) {
  EventLogOptions short_lived;
  short_lived.retention = 10s;
  EventLog log(clock_, short_lived);
  log.append(make("1", "call.events", "x", {{"org_id", "org-a"}}));
  log.append(make("2", "call.events", "x", {{"org_id", "org-a"}}));
  clock_.advance(11s);
  EXPECT_FALSE(log.after("org-a", "1").has_value());
  EXPECT_EQ(log.organisations(), 0u);
  EXPECT_EQ(log.retained_total(), 0u);
  // A new event starts a fresh ring.
  log.append(make("3", "call.events", "x", {{"org_id", "org-a"}}));
  EXPECT_EQ(log.retained("org-a"), 1u);
  EXPECT_EQ(log.retained_total(), 1u);
}

TEST_F(EventLogTest, FollowsAtMostTrackedCallsCalls) {
  EventLogOptions small;
  small.tracked_calls = 2;
  EventLog log(clock_, small);
  for (const char* call : {"c1", "c2", "c3"}) {
    log.append(make(std::string("e-") + call, "call.events", "x", {{"org_id", "org-a"}, {"call_id", call}}));
  }
  EXPECT_EQ(log.tracked_calls(), 2u);
}

}  // namespace
}  // namespace vontres::gateway
