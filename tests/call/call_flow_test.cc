#include "telephony/call/call_flow.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vontres::telephony {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Records every action as a short line, and every published event type in order.
class RecordingActions final : public CallActions {
 public:
  void answer_caller(const CallId&) override { log("answer"); }
  void play(const CallId&, Leg leg, const std::string& prompt, bool loop) override {
    log("play " + std::string(leg_name(leg)) + " " + prompt + (loop ? " loop" : ""));
  }
  void stop_playing(const CallId&, Leg leg) override { log("stop " + std::string(leg_name(leg))); }
  void enqueue(const CallId&, const QueueId& queue, const std::string& intent) override {
    log("enqueue " + queue.str() + (intent.empty() ? "" : " " + intent));
  }
  void ring_agent(const CallId&, const AgentId& agent) override { log("ring " + agent.str()); }
  void ring_consult(const CallId&, const AgentId& agent) override { log("ring_consult " + agent.str()); }
  void enqueue_consult(const CallId&, const QueueId& queue, const std::string&) override {
    log("enqueue_consult " + queue.str());
  }
  void withdraw_from_acd(const CallId& acd_call, const std::string& reason) override {
    log("withdraw " + acd_call.str() + " " + reason);
  }
  void bridge_consult(const CallId&) override { log("bridge_consult"); }
  void promote_consult(const CallId&) override { log("promote"); }
  void dial_destination(const CallId&, const std::string& destination) override { log("dial " + destination); }
  void cancel_ringing(const CallId&, Leg leg) override { log("cancel " + std::string(leg_name(leg))); }
  void bridge(const CallId&) override { log("bridge"); }
  void unbridge(const CallId&) override { log("unbridge"); }
  void hang_up(const CallId&, Leg leg) override { log("bye " + std::string(leg_name(leg))); }
  // ACD commands about a consultation's own ACD call are marked " consult".
  void accept_offer(const CallId& id, const AgentId& agent) override { log("accept " + agent.str() + tag(id)); }
  void decline_offer(const CallId& id, const AgentId& agent, const std::string& reason) override {
    log("decline " + agent.str() + " " + reason + tag(id));
  }
  void call_ended_in_acd(const CallId& id) override { log("acd_ended" + tag(id)); }
  void publish(const CallId&, const std::string& type, nlohmann::json data) override {
    events.push_back(type);
    last_data[type] = std::move(data);
  }
  void finished(const CallSnapshot& call) override { finished_calls.push_back(call); }

  // Returns the actions since the last call and forgets them.
  std::vector<std::string> take() { return std::exchange(actions, {}); }

  std::vector<std::string> actions;
  std::vector<std::string> events;
  std::map<std::string, nlohmann::json> last_data;
  std::vector<CallSnapshot> finished_calls;

 private:
  void log(std::string line) { actions.push_back(std::move(line)); }
  static std::string tag(const CallId& id) { return call_of_consult_acd_id(id) ? " consult" : ""; }
};

CallFlowOptions menu_options() {
  TelephonyConfig config;
  config.ivr_options = {{"1", "sales", "", {"sales", "buy something"}},
                        {"2", "support", "technical_support", {"support", "help with my router"}}};
  config.ivr_default_queue = "general";
  config.ivr_menu_timeout = std::chrono::seconds(5);
  config.ivr_max_attempts = 2;
  config.numbers = {{"+15550100", "vip"}};
  return call_flow_options_from_config(config);
}

class CallFlowTest : public ::testing::Test {
 protected:
  CallFlowTest() : flow_(clock_, actions_, menu_options()) {}

  // An inbound call that has heard the welcome prompt and the menu.
  void call_in_menu() {
    flow_.on_inbound(
        {call_, OrgId("org-1"), "sip-call-1", "sip:alice@example.com", "sip:help@vontres", "100", std::nullopt});
    flow_.on_prompt_finished(call_, Leg::kCaller, "welcome");
    flow_.on_prompt_finished(call_, Leg::kCaller, "menu");
    actions_.take();
  }
  void call_ringing_agent() {
    call_in_menu();
    flow_.on_dtmf(call_, Leg::kCaller, '2');
    flow_.on_offered(call_, agent_);
    actions_.take();
  }
  void call_connected() {
    call_ringing_agent();
    clock_.advance(std::chrono::seconds(4));
    flow_.on_agent_answered(call_);
    actions_.take();
  }
  std::string end_reason() const {
    return actions_.finished_calls.empty() ? ""
                                           : std::string(end_reason_name(*actions_.finished_calls.back().end_reason));
  }

  ManualClock clock_;
  RecordingActions actions_;
  CallFlow flow_;
  CallId call_{"call-1"};
  AgentId agent_{"agent-7"};
};

TEST_F(CallFlowTest, AnswersPlaysWelcomeThenMenuAndRoutesTheChosenDigit) {
  flow_.on_inbound(
      {call_, OrgId("org-1"), "sip-call-1", "sip:alice@example.com", "sip:help@vontres", "100", std::nullopt});
  EXPECT_THAT(actions_.take(), ElementsAre("answer", "play caller welcome"));
  flow_.on_prompt_finished(call_, Leg::kCaller, "welcome");
  EXPECT_THAT(actions_.take(), ElementsAre("play caller menu"));
  flow_.on_dtmf(call_, Leg::kCaller, '2');  // barge-in while the menu plays
  EXPECT_THAT(actions_.take(),
              ElementsAre("stop caller", "play caller hold-music loop", "enqueue support technical_support"));
  EXPECT_THAT(actions_.events, ElementsAre("call.started", "call.ivr_choice", "call.queued"));
  EXPECT_EQ(flow_.snapshot(call_)->phase, CallPhase::kQueued);
}

TEST_F(CallFlowTest, FullCallRingsAgentBridgesAndEndsBothLegsWhenTheCallerHangsUp) {
  call_in_menu();
  flow_.on_dtmf(call_, Leg::kCaller, '1');
  actions_.take();
  flow_.on_offered(call_, agent_);
  EXPECT_THAT(actions_.take(), ElementsAre("ring agent-7"));
  clock_.advance(std::chrono::seconds(7));
  flow_.on_agent_answered(call_);
  EXPECT_THAT(actions_.take(), ElementsAre("stop caller", "accept agent-7", "bridge"));
  EXPECT_EQ(actions_.last_data["call.answered"]["wait_ms"], 7000);
  clock_.advance(std::chrono::seconds(60));
  flow_.on_hangup(call_, Leg::kCaller);
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye agent", "acd_ended"));
  EXPECT_EQ(end_reason(), "caller_hangup");
  EXPECT_EQ(actions_.last_data["call.ended"]["talk_ms"], 60000);
  EXPECT_EQ(flow_.size(), 0U);
  EXPECT_THAT(actions_.events, ElementsAre("call.started", "call.ivr_choice", "call.queued", "call.ringing",
                                           "call.answered", "call.ended"));
}

TEST_F(CallFlowTest, AgentHangupEndsTheCallerLeg) {
  call_connected();
  flow_.on_hangup(call_, Leg::kAgent);
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye caller", "acd_ended"));
  EXPECT_EQ(end_reason(), "agent_hangup");
}

TEST_F(CallFlowTest, BusyAgentSendsTheCallBackToTheAcdWhichOffersAnother) {
  call_ringing_agent();
  flow_.on_agent_failed(call_, 486);
  EXPECT_THAT(actions_.take(), ElementsAre("decline agent-7 busy"));
  EXPECT_EQ(flow_.snapshot(call_)->phase, CallPhase::kQueued);
  flow_.on_offered(call_, AgentId("agent-8"));
  EXPECT_THAT(actions_.take(), ElementsAre("ring agent-8"));
  EXPECT_EQ(flow_.snapshot(call_)->agent_attempts, 2);
}

TEST_F(CallFlowTest, NoAnswerIsDeclinedAsNoAnswer) {
  call_ringing_agent();
  flow_.on_agent_failed(call_, 408);
  EXPECT_THAT(actions_.take(), ElementsAre("decline agent-7 no_answer"));
}

TEST_F(CallFlowTest, WithdrawnOfferCancelsTheAgentsPhoneAndKeepsTheCallQueued) {
  call_ringing_agent();
  flow_.on_offer_withdrawn(call_, agent_);
  EXPECT_THAT(actions_.take(), ElementsAre("cancel agent"));
  EXPECT_EQ(flow_.snapshot(call_)->phase, CallPhase::kQueued);
  flow_.on_agent_failed(call_, 487);  // the cancelled INVITE's answer changes nothing
  EXPECT_THAT(actions_.take(), IsEmpty());
}

TEST_F(CallFlowTest, CallerHangingUpWhileTheAgentRingsIsAbandoned) {
  call_ringing_agent();
  flow_.on_hangup(call_, Leg::kCaller);
  EXPECT_THAT(actions_.take(), ElementsAre("cancel agent", "acd_ended"));
  EXPECT_EQ(end_reason(), "abandoned");
}

TEST_F(CallFlowTest, CallerHangingUpInTheQueueIsAbandoned) {
  call_in_menu();
  flow_.on_dtmf(call_, Leg::kCaller, '1');
  actions_.take();
  clock_.advance(std::chrono::seconds(30));
  flow_.on_hangup(call_, Leg::kCaller);
  EXPECT_THAT(actions_.take(), ElementsAre("acd_ended"));
  EXPECT_EQ(end_reason(), "abandoned");
  EXPECT_EQ(actions_.last_data["call.ended"]["wait_ms"], 30000);
}

TEST_F(CallFlowTest, CallerHangingUpInTheIvrNeverTouchesTheAcd) {
  call_in_menu();
  flow_.on_hangup(call_, Leg::kCaller);
  EXPECT_THAT(actions_.take(), IsEmpty());
  EXPECT_EQ(end_reason(), "abandoned");
}

TEST_F(CallFlowTest, InvalidDigitReplaysTheMenuThenFallsBackToTheDefaultQueue) {
  call_in_menu();
  flow_.on_dtmf(call_, Leg::kCaller, '9');
  EXPECT_THAT(actions_.take(), ElementsAre("stop caller", "play caller invalid-option"));
  flow_.on_prompt_finished(call_, Leg::kCaller, "invalid-option");
  EXPECT_THAT(actions_.take(), ElementsAre("play caller menu"));
  flow_.on_dtmf(call_, Leg::kCaller, '7');
  EXPECT_THAT(actions_.take(), ElementsAre("stop caller", "play caller hold-music loop", "enqueue general"));
  EXPECT_EQ(flow_.snapshot(call_)->digits, "97");
}

TEST_F(CallFlowTest, SilenceAfterTheMenuRepeatsItThenQueuesToTheDefault) {
  call_in_menu();
  EXPECT_EQ(flow_.next_deadline(), clock_.now() + std::chrono::seconds(5));
  clock_.advance(std::chrono::milliseconds(4999));
  flow_.on_timer();
  EXPECT_THAT(actions_.take(), IsEmpty());
  clock_.advance(std::chrono::milliseconds(1));
  flow_.on_timer();
  EXPECT_THAT(actions_.take(), ElementsAre("play caller menu"));
  EXPECT_FALSE(flow_.next_deadline().has_value());  // no deadline while the menu plays
  flow_.on_prompt_finished(call_, Leg::kCaller, "menu");
  clock_.advance(std::chrono::seconds(5));
  flow_.on_timer();
  EXPECT_THAT(actions_.take(), ElementsAre("play caller hold-music loop", "enqueue general"));
}

TEST_F(CallFlowTest, SpokenPhraseOnWordBoundariesPicksTheOption) {
  call_in_menu();
  flow_.on_speech(call_, Leg::kCaller, "I would like to BUY SOMETHING please");
  EXPECT_THAT(actions_.take(), ElementsAre("stop caller", "play caller hold-music loop", "enqueue sales"));
}

TEST_F(CallFlowTest, SpeechThatOnlyContainsAPhraseInsideAWordDoesNotMatch) {
  call_in_menu();
  flow_.on_speech(call_, Leg::kCaller, "wholesales figures");  // "sales" inside a word
  EXPECT_THAT(actions_.take(), IsEmpty());
}

TEST_F(CallFlowTest, DetectedIntentWithoutAMenuOptionGoesToRoutingRules) {
  call_in_menu();
  flow_.on_speech(call_, Leg::kCaller, "my card was charged twice", "billing_dispute");
  EXPECT_THAT(actions_.take(),
              ElementsAre("stop caller", "play caller hold-music loop", "enqueue general billing_dispute"));
}

TEST_F(CallFlowTest, DialledNumberMappedToAQueueSkipsTheIvr) {
  flow_.on_inbound(
      {call_, OrgId("org-1"), "sip-call-1", "sip:bob@example.com", "sip:+15550100@vontres", "+15550100", std::nullopt});
  EXPECT_THAT(actions_.take(), ElementsAre("answer", "play caller hold-music loop", "enqueue vip"));
}

TEST_F(CallFlowTest, AnOrganisationsClaimedNumberGoesToItsQueueBeforeTheConfiguredNumbers) {
  flow_.on_inbound({call_, OrgId("org-2"), "sip-call-1", "sip:bob@example.com", "sip:+15550100@vontres", "+15550100",
                    QueueId("claimed")});
  EXPECT_THAT(actions_.take(), ElementsAre("answer", "play caller hold-music loop", "enqueue claimed"));
}

TEST_F(CallFlowTest, AcdRefusingTheCallPlaysUnavailableThenHangsUp) {
  call_in_menu();
  flow_.on_dtmf(call_, Leg::kCaller, '1');
  actions_.take();
  flow_.on_routing_exit(call_, "queue_full");
  EXPECT_THAT(actions_.take(), ElementsAre("play caller agent-unavailable"));
  flow_.on_offered(call_, agent_);  // a late offer is declined, not rung
  EXPECT_THAT(actions_.take(), ElementsAre("decline agent-7 call_not_waiting"));
  flow_.on_prompt_finished(call_, Leg::kCaller, "agent-unavailable");
  EXPECT_THAT(actions_.take(), ElementsAre("bye caller"));
  EXPECT_EQ(end_reason(), "no_agent");
}

TEST_F(CallFlowTest, HoldPlaysMusicToTheCallerAndResumeBridgesAgain) {
  call_connected();
  ASSERT_TRUE(flow_.hold(call_, true).is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "play caller hold-music loop"));
  EXPECT_TRUE(flow_.snapshot(call_)->on_hold);
  ASSERT_TRUE(flow_.hold(call_, false).is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("stop caller", "bridge"));
  EXPECT_EQ(flow_.hold(CallId("nope"), true).code(), "call_not_found");
}

TEST_F(CallFlowTest, HoldBeforeTheAgentAnswersIsRefused) {
  call_ringing_agent();
  EXPECT_EQ(flow_.hold(call_, true).code(), "invalid_call_state");
}

TEST_F(CallFlowTest, RemoteReInviteHoldFromTheAgentsPhoneIsTheSameAsHold) {
  call_connected();
  flow_.on_remote_hold(call_, Leg::kAgent, true);
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "play caller hold-music loop"));
  flow_.on_remote_hold(call_, Leg::kCaller, true);  // the caller holding us needs nothing
  EXPECT_THAT(actions_.take(), IsEmpty());
  EXPECT_EQ(actions_.events.back(), "call.held");
}

TEST_F(CallFlowTest, BlindTransferReleasesTheAgentAndQueuesTheCallerAgain) {
  call_connected();
  ASSERT_TRUE(flow_.transfer_to_queue(call_, QueueId("billing")).is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye agent", "acd_ended", "play caller hold-music loop",
                                           "enqueue billing technical_support"));
  EXPECT_EQ(flow_.snapshot(call_)->phase, CallPhase::kQueued);
  EXPECT_TRUE(flow_.snapshot(call_)->agent.empty());
}

TEST_F(CallFlowTest, BlindTransferToAnAgentRingsThemOutsideTheAcd) {
  call_connected();
  ASSERT_TRUE(flow_.transfer_to_agent(call_, AgentId("agent-9")).is_ok());
  EXPECT_THAT(actions_.take(),
              ElementsAre("unbridge", "bye agent", "acd_ended", "play caller hold-music loop", "ring agent-9"));
  flow_.on_agent_answered(call_);
  EXPECT_THAT(actions_.take(), ElementsAre("stop caller", "bridge"));  // no accept: the ACD made no offer
  EXPECT_EQ(flow_.snapshot(call_)->agent, AgentId("agent-9"));
  EXPECT_EQ(flow_.transfer_to_agent(call_, AgentId("agent-9")).code(), "same_agent");
}

TEST_F(CallFlowTest, TransferTargetNotAnsweringQueuesTheCallerAgain) {
  call_connected();
  ASSERT_TRUE(flow_.transfer_to_agent(call_, AgentId("agent-9")).is_ok());
  actions_.take();
  flow_.on_agent_failed(call_, 486);
  EXPECT_THAT(actions_.take(), ElementsAre("play caller hold-music loop", "enqueue support technical_support"));
  EXPECT_EQ(flow_.snapshot(call_)->phase, CallPhase::kQueued);
}

TEST_F(CallFlowTest, HangupThroughTheApiEndsEveryLeg) {
  call_connected();
  ASSERT_TRUE(flow_.hang_up(call_).is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye agent", "bye caller", "acd_ended"));
  EXPECT_EQ(end_reason(), "hangup_by_api");
  EXPECT_EQ(flow_.hang_up(call_).code(), "call_not_found");
}

TEST_F(CallFlowTest, MediaTimeoutEndsTheCall) {
  call_connected();
  flow_.on_media_timeout(call_, Leg::kCaller);
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye caller", "bye agent", "acd_ended"));
  EXPECT_EQ(end_reason(), "media_timeout");
}

TEST_F(CallFlowTest, OriginateRingsTheAgentThenDialsAndBridges) {
  ASSERT_TRUE(flow_.originate(call_, OrgId("org-1"), agent_, "sip:+15551234@trunk").is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("ring agent-7"));
  flow_.on_agent_answered(call_);
  EXPECT_THAT(actions_.take(), ElementsAre("dial sip:+15551234@trunk"));
  flow_.on_destination_answered(call_);
  EXPECT_THAT(actions_.take(), ElementsAre("bridge"));
  flow_.on_hangup(call_, Leg::kCaller);
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye agent"));
  EXPECT_EQ(end_reason(), "caller_hangup");
  EXPECT_EQ(flow_.originate(CallId("x"), OrgId("org-1"), agent_, "").code(), "invalid_destination");
}

TEST_F(CallFlowTest, OriginateToABusyDestinationHangsUpTheAgent) {
  ASSERT_TRUE(flow_.originate(call_, OrgId("org-1"), agent_, "sip:+15551234@trunk").is_ok());
  flow_.on_agent_answered(call_);
  actions_.take();
  flow_.on_destination_failed(call_, 486);
  EXPECT_THAT(actions_.take(), ElementsAre("bye agent"));
  EXPECT_EQ(end_reason(), "destination_failed");
}

TEST_F(CallFlowTest, AgentAnsweringAfterTheCallerLeftIsHungUp) {
  call_ringing_agent();
  flow_.on_hangup(call_, Leg::kCaller);
  actions_.take();
  flow_.on_agent_answered(call_);  // unknown call now: nothing to bridge
  EXPECT_THAT(actions_.take(), IsEmpty());
}

TEST_F(CallFlowTest, SnapshotJsonCarriesPhaseQueueAndAgent) {
  call_connected();
  const nlohmann::json j = flow_.snapshot(call_)->to_json();
  EXPECT_EQ(j["phase"], "connected");
  EXPECT_EQ(j["queue"], "support");
  EXPECT_EQ(j["agent"], "agent-7");
  EXPECT_EQ(j["direction"], "inbound");
  EXPECT_TRUE(j["ended_at"].is_null());
}

// ---- attended transfer --------------------------------------------------------------------------

class ConsultTest : public CallFlowTest {
 protected:
  // Agent A (agent-7) talks to the caller and starts a consultation with agent-8.
  void consulting_agent() {
    call_connected();
    ASSERT_TRUE(flow_.consult(call_, {agent_b_, {}}).is_ok());
    actions_.take();
  }
  void consult_answered() {
    consulting_agent();
    flow_.on_consult_answered(call_);
    actions_.take();
  }
  std::vector<std::string> events_from(const std::string& first) const {
    auto it = std::find(actions_.events.begin(), actions_.events.end(), first);
    return {it, actions_.events.end()};
  }

  AgentId agent_b_{"agent-8"};
};

TEST_F(ConsultTest, ConsultHoldsTheCallerWithMusicAndRingsAgentB) {
  call_connected();
  ASSERT_TRUE(flow_.consult(call_, {agent_b_, {}}).is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "play caller hold-music loop", "play agent hold-music loop",
                                           "ring_consult agent-8"));
  const auto snap = flow_.snapshot(call_);
  EXPECT_EQ(snap->phase, CallPhase::kConsulting);
  EXPECT_TRUE(snap->on_hold);
  ASSERT_TRUE(snap->consult.has_value());
  EXPECT_EQ(snap->consult->agent, agent_b_);
  EXPECT_EQ(snap->consult->from_agent, agent_);
  EXPECT_FALSE(snap->consult->answered);
  EXPECT_EQ(actions_.last_data["call.consult_started"]["consult_agent"], "agent-8");
  EXPECT_EQ(actions_.last_data["call.consult_started"]["from_agent"], "agent-7");
}

TEST_F(ConsultTest, AnsweredConsultBridgesTheTwoAgentsAndCompleteHandsTheCallerToB) {
  consulting_agent();
  flow_.on_consult_answered(call_);
  EXPECT_THAT(actions_.take(), ElementsAre("stop agent", "bridge_consult"));
  EXPECT_TRUE(flow_.snapshot(call_)->consult->answered);
  ASSERT_TRUE(flow_.complete_consult(call_).is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye agent", "acd_ended", "promote", "stop caller", "bridge"));
  auto snap = flow_.snapshot(call_);
  EXPECT_EQ(snap->phase, CallPhase::kConnected);
  EXPECT_FALSE(snap->on_hold);
  EXPECT_FALSE(snap->consult.has_value());
  EXPECT_EQ(snap->agent, agent_b_);
  EXPECT_THAT(snap->agents, ElementsAre(agent_, agent_b_));
  const auto& transferred = actions_.last_data["call.transferred"];
  EXPECT_EQ(transferred["kind"], "attended");
  EXPECT_EQ(transferred["from_agent"], "agent-7");
  EXPECT_EQ(transferred["to_agent"], "agent-8");
  EXPECT_EQ(transferred["agent"], "agent-8");
  // B talks to the caller now: the caller hanging up ends B's leg; A's ACD part ended already.
  flow_.on_hangup(call_, Leg::kCaller);
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye agent"));
  EXPECT_EQ(end_reason(), "caller_hangup");
  EXPECT_THAT(events_from("call.consult_started"),
              ElementsAre("call.consult_started", "call.consult_answered", "call.transferred", "call.ended"));
  EXPECT_THAT(actions_.finished_calls.back().agents, ElementsAre(agent_, agent_b_));
}

TEST_F(ConsultTest, CancelWhileBRingsCancelsTheInviteAndTheCallerResumesWithA) {
  consulting_agent();
  ASSERT_TRUE(flow_.cancel_consult(call_).is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("cancel consult", "stop caller", "stop agent", "bridge"));
  const auto snap = flow_.snapshot(call_);
  EXPECT_EQ(snap->phase, CallPhase::kConnected);
  EXPECT_EQ(snap->agent, agent_);
  EXPECT_FALSE(snap->on_hold);
  EXPECT_EQ(actions_.last_data["call.consult_cancelled"]["reason"], "cancelled");
  // A late answer from B (crossing the CANCEL) is hung up, not bridged.
  flow_.on_consult_answered(call_);
  EXPECT_THAT(actions_.take(), ElementsAre("bye consult"));
}

TEST_F(ConsultTest, CancelAfterBAnsweredHangsUpBAndResumesWithA) {
  consult_answered();
  ASSERT_TRUE(flow_.cancel_consult(call_).is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye consult", "stop caller", "stop agent", "bridge"));
  EXPECT_EQ(flow_.snapshot(call_)->phase, CallPhase::kConnected);
  EXPECT_THAT(flow_.snapshot(call_)->agents, ElementsAre(agent_));
}

TEST_F(ConsultTest, BusyConsultTargetFailsTheConsultAndTheCallerGoesBackToA) {
  consulting_agent();
  flow_.on_consult_failed(call_, 486);
  EXPECT_THAT(actions_.take(), ElementsAre("stop caller", "stop agent", "bridge"));
  EXPECT_EQ(actions_.last_data["call.consult_failed"]["reason"], "busy");
  EXPECT_EQ(actions_.last_data["call.consult_failed"]["sip_status"], 486);
  EXPECT_EQ(flow_.snapshot(call_)->phase, CallPhase::kConnected);
  EXPECT_EQ(flow_.snapshot(call_)->agent, agent_);
  // A later failure report for the same (finished) attempt changes nothing.
  flow_.on_consult_failed(call_, 408);
  EXPECT_THAT(actions_.take(), IsEmpty());
}

TEST_F(ConsultTest, UnansweredConsultFailsAsNoAnswer) {
  consulting_agent();
  flow_.on_consult_failed(call_, 408);
  EXPECT_EQ(actions_.last_data["call.consult_failed"]["reason"], "no_answer");
}

TEST_F(ConsultTest, BHangingUpEndsTheConsultAndTheCallerGoesBackToA) {
  consult_answered();
  flow_.on_hangup(call_, Leg::kConsult);
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "stop caller", "stop agent", "bridge"));  // no BYE to a gone leg
  EXPECT_EQ(actions_.last_data["call.consult_cancelled"]["reason"], "consult_hangup");
  EXPECT_EQ(flow_.snapshot(call_)->phase, CallPhase::kConnected);
}

TEST_F(ConsultTest, CallerHangingUpWhileBRingsEndsEveryLeg) {
  consulting_agent();
  flow_.on_hangup(call_, Leg::kCaller);
  EXPECT_THAT(actions_.take(), ElementsAre("cancel consult", "bye agent", "acd_ended"));
  EXPECT_EQ(end_reason(), "abandoned_during_consult");
  EXPECT_EQ(flow_.size(), 0U);
}

TEST_F(ConsultTest, CallerHangingUpWhileTheAgentsTalkEndsEveryLeg) {
  consult_answered();
  flow_.on_hangup(call_, Leg::kCaller);
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye consult", "bye agent", "acd_ended"));
  EXPECT_EQ(end_reason(), "abandoned_during_consult");
}

TEST_F(ConsultTest, AHangingUpAfterBAnsweredCompletesTheTransfer) {
  consult_answered();
  flow_.on_hangup(call_, Leg::kAgent);
  EXPECT_THAT(actions_.take(), ElementsAre("acd_ended", "unbridge", "promote", "stop caller", "bridge"));
  EXPECT_EQ(flow_.snapshot(call_)->agent, agent_b_);
  EXPECT_EQ(actions_.last_data["call.transferred"]["initiator_left"], true);
  EXPECT_EQ(actions_.last_data["call.transferred"]["kind"], "attended");
}

TEST_F(ConsultTest, AHangingUpWhileBRingsCompletesWhenBAnswers) {
  consulting_agent();
  flow_.on_hangup(call_, Leg::kAgent);
  EXPECT_THAT(actions_.take(), ElementsAre("acd_ended"));
  EXPECT_TRUE(flow_.snapshot(call_)->consult->initiator_left);
  flow_.on_consult_answered(call_);
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "promote", "stop caller", "bridge"));
  EXPECT_EQ(flow_.snapshot(call_)->phase, CallPhase::kConnected);
  EXPECT_EQ(flow_.snapshot(call_)->agent, agent_b_);
}

TEST_F(ConsultTest, AHangingUpAndBNotAnsweringQueuesTheCallerAgain) {
  consulting_agent();
  flow_.on_hangup(call_, Leg::kAgent);
  actions_.take();
  flow_.on_consult_failed(call_, 486);
  EXPECT_THAT(actions_.take(), ElementsAre("play caller hold-music loop", "enqueue support technical_support"));
  EXPECT_EQ(flow_.snapshot(call_)->phase, CallPhase::kQueued);
  EXPECT_TRUE(flow_.snapshot(call_)->agent.empty());
}

TEST_F(ConsultTest, ConsultToAQueueAsksTheAcdAndAcceptsItsOffer) {
  call_connected();
  ASSERT_TRUE(flow_.consult(call_, {{}, QueueId("billing")}).is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "play caller hold-music loop", "play agent hold-music loop",
                                           "enqueue_consult billing"));
  flow_.on_consult_offered(call_, agent_b_);
  EXPECT_THAT(actions_.take(), ElementsAre("ring_consult agent-8"));
  flow_.on_consult_answered(call_);
  EXPECT_THAT(actions_.take(), ElementsAre("accept agent-8 consult", "stop agent", "bridge_consult"));
  ASSERT_TRUE(flow_.complete_consult(call_).is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye agent", "acd_ended", "promote", "stop caller", "bridge"));
  EXPECT_EQ(actions_.last_data["call.transferred"]["to_queue"], "billing");
  flow_.on_hangup(call_, Leg::kAgent);  // B's part in the ACD ends with the call
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye caller", "acd_ended consult"));
  EXPECT_EQ(end_reason(), "agent_hangup");
}

TEST_F(ConsultTest, QueueConsultDeclinesABusyAgentAndRingsTheNextOffer) {
  call_connected();
  ASSERT_TRUE(flow_.consult(call_, {{}, QueueId("billing")}).is_ok());
  flow_.on_consult_offered(call_, agent_b_);
  actions_.take();
  flow_.on_consult_failed(call_, 486);
  EXPECT_THAT(actions_.take(), ElementsAre("decline agent-8 busy consult"));
  EXPECT_EQ(flow_.snapshot(call_)->phase, CallPhase::kConsulting);
  flow_.on_consult_offered(call_, AgentId("agent-9"));
  EXPECT_THAT(actions_.take(), ElementsAre("ring_consult agent-9"));
  flow_.on_consult_offered(call_, AgentId("agent-10"));  // one at a time
  EXPECT_THAT(actions_.take(), ElementsAre("decline agent-10 call_not_waiting consult"));
  flow_.on_consult_offer_withdrawn(call_, AgentId("agent-9"));
  EXPECT_THAT(actions_.take(), ElementsAre("cancel consult"));
  flow_.on_consult_offered(call_, agent_);  // A cannot be consulted about their own call
  EXPECT_THAT(actions_.take(), ElementsAre("decline agent-7 same_agent consult"));
}

TEST_F(ConsultTest, AcdGivingUpOnAQueueConsultFailsItAndCancelWithdrawsIt) {
  call_connected();
  ASSERT_TRUE(flow_.consult(call_, {{}, QueueId("billing")}).is_ok());
  actions_.take();
  flow_.on_consult_routing_exit(call_, "queue_empty");
  EXPECT_THAT(actions_.take(), ElementsAre("stop caller", "stop agent", "bridge"));
  EXPECT_EQ(actions_.last_data["call.consult_failed"]["reason"], "queue_empty");
  ASSERT_TRUE(flow_.consult(call_, {{}, QueueId("billing")}).is_ok());
  actions_.take();
  ASSERT_TRUE(flow_.cancel_consult(call_).is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("withdraw call-1:consult cancelled", "stop caller", "stop agent", "bridge"));
}

TEST_F(ConsultTest, CommandsOutOfTurnAreRefusedWithStableCodes) {
  call_ringing_agent();
  EXPECT_EQ(flow_.consult(call_, {agent_b_, {}}).code(), "invalid_call_state");
  flow_.on_agent_answered(call_);
  EXPECT_EQ(flow_.consult(call_, {}).code(), "invalid_consult");
  EXPECT_EQ(flow_.consult(call_, {agent_b_, QueueId("billing")}).code(), "invalid_consult");
  EXPECT_EQ(flow_.consult(call_, {agent_, {}}).code(), "same_agent");
  EXPECT_EQ(flow_.complete_consult(call_).code(), "no_consult");
  EXPECT_EQ(flow_.cancel_consult(call_).code(), "no_consult");
  EXPECT_EQ(flow_.consult(CallId("nope"), {agent_b_, {}}).code(), "call_not_found");
  ASSERT_TRUE(flow_.consult(call_, {agent_b_, {}}).is_ok());
  EXPECT_EQ(flow_.consult(call_, {AgentId("agent-9"), {}}).code(), "consult_in_progress");
  EXPECT_EQ(flow_.complete_consult(call_).code(), "consult_not_answered");
  EXPECT_EQ(flow_.hold(call_, false).code(), "invalid_call_state");
  EXPECT_EQ(flow_.transfer_to_queue(call_, QueueId("billing")).code(), "invalid_call_state");
}

TEST_F(ConsultTest, HangupThroughTheApiDuringAConsultEndsAllThreeLegs) {
  consult_answered();
  ASSERT_TRUE(flow_.hang_up(call_).is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye consult", "bye agent", "bye caller", "acd_ended"));
  EXPECT_EQ(end_reason(), "hangup_by_api");
}

TEST_F(ConsultTest, SilentConsultLegFailsTheConsultOnlyButASilentCallerEndsTheCall) {
  consult_answered();
  flow_.on_media_timeout(call_, Leg::kConsult);
  EXPECT_THAT(actions_.take(), ElementsAre("unbridge", "bye consult", "stop caller", "stop agent", "bridge"));
  EXPECT_EQ(actions_.last_data["call.consult_failed"]["reason"], "media_timeout");
  ASSERT_TRUE(flow_.consult(call_, {agent_b_, {}}).is_ok());
  actions_.take();
  flow_.on_media_timeout(call_, Leg::kCaller);
  EXPECT_THAT(actions_.take(), ElementsAre("cancel consult", "bye caller", "bye agent", "acd_ended"));
  EXPECT_EQ(end_reason(), "media_timeout");
}

TEST_F(ConsultTest, AgentPuttingTheCallerOnHoldFirstStillConsultsAndResumes) {
  call_connected();
  ASSERT_TRUE(flow_.hold(call_, true).is_ok());
  actions_.take();
  ASSERT_TRUE(flow_.consult(call_, {agent_b_, {}}).is_ok());
  EXPECT_THAT(actions_.take(),
              ElementsAre("play agent hold-music loop", "ring_consult agent-8"));  // caller: music plays
  ASSERT_TRUE(flow_.cancel_consult(call_).is_ok());
  EXPECT_THAT(actions_.take(), ElementsAre("cancel consult", "stop caller", "stop agent", "bridge"));
  EXPECT_FALSE(flow_.snapshot(call_)->on_hold);
}

TEST_F(ConsultTest, SnapshotJsonShowsTheConsultationAndEveryAgent) {
  consult_answered();
  nlohmann::json j = flow_.snapshot(call_)->to_json();
  EXPECT_EQ(j["phase"], "consulting");
  EXPECT_EQ(j["consult"]["agent"], "agent-8");
  EXPECT_EQ(j["consult"]["answered"], true);
  ASSERT_TRUE(flow_.complete_consult(call_).is_ok());
  j = flow_.snapshot(call_)->to_json();
  EXPECT_TRUE(j["consult"].is_null());
  EXPECT_EQ(j["agents"], nlohmann::json::array({"agent-7", "agent-8"}));
}

TEST(ConsultAcdId, RoundTripsAndIgnoresOtherIds) {
  EXPECT_EQ(consult_acd_id(CallId("c-1")).str(), "c-1:consult");
  EXPECT_EQ(call_of_consult_acd_id(CallId("c-1:consult")), CallId("c-1"));
  EXPECT_EQ(call_of_consult_acd_id(CallId("c-1")), std::nullopt);
  EXPECT_EQ(call_of_consult_acd_id(CallId(":consult")), std::nullopt);
}

}  // namespace
}  // namespace vontres::telephony
