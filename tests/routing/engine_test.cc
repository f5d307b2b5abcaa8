// Unit tests of the routing engine, one behaviour each, driven by the manual clock.
#include "routing/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "routing/routing_test_support.h"

namespace vontres::routing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using testing::EngineTest;
using ::testing::HasSubstr;

using EngineStrategyTest = EngineTest;

// --- strategies -------------------------------------------------------------------------------

TEST_F(EngineStrategyTest, OffersCallToLongestIdleEligibleAgent) {
  add_queue(queue("sales"));
  add_agent("ana", {}, in("sales"));
  advance(10s);
  add_agent("bob", {}, in("sales"));
  advance(10s);
  add_agent("cy", {}, in("sales"));
  enqueue(call("c1", "sales"));
  EXPECT_THAT(offered("c1"), ElementsAre("ana"));
  EXPECT_EQ(state("ana"), AgentState::kReserved);
}

TEST_F(EngineStrategyTest, LongestIdleSkipsAgentsWithoutTheRequiredSkill) {
  QueueConfig q = queue("support");
  q.required_skills = {{"billing", 5}};
  add_queue(q);
  add_agent("ana", {{"billing", 4}}, in("support"));
  advance(1s);
  add_agent("bob", {}, in("support"));
  advance(1s);
  add_agent("cy", {{"billing", 6}}, in("support"));
  enqueue(call("c1", "support"));
  EXPECT_THAT(offered("c1"), ElementsAre("cy"));
}

TEST_F(EngineStrategyTest, RoundRobinRemembersItsPositionAcrossCalls) {
  add_queue(queue("rr", Strategy::kRoundRobin));
  add_agent("a", {}, in("rr"));
  add_agent("b", {}, in("rr"));
  add_agent("c", {}, in("rr"));
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    const std::string id = "c" + std::to_string(i);
    enqueue(call(id, "rr"));
    ASSERT_EQ(offered(id).size(), 1u);
    const std::string agent = offered(id)[0];
    order.push_back(agent);
    answer(id, agent);
    advance(1s);
    hang_up(id);
  }
  EXPECT_THAT(order, ElementsAre("a", "b", "c", "a"));
}

TEST_F(EngineStrategyTest, FewestCallsTodayPrefersTheLeastLoadedAgent) {
  add_queue(queue("q", Strategy::kFewestCalls));
  add_agent("busy", {}, in("q"));
  for (int i = 0; i < 2; ++i) {
    const std::string id = "warm" + std::to_string(i);
    enqueue(call(id, "q"));
    answer(id, "busy");
    hang_up(id);
  }
  advance(1s);
  add_agent("fresh", {}, in("q"));  // idle for less time, but no calls today
  enqueue(call("c1", "q"));
  EXPECT_THAT(offered("c1"), ElementsAre("fresh"));
}

TEST_F(EngineStrategyTest, SkillsWeightedPicksBestProficiencyThenLongestIdle) {
  QueueConfig q = queue("q", Strategy::kSkillsWeighted);
  q.required_skills = {{"billing", 1}};
  add_queue(q);
  add_agent("novice", {{"billing", 3}}, in("q"));
  advance(1s);
  add_agent("expert_old", {{"billing", 9}}, in("q"));
  advance(1s);
  add_agent("expert_new", {{"billing", 9}}, in("q"));
  enqueue(call("c1", "q"));
  EXPECT_THAT(offered("c1"), ElementsAre("expert_old"));
  auto decisions = engine->decisions(CallId("c1"));
  ASSERT_TRUE(decisions.is_ok());
  ASSERT_EQ(decisions->size(), 1u);
  EXPECT_THAT(decisions->back().summary, HasSubstr("best proficiency match (9)"));
}

TEST_F(EngineStrategyTest, RingAllOffersEveryEligibleAgentAndTheFirstToAcceptWins) {
  add_queue(queue("q", Strategy::kRingAll));
  add_agent("a", {}, in("q"));
  add_agent("b", {}, in("q"));
  add_agent("c", {}, in("q"));
  enqueue(call("c1", "q"));
  EXPECT_THAT(offered("c1"), ElementsAre("a", "b", "c"));
  answer("c1", "b");
  EXPECT_EQ(engine->call(CallId("c1"))->agent.str(), "b");
  EXPECT_EQ(state("a"), AgentState::kAvailable);
  EXPECT_EQ(state("c"), AgentState::kAvailable);
  EXPECT_EQ(sink.count(RoutingEventType::kRescinded), 2u);
  EXPECT_EQ(engine->accept_offer(CallId("c1"), AgentId("a")).code(), "offer_not_found");
}

TEST_F(EngineStrategyTest, RandomStrategyIsReproducibleForASeedAndPicksOnlyEligibleAgents) {
  auto run = [this](uint64_t seed) {
    testing::RecordingSink local_sink;
    EngineOptions options;
    options.seed = seed;
    Engine e(clock, local_sink, options);
    QueueConfig q = queue("q", Strategy::kRandom);
    q.required_skills = {{"x", 1}};
    EXPECT_TRUE(e.upsert_queue(q).is_ok());
    for (int i = 0; i < 6; ++i) {
      AgentConfig a;
      a.id = AgentId("a" + std::to_string(i));
      a.org = org;
      if (i != 3) a.skills = {{"x", 5}};  // a3 is never eligible
      a.queues = in("q");
      EXPECT_TRUE(e.upsert_agent(a).is_ok());
      EXPECT_TRUE(e.set_presence(a.org, a.id, Presence::kAvailable).is_ok());
    }
    std::vector<std::string> picks;
    for (int i = 0; i < 20; ++i) {
      CallRequest c = call("c" + std::to_string(i), "q");
      EXPECT_TRUE(e.enqueue_call(c).is_ok());
      const AgentId agent = e.call(c.id)->offered_to.at(0);
      picks.push_back(agent.str());
      EXPECT_TRUE(e.accept_offer(c.id, agent).is_ok());
      EXPECT_TRUE(e.call_ended(c.id).is_ok());
    }
    return picks;
  };
  const auto first = run(42);
  EXPECT_EQ(first, run(42));
  EXPECT_EQ(std::count(first.begin(), first.end(), "a3"), 0);
  EXPECT_GT(std::set<std::string>(first.begin(), first.end()).size(), 2u);
}

TEST_F(EngineStrategyTest, LowerPenaltyTierIsPreferredOverLongerIdleTime) {
  add_queue(queue("q"));
  add_agent("backup", {}, in("q", 1));
  advance(60s);
  add_agent("primary", {}, in("q", 0));
  enqueue(call("c1", "q"));
  EXPECT_THAT(offered("c1"), ElementsAre("primary"));
  enqueue(call("c2", "q"));
  EXPECT_THAT(offered("c2"), ElementsAre("backup"));
}

TEST_F(EngineStrategyTest, InitialMaxPenaltyHoldsHigherTiersBackUntilEscalationWidensIt) {
  QueueConfig q = queue("q");
  q.initial_max_penalty = 0;
  EscalationStep widen;
  widen.after = 30s;
  widen.max_penalty = 1;
  q.escalation = {widen};
  add_queue(q);
  add_agent("tier2", {}, in("q", 1));
  enqueue(call("c1", "q"));
  EXPECT_TRUE(offered("c1").empty());
  advance(29s);
  EXPECT_TRUE(offered("c1").empty());
  advance(1s);
  EXPECT_THAT(offered("c1"), ElementsAre("tier2"));
}

// --- priority and FIFO ------------------------------------------------------------------------

TEST_F(EngineTest, HigherPriorityIsServedFirstAndEqualPriorityInArrivalOrder) {
  add_queue(queue("q"));
  add_agent("ana", {}, in("q"), /*login=*/false);
  CallRequest c1 = call("c1", "q");
  CallRequest c2 = call("c2", "q");
  c2.priority = 5;
  CallRequest c3 = call("c3", "q");
  enqueue(c1);
  advance(1s);
  enqueue(c2);
  advance(1s);
  enqueue(c3);
  EXPECT_EQ(engine->call(CallId("c2"))->position, 1u);
  EXPECT_EQ(engine->call(CallId("c1"))->position, 2u);
  EXPECT_EQ(engine->call(CallId("c3"))->position, 3u);

  std::vector<std::string> served;
  ASSERT_TRUE(engine->set_presence(org, AgentId("ana"), Presence::kAvailable).is_ok());
  for (int i = 0; i < 3; ++i) {
    auto v = engine->agent(org, AgentId("ana"));
    ASSERT_EQ(v->offered_calls.size(), 1u);
    const std::string id = v->offered_calls[0].str();
    served.push_back(id);
    answer(id, "ana");
    hang_up(id);
  }
  EXPECT_THAT(served, ElementsAre("c2", "c1", "c3"));
}

TEST_F(EngineTest, AgentInSeveralQueuesServesTheHigherPriorityQueueFirst) {
  QueueConfig low = queue("low");
  QueueConfig high = queue("high");
  high.priority = 10;
  add_queue(low);
  add_queue(high);
  add_agent("ana", {}, {{QueueId("low"), 0}, {QueueId("high"), 0}}, /*login=*/false);
  enqueue(call("old_low", "low"));
  advance(30s);
  enqueue(call("new_high", "high"));
  ASSERT_TRUE(engine->set_presence(org, AgentId("ana"), Presence::kAvailable).is_ok());
  EXPECT_THAT(offered("new_high"), ElementsAre("ana"));
}

// --- escalation -------------------------------------------------------------------------------

TEST_F(EngineTest, EscalationLowersRequiredProficiencyAfterTheWait) {
  QueueConfig q = queue("q");
  q.required_skills = {{"billing", 8}};
  EscalationStep step;
  step.after = 20s;
  step.lower_proficiency_by = 3;
  q.escalation = {step};
  add_queue(q);
  add_agent("junior", {{"billing", 5}}, in("q"));
  enqueue(call("c1", "q"));
  EXPECT_TRUE(offered("c1").empty());
  advance(20s);
  EXPECT_THAT(offered("c1"), ElementsAre("junior"));
  ASSERT_EQ(sink.count(RoutingEventType::kEscalated), 1u);
  EXPECT_THAT(sink.of(RoutingEventType::kEscalated)[0].reason, HasSubstr("proficiency -3"));
}

TEST_F(EngineTest, EscalationDropsARequiredSkill) {
  QueueConfig q = queue("q");
  EscalationStep step;
  step.after = 45s;
  step.drop_skills = {"lang:fr"};
  q.escalation = {step};
  add_queue(q);
  add_agent("ana", {{"lang:en", 9}}, in("q"));
  CallRequest c = call("c1", "q");
  c.language = "fr";
  enqueue(c);
  EXPECT_TRUE(offered("c1").empty());
  advance(45s);
  EXPECT_THAT(offered("c1"), ElementsAre("ana"));
}

TEST_F(EngineTest, PriorityRisesRepeatedlyWithWaitTime) {
  QueueConfig q = queue("q");
  EscalationStep step;
  step.after = 60s;
  step.repeat_every = 60s;
  step.priority_boost = 1;
  q.escalation = {step};
  add_queue(q);
  enqueue(call("c1", "q"));
  advance(59s);
  EXPECT_EQ(engine->call(CallId("c1"))->priority, 0);
  advance(1s);
  EXPECT_EQ(engine->call(CallId("c1"))->priority, 1);
  advance(125s);
  EXPECT_EQ(engine->call(CallId("c1"))->priority, 3);
}

TEST_F(EngineTest, EscalationMovesTheCallToAnotherQueueKeepingItsArrivalTime) {
  add_queue(queue("tier2"));
  QueueConfig q = queue("tier1");
  EscalationStep step;
  step.after = 90s;
  step.move_to_queue = QueueId("tier2");
  q.escalation = {step};
  add_queue(q);
  add_agent("t2", {}, in("tier2"), /*login=*/false);
  enqueue(call("early", "tier1"));
  advance(10s);
  enqueue(call("local", "tier2"));
  advance(80s);
  EXPECT_EQ(engine->call(CallId("early"))->queue.str(), "tier2");
  ASSERT_EQ(sink.count(RoutingEventType::kOverflowed), 1u);
  EXPECT_EQ(sink.of(RoutingEventType::kOverflowed)[0].from_queue.str(), "tier1");
  // It arrived before "local", so it is ahead of it in the new queue.
  EXPECT_EQ(engine->call(CallId("early"))->position, 1u);
  ASSERT_TRUE(engine->set_presence(org, AgentId("t2"), Presence::kAvailable).is_ok());
  EXPECT_THAT(offered("early"), ElementsAre("t2"));
}

// --- reservations -----------------------------------------------------------------------------

TEST_F(EngineTest, UnansweredOfferTimesOutAndGoesToTheNextAgent) {
  QueueConfig q = queue("q");
  q.offer_timeout = 15s;
  add_queue(q);
  add_agent("ana", {}, in("q"));
  advance(1s);
  add_agent("bob", {}, in("q"));
  enqueue(call("c1", "q"));
  EXPECT_THAT(offered("c1"), ElementsAre("ana"));
  advance(14s);
  EXPECT_THAT(offered("c1"), ElementsAre("ana"));
  advance(1s);
  EXPECT_THAT(offered("c1"), ElementsAre("bob"));
  ASSERT_EQ(sink.count(RoutingEventType::kTimeout), 1u);
  EXPECT_EQ(sink.of(RoutingEventType::kTimeout)[0].agent.str(), "ana");
  EXPECT_EQ(engine->agent(org, AgentId("ana"))->consecutive_misses, 1);
  EXPECT_EQ(engine->accept_offer(CallId("c1"), AgentId("ana")).code(), "offer_not_found");
}

TEST_F(EngineTest, TimeoutIsAppliedBeforeALateAcceptEvenWithoutTick) {
  QueueConfig q = queue("q");
  q.offer_timeout = 10s;
  add_queue(q);
  add_agent("ana", {}, in("q"));
  enqueue(call("c1", "q"));
  clock.advance(11s);  // no tick(): the command itself runs due timers first
  EXPECT_EQ(engine->accept_offer(CallId("c1"), AgentId("ana")).code(), "offer_not_found");
}

TEST_F(EngineTest, DeclinedOfferGoesToTheNextAgentAndTheDeclinerIsNotReofferedAtOnce) {
  QueueConfig q = queue("q");
  q.reoffer_delay = 30s;
  add_queue(q);
  add_agent("ana", {}, in("q"));
  enqueue(call("c1", "q"));
  ASSERT_TRUE(engine->decline_offer(CallId("c1"), AgentId("ana"), "busy_with_email").is_ok());
  EXPECT_TRUE(offered("c1").empty());
  EXPECT_EQ(state("ana"), AgentState::kAvailable);
  add_agent("bob", {}, in("q"));
  EXPECT_THAT(offered("c1"), ElementsAre("bob"));
  ASSERT_TRUE(engine->decline_offer(CallId("c1"), AgentId("bob")).is_ok());
  advance(29s);
  EXPECT_TRUE(offered("c1").empty());
  advance(1s);
  EXPECT_EQ(offered("c1").size(), 1u);
}

TEST_F(EngineTest, AgentMissingKOffersInARowIsPutOnBreakAsNotResponding) {
  QueueConfig q = queue("q");
  q.offer_timeout = 10s;
  q.max_missed_offers = 2;
  q.reoffer_delay = 0s;
  add_queue(q);
  add_agent("sleepy", {}, in("q"));
  enqueue(call("c1", "q"));
  advance(10s);
  EXPECT_THAT(offered("c1"), ElementsAre("sleepy"));  // re-offered: nobody else, no delay
  advance(10s);
  auto v = engine->agent(org, AgentId("sleepy"));
  EXPECT_EQ(v->state, AgentState::kBreak);
  EXPECT_EQ(v->break_reason, "not_responding");
  EXPECT_TRUE(offered("c1").empty());
  EXPECT_EQ(call_state("c1"), CallState::kWaiting);
}

TEST_F(EngineTest, AnsweringResetsTheMissCounter) {
  QueueConfig q = queue("q");
  q.offer_timeout = 10s;
  q.max_missed_offers = 2;
  q.reoffer_delay = 0s;
  add_queue(q);
  add_agent("ana", {}, in("q"));
  enqueue(call("c1", "q"));
  advance(10s);
  answer("c1", "ana");
  EXPECT_EQ(engine->agent(org, AgentId("ana"))->consecutive_misses, 0);
}

TEST_F(EngineTest, GoingOnBreakRescindsThePendingOfferAndTheCallMovesOn) {
  add_queue(queue("q"));
  add_agent("ana", {}, in("q"));
  advance(1s);
  add_agent("bob", {}, in("q"));
  enqueue(call("c1", "q"));
  ASSERT_THAT(offered("c1"), ElementsAre("ana"));
  ASSERT_TRUE(engine->set_presence(org, AgentId("ana"), Presence::kBreak, "lunch").is_ok());
  EXPECT_THAT(offered("c1"), ElementsAre("bob"));
  EXPECT_EQ(engine->agent(org, AgentId("ana"))->break_reason, "lunch");
  EXPECT_EQ(engine->agent(org, AgentId("ana"))->consecutive_misses, 0);
}

TEST_F(EngineTest, CallerHangingUpWhileRingingRescindsTheOffer) {
  add_queue(queue("q"));
  add_agent("ana", {}, in("q"));
  enqueue(call("c1", "q"));
  hang_up("c1");
  EXPECT_EQ(state("ana"), AgentState::kAvailable);
  EXPECT_EQ(engine->counters().abandoned, 1u);
  EXPECT_EQ(engine->call(CallId("c1")).status().code(), "call_not_found");
}

// --- max wait, callbacks, overflow, join/leave empty --------------------------------------------

TEST_F(EngineTest, MaxWaitOverflowMovesTheCallToTheOverflowQueue) {
  add_queue(queue("overflow"));
  QueueConfig q = queue("main");
  q.max_wait = 120s;
  q.max_wait_action = MaxWaitAction::kOverflow;
  q.overflow_queue = QueueId("overflow");
  add_queue(q);
  add_agent("helper", {}, in("overflow"));
  enqueue(call("c1", "main"));
  advance(119s);
  EXPECT_EQ(engine->call(CallId("c1"))->queue.str(), "main");
  advance(1s);
  EXPECT_THAT(offered("c1"), ElementsAre("helper"));
  EXPECT_EQ(engine->queue_view(org, QueueId("main"))->stats.overflowed_out, 1u);
}

TEST_F(EngineTest, CallbackKeepsTheCallersPlaceAndIsOfferedWhenAnAgentIsFree) {
  QueueConfig q = queue("q");
  q.max_wait = 60s;
  q.max_wait_action = MaxWaitAction::kCallback;
  add_queue(q);
  add_agent("ana", {}, in("q"), /*login=*/false);
  enqueue(call("first", "q"));
  advance(10s);
  enqueue(call("second", "q"));
  advance(50s);
  ASSERT_EQ(sink.count(RoutingEventType::kCallbackScheduled), 1u);
  hang_up("first");  // the caller's leg ends; the callback stays
  EXPECT_EQ(engine->call(CallId("first"))->position, 1u);
  EXPECT_TRUE(engine->call(CallId("first"))->callback);
  ASSERT_TRUE(engine->set_presence(org, AgentId("ana"), Presence::kAvailable).is_ok());
  EXPECT_THAT(offered("first"), ElementsAre("ana"));
  EXPECT_TRUE(sink.of(RoutingEventType::kOffered).back().callback);
  EXPECT_EQ(engine->counters().abandoned, 0u);
}

TEST_F(EngineTest, CallerCanAskForACallbackBeforeMaxWait) {
  add_queue(queue("q"));
  enqueue(call("c1", "q"));
  ASSERT_TRUE(engine->request_callback(CallId("c1")).is_ok());
  hang_up("c1");
  EXPECT_EQ(engine->queue_view(org, QueueId("q"))->callbacks_waiting, 1u);
  ASSERT_TRUE(engine->cancel_call(CallId("c1")).is_ok());
  EXPECT_EQ(engine->counters().exited, 1u);
}

TEST_F(EngineTest, MaxWaitVoicemailTakesTheCallOutOfTheQueue) {
  QueueConfig q = queue("q");
  q.max_wait = 30s;
  q.max_wait_action = MaxWaitAction::kVoicemail;
  add_queue(q);
  enqueue(call("c1", "q"));
  advance(30s);
  EXPECT_EQ(sink.count(RoutingEventType::kVoicemail), 1u);
  EXPECT_EQ(engine->counters().voicemails, 1u);
  EXPECT_FALSE(engine->call(CallId("c1")).is_ok());
}

TEST_F(EngineTest, MaxWaitReachedWhileRingingIsAppliedWhenTheOfferFails) {
  QueueConfig q = queue("q");
  q.max_wait = 20s;
  q.max_wait_action = MaxWaitAction::kExit;
  q.offer_timeout = 30s;
  add_queue(q);
  add_agent("ana", {}, in("q"));
  enqueue(call("c1", "q"));
  advance(25s);
  EXPECT_THAT(offered("c1"), ElementsAre("ana"));  // the ringing agent may still answer
  advance(5s);
  EXPECT_FALSE(engine->call(CallId("c1")).is_ok());
  ASSERT_EQ(sink.count(RoutingEventType::kExited), 1u);
  EXPECT_EQ(sink.of(RoutingEventType::kExited)[0].reason, "max_wait");
}

TEST_F(EngineTest, FullQueueRejectsTheCall) {
  QueueConfig q = queue("q");
  q.max_length = 1;
  add_queue(q);
  enqueue(call("c1", "q"));
  EXPECT_EQ(engine->enqueue_call(call("c2", "q")).status().code(), "queue_full");
  EXPECT_EQ(sink.count(RoutingEventType::kCallRejected), 1u);
}

TEST_F(EngineTest, JoinEmptyFalseRejectsCallsWhenNobodyIsStaffed) {
  QueueConfig q = queue("q");
  q.join_empty = false;
  add_queue(q);
  add_agent("ana", {}, in("q"), /*login=*/false);
  EXPECT_EQ(engine->enqueue_call(call("c1", "q")).status().code(), "queue_empty");
  ASSERT_TRUE(engine->set_presence(org, AgentId("ana"), Presence::kAvailable).is_ok());
  EXPECT_TRUE(engine->enqueue_call(call("c2", "q")).is_ok());
}

TEST_F(EngineTest, LeaveWhenEmptySendsWaitingCallsAwayWhenTheLastAgentLogsOut) {
  QueueConfig q = queue("q");
  q.leave_when_empty = true;
  q.required_skills = {{"rare", 1}};
  add_queue(q);
  add_agent("ana", {}, in("q"));
  enqueue(call("c1", "q"));
  ASSERT_EQ(call_state("c1"), CallState::kWaiting);
  ASSERT_TRUE(engine->set_presence(org, AgentId("ana"), Presence::kOffline).is_ok());
  ASSERT_EQ(sink.count(RoutingEventType::kExited), 1u);
  EXPECT_EQ(sink.of(RoutingEventType::kExited)[0].reason, "queue_empty");
}

// --- wrap-up and capacity ---------------------------------------------------------------------

TEST_F(EngineTest, WrapUpBlocksOffersUntilItEndsOrTheAgentIsDone) {
  QueueConfig q = queue("q");
  q.wrap_up = 30s;
  add_queue(q);
  add_agent("ana", {}, in("q"));
  enqueue(call("c1", "q"));
  answer("c1", "ana");
  hang_up("c1");
  EXPECT_EQ(state("ana"), AgentState::kWrapUp);
  enqueue(call("c2", "q"));
  EXPECT_TRUE(offered("c2").empty());
  advance(30s);
  EXPECT_THAT(offered("c2"), ElementsAre("ana"));
  answer("c2", "ana");
  hang_up("c2");
  enqueue(call("c3", "q"));
  ASSERT_TRUE(engine->wrap_up_done(org, AgentId("ana")).is_ok());
  EXPECT_THAT(offered("c3"), ElementsAre("ana"));
  EXPECT_EQ(engine->wrap_up_done(org, AgentId("ana")).code(), "not_in_wrap_up");
}

TEST_F(EngineTest, CapacityLetsAnAgentHandleConcurrentCalls) {
  add_queue(queue("chat"));
  add_agent("ana", {}, in("chat"), true, /*capacity=*/2);
  enqueue(call("c1", "chat"));
  answer("c1", "ana");
  enqueue(call("c2", "chat"));
  EXPECT_THAT(offered("c2"), ElementsAre("ana"));
  answer("c2", "ana");
  enqueue(call("c3", "chat"));
  EXPECT_TRUE(offered("c3").empty());
  EXPECT_EQ(engine->agent(org, AgentId("ana"))->active_calls, 2);
}

// --- AI inputs --------------------------------------------------------------------------------

TEST_F(EngineTest, IntentRuleChoosesTheQueueAndAddsSkills) {
  add_queue(queue("main"));
  add_queue(queue("billing"));
  RoutingRules rules;
  IntentRule rule;
  rule.intent = "refund";
  rule.queue = QueueId("billing");
  rule.skills = {{"refunds", 6}};
  rules.intents = {rule};
  engine->set_rules(org, rules);
  add_agent("generalist", {}, in("billing"));
  add_agent("refunder", {{"refunds", 7}}, in("billing"));
  CallRequest c = call("c1", "main");
  c.intent = "refund";
  const CallPlacement placed = enqueue(c);
  EXPECT_EQ(placed.queue.str(), "billing");
  EXPECT_THAT(offered("c1"), ElementsAre("refunder"));
  EXPECT_THAT(engine->decisions(CallId("c1"))->front().summary, HasSubstr("intent rule 'refund'"));
}

TEST_F(EngineTest, VipTierAndVeryNegativeSentimentRaisePriority) {
  add_queue(queue("q"));
  RoutingRules rules;
  rules.tier_boost = {{"vip", 10}};
  rules.negative_sentiment_threshold = -0.6;
  rules.negative_sentiment_boost = 5;
  engine->set_rules(org, rules);
  CallRequest normal = call("normal", "q");
  CallRequest angry = call("angry", "q");
  angry.sentiment = -0.9;
  CallRequest vip = call("vip", "q");
  vip.customer_tier = "vip";
  EXPECT_EQ(enqueue(normal).priority, 0);
  EXPECT_EQ(enqueue(angry).priority, 5);
  EXPECT_EQ(enqueue(vip).priority, 10);
  EXPECT_EQ(engine->call(CallId("vip"))->position, 1u);
  EXPECT_EQ(engine->call(CallId("angry"))->position, 2u);
}

TEST_F(EngineTest, CallLanguageRequiresTheLanguageSkill) {
  add_queue(queue("q"));
  add_agent("en", {{"lang:en", 8}}, in("q"));
  add_agent("es", {{"lang:es", 8}}, in("q"));
  CallRequest c = call("c1", "q");
  c.language = "es";
  enqueue(c);
  EXPECT_THAT(offered("c1"), ElementsAre("es"));
}

TEST_F(EngineTest, CallWithoutQueueUsesTheDefaultQueueOrFails) {
  add_queue(queue("front"));
  CallRequest c = call("c1", "front");
  c.queue.reset();
  EXPECT_EQ(engine->enqueue_call(c).status().code(), "no_queue_for_call");
  RoutingRules rules;
  rules.default_queue = QueueId("front");
  engine->set_rules(org, rules);
  EXPECT_EQ(enqueue(c).queue.str(), "front");
}

// --- explainability ---------------------------------------------------------------------------

TEST_F(EngineTest, DecisionExplainsWhyAFreeAgentWasNotEligible) {
  add_queue(queue("q"));
  add_agent("Ana", {{"lang:en", 9}}, in("q"));
  CallRequest c = call("c1", "q");
  c.language = "es";
  enqueue(c);
  auto decisions = engine->decisions(CallId("c1"));
  ASSERT_TRUE(decisions.is_ok());
  ASSERT_EQ(decisions->size(), 1u);
  const RoutingDecision& d = decisions->front();
  EXPECT_FALSE(d.offered);
  EXPECT_EQ(d.trigger, "call_queued");
  ASSERT_EQ(d.candidates.size(), 1u);
  EXPECT_EQ(d.candidates[0].agent.str(), "Ana");
  EXPECT_EQ(d.candidates[0].verdict, "missing_skill:lang:es");
  EXPECT_THAT(d.summary, HasSubstr("none of 1 ready member agents is eligible"));
}

TEST_F(EngineTest, ExplainNowAnswersWhyACallWaitsWhileAnAgentIsFree) {
  add_queue(queue("q"));
  add_agent("ana", {{"lang:en", 9}}, in("q"));
  add_agent("busy", {{"lang:es", 9}}, in("q"));
  CallRequest other = call("other", "q");
  other.language = "es";
  enqueue(other);
  answer("other", "busy");
  CallRequest c = call("c1", "q");
  c.language = "es";
  enqueue(c);
  advance(240s);
  auto live = engine->explain_now(CallId("c1"));
  ASSERT_TRUE(live.is_ok());
  EXPECT_EQ(live->eligible, 0u);
  std::map<std::string, std::string> verdicts;
  for (const auto& cand : live->candidates) verdicts[cand.agent.str()] = cand.verdict;
  EXPECT_EQ(verdicts["ana"], "missing_skill:lang:es");
  EXPECT_EQ(verdicts["busy"], "not_ready:on_call");
}

TEST_F(EngineTest, DecisionRecordsAreBoundedPerCallAndKeptAfterTheCallEnds) {
  EngineOptions options;
  options.decisions_per_call = 3;
  testing::RecordingSink local_sink;
  Engine e(clock, local_sink, options);
  QueueConfig q = queue("q");
  q.offer_timeout = 5s;
  q.reoffer_delay = 0s;
  q.max_missed_offers = 0;
  ASSERT_TRUE(e.upsert_queue(q).is_ok());
  AgentConfig a;
  a.id = AgentId("ana");
  a.org = org;
  a.queues = in("q");
  ASSERT_TRUE(e.upsert_agent(a).is_ok());
  ASSERT_TRUE(e.set_presence(a.org, a.id, Presence::kAvailable).is_ok());
  ASSERT_TRUE(e.enqueue_call(call("c1", "q")).is_ok());
  for (int i = 0; i < 10; ++i) {
    clock.advance(5s);
    e.tick();
  }
  EXPECT_EQ(e.decisions(CallId("c1"))->size(), 3u);
  ASSERT_TRUE(e.call_ended(CallId("c1")).is_ok());
  EXPECT_EQ(e.decisions(CallId("c1"))->size(), 3u);
  EXPECT_EQ(e.decisions(CallId("nope")).status().code(), "call_not_found");
}

// --- events, views, estimates -----------------------------------------------------------------

TEST_F(EngineTest, AgentStateChangesAreEmittedThroughTheCallLifecycle) {
  QueueConfig q = queue("q");
  q.wrap_up = 10s;
  add_queue(q);
  add_agent("ana", {}, in("q"));
  enqueue(call("c1", "q"));
  answer("c1", "ana");
  hang_up("c1");
  advance(10s);
  std::vector<std::string> states;
  for (const auto& e : sink.of(RoutingEventType::kAgentStateChanged)) {
    states.push_back(std::string(agent_state_name(e.to_state)));
  }
  EXPECT_THAT(states, ElementsAre("available", "reserved", "on_call", "wrap_up", "available"));
  std::vector<std::string> names;
  for (const auto& e : sink.events) {
    if (e.type != RoutingEventType::kAgentStateChanged) names.push_back(std::string(routing_event_name(e.type)));
  }
  EXPECT_THAT(names, ElementsAre("route.queued", "route.offered", "route.accepted", "route.completed"));
}

TEST_F(EngineTest, EstimatedWaitUsesRecentHandleTimesAndStaffedAgents) {
  QueueConfig q = queue("q");
  q.default_handle_time = 300s;
  add_queue(q);
  add_agent("a", {}, in("q"));
  add_agent("b", {}, in("q"));
  // Two calls handled in 120 s each teach the queue its AHT.
  enqueue(call("w1", "q"));
  enqueue(call("w2", "q"));
  answer("w1", "a");
  answer("w2", "b");
  advance(120s);
  hang_up("w1");
  hang_up("w2");
  enqueue(call("x1", "q"));
  enqueue(call("x2", "q"));
  answer("x1", offered("x1")[0]);
  answer("x2", offered("x2")[0]);
  const CallPlacement first = enqueue(call("y1", "q"));
  const CallPlacement second = enqueue(call("y2", "q"));
  EXPECT_EQ(first.position, 1u);
  EXPECT_EQ(*first.estimated_wait, 60s);    // 1 x 120 s / 2 agents
  EXPECT_EQ(*second.estimated_wait, 120s);  // 2 x 120 s / 2 agents
  auto view = engine->queue_view(org, QueueId("q"));
  ASSERT_TRUE(view.is_ok());
  EXPECT_EQ(view->average_handle_time, 120s);
  EXPECT_EQ(view->waiting, 2u);
  EXPECT_EQ(view->agents_by_state["on_call"], 2);
  EXPECT_EQ(view->stats.answered, 4u);
  EXPECT_DOUBLE_EQ(view->stats.service_level(), 1.0);
}

TEST_F(EngineTest, ServiceLevelCountsAnswersWithinTheThresholdAndAbandons) {
  QueueConfig q = queue("q");
  q.service_level_threshold = 20s;
  add_queue(q);
  add_agent("ana", {}, in("q"), /*login=*/false);
  enqueue(call("fast", "q"));
  enqueue(call("slow", "q"));
  enqueue(call("gone", "q"));
  advance(10s);
  ASSERT_TRUE(engine->set_presence(org, AgentId("ana"), Presence::kAvailable).is_ok());
  answer("fast", "ana");
  advance(20s);
  hang_up("fast");
  answer("slow", "ana");
  hang_up("gone");
  auto stats = engine->queue_view(org, QueueId("q"))->stats;
  EXPECT_EQ(stats.answered, 2u);
  EXPECT_EQ(stats.answered_within_threshold, 1u);
  EXPECT_EQ(stats.abandoned, 1u);
  EXPECT_NEAR(stats.service_level(), 1.0 / 3.0, 1e-9);
  EXPECT_EQ(stats.average_speed_of_answer(), 20s);  // (10 + 30) / 2
}

// --- validation -------------------------------------------------------------------------------

TEST_F(EngineTest, InvalidConfigurationIsRejectedWithStableCodes) {
  QueueConfig bad = queue("q");
  bad.required_skills = {{"x", 11}};
  EXPECT_EQ(engine->upsert_queue(bad).code(), "invalid_proficiency");
  QueueConfig overflow = queue("q");
  overflow.max_wait_action = MaxWaitAction::kOverflow;
  overflow.overflow_queue = QueueId("missing");
  EXPECT_EQ(engine->upsert_queue(overflow).code(), "queue_not_found");
  add_queue(queue("q"));
  AgentConfig a;
  a.id = AgentId("ana");
  a.org = org;
  a.skills = {{"x", 0}};
  EXPECT_EQ(engine->upsert_agent(a).code(), "invalid_proficiency");
  a.skills = {};
  a.queues = in("nope");
  EXPECT_EQ(engine->upsert_agent(a).code(), "queue_not_found");
  a.org = OrgId("other-org");
  a.queues = in("q");  // another organisation's queue of the same id does not exist for it
  EXPECT_EQ(engine->upsert_agent(a).code(), "queue_not_found");
  EXPECT_EQ(engine->set_presence(org, AgentId("ghost"), Presence::kAvailable).code(), "agent_not_found");
  CallRequest c = call("c1", "q");
  c.org = OrgId("other-org");
  EXPECT_EQ(engine->enqueue_call(c).status().code(), "queue_not_found");
  enqueue(call("c1", "q"));
  EXPECT_EQ(engine->enqueue_call(call("c1", "q")).status().code(), "call_exists");
  EXPECT_EQ(engine->remove_queue(org, QueueId("q")).code(), "queue_in_use");
}

TEST_F(EngineTest, AddingASkillToAnIdleAgentRoutesTheWaitingCall) {
  add_queue(queue("q"));
  add_agent("ana", {}, in("q"));
  CallRequest c = call("c1", "q");
  c.required_skills = {{"french", 5}};
  enqueue(c);
  EXPECT_TRUE(offered("c1").empty());
  AgentConfig a;
  a.id = AgentId("ana");
  a.org = org;
  a.name = "ana";
  a.skills = {{"french", 6}};
  a.queues = in("q");
  ASSERT_TRUE(engine->upsert_agent(a).is_ok());
  EXPECT_THAT(offered("c1"), ElementsAre("ana"));
}

TEST_F(EngineTest, OrganisationsOwnTheirQueueAndAgentIdsAndNeverReachEachOthers) {
  const OrgId other("org-2");
  add_queue(queue("support"));
  add_agent("ana", {}, in("support"));
  // The other organisation creates the same ids: its own queue and agent, not ours.
  QueueConfig theirs = queue("support");
  theirs.org = other;
  theirs.name = "their support";
  ASSERT_TRUE(engine->upsert_queue(theirs).is_ok());
  AgentConfig bob;
  bob.id = AgentId("ana");
  bob.org = other;
  bob.name = "their ana";
  bob.queues = in("support");
  ASSERT_TRUE(engine->upsert_agent(bob).is_ok());
  EXPECT_EQ(engine->queue_view(org, QueueId("support"))->config.name, "support");
  EXPECT_EQ(engine->queue_view(other, QueueId("support"))->config.name, "their support");
  EXPECT_EQ(engine->agent(org, AgentId("ana"))->name, "ana");
  EXPECT_EQ(engine->agent(other, AgentId("ana"))->name, "their ana");
  EXPECT_EQ(engine->agent(other, AgentId("ana"))->state, AgentState::kOffline);
  EXPECT_EQ(engine->queues(other).size(), 1U);

  // Our call is offered to our agent only; theirs (offline) is untouched, and their call waits.
  enqueue(call("c1", "support"));
  EXPECT_THAT(offered("c1"), ElementsAre("ana"));
  CallRequest their_call = call("c2", "support");
  their_call.org = other;
  enqueue(their_call);
  EXPECT_TRUE(offered("c2").empty());
  EXPECT_EQ(engine->queue_view(other, QueueId("support"))->waiting, 1U);
  EXPECT_EQ(engine->queue_view(org, QueueId("support"))->waiting, 0U);
  // Their agent cannot take our call, and their presence change does not touch ours.
  EXPECT_EQ(engine->accept_offer(CallId("c2"), AgentId("ana")).code(), "offer_not_found");
  ASSERT_TRUE(engine->set_presence(other, AgentId("ana"), Presence::kBreak, "lunch").is_ok());
  EXPECT_EQ(engine->agent(org, AgentId("ana"))->state, AgentState::kReserved);
  answer("c1", "ana");
  // Removing their queue leaves ours.
  EXPECT_EQ(engine->remove_queue(other, QueueId("support")).code(), "queue_in_use");
  EXPECT_EQ(engine->remove_agent(other, AgentId("ana")).code(), "ok");
  EXPECT_TRUE(engine->agent(org, AgentId("ana")).is_ok());
  EXPECT_EQ(engine->agent(other, AgentId("ana")).status().code(), "agent_not_found");
}

}  // namespace
}  // namespace vontres::routing
