// CallFlow: the pure state machine of every call a node handles, as a B2BUA sees it. It knows
// nothing of SIP, RTP or threads: the shell (CallService) turns SIP/RTP/routing happenings into
// the on_*() inputs below and carries out what the flow asks through CallActions (answer the
// caller, play a prompt, enqueue in the ACD, ring an agent, bridge, hang up, publish an event).
//
// The life of an inbound call: on_inbound -> answer + welcome prompt -> IVR menu (a DTMF digit or a
// recognised phrase picks an option; no choice after the configured attempts -> default queue) ->
// enqueue in the ACD with music on hold -> the ACD offers an agent -> ring the agent -> the agent
// answers -> bridge -> either side hangs up -> the other leg is hung up, the ACD told, call.ended.
// An agent who does not answer or is busy sends the call back to the ACD (decline); a caller who
// hangs up before an agent answers is an abandoned call.
//
// Attended (consultative) transfer: while the caller talks to agent A, consult() puts the caller
// on hold (music) and rings a third "consult" leg to agent B (named, rung directly) or to an agent
// the ACD picks from a queue (a separate ACD call, consult_acd_id()); B answering bridges A with B.
// complete_consult() bridges the caller with B and releases A; cancel_consult(), B failing or B
// hanging up gives the caller back to A. A hanging up during the consult completes the transfer
// (at once if B has answered, else when B answers; B failing then queues the caller again). The
// caller hanging up ends every leg (abandoned_during_consult).
//
// Thread-safety: none; the shell calls every method from one strand. Time comes from the Clock.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/status.h"

namespace vontres::telephony {

// kConsult: the third leg of an attended transfer (agent B), until it becomes the agent leg.
enum class Leg { kCaller, kAgent, kConsult };
std::string_view leg_name(Leg leg);

// kConsulting: the caller is on hold while the agent consults another agent (attended transfer).
enum class CallPhase { kIvr, kQueued, kRinging, kConnected, kConsulting, kEnded };
std::string_view call_phase_name(CallPhase phase);

enum class CallDirection { kInbound, kOutbound };

// Why a call ended; the string form is the `reason` of call.ended.
enum class EndReason {
  kCallerHangup,            // the caller hung up after talking to an agent
  kAgentHangup,             // the agent hung up
  kAbandoned,               // the caller hung up in the IVR, in the queue or while an agent was ringing
  kNoAgent,                 // the ACD could not take the call (no queue, queue full, nobody staffed, exited)
  kMediaTimeout,            // no RTP on a leg for telephony.rtp_inactivity_timeout
  kHangupByApi,             // a supervisor or agent ended it through the API
  kTransferFailed,          // the transfer target could not be reached and the caller was not recovered
  kDestinationFailed,       // outbound: the dialled party did not answer / was busy
  kAbandonedDuringConsult,  // the caller hung up on hold while the agent consulted another agent
  kNodeLost,                // the node that held the call died; a survivor's sweeper closed it
  kError,
};
std::string_view end_reason_name(EndReason reason);

// One option of the IVR menu, from telephony.ivr_options.
struct IvrOption {
  char digit = 0;  // 0: speech only
  QueueId queue;
  std::string intent;
  std::vector<std::string> phrases;  // lower-case
};

struct CallFlowOptions {
  std::vector<IvrOption> ivr_options;
  QueueId ivr_default_queue;  // empty: the first option's queue
  std::chrono::milliseconds ivr_menu_timeout{6'000};
  int ivr_max_attempts = 2;
  std::map<std::string, QueueId> numbers;  // dialled number -> queue, skipping the IVR
  // Prompt ids (files <prompts_dir>/<id>.wav).
  std::string welcome_prompt = "welcome";
  std::string menu_prompt = "menu";
  std::string invalid_prompt = "invalid-option";
  std::string hold_music = "hold-music";
  std::string unavailable_prompt = "agent-unavailable";
  std::string goodbye_prompt = "goodbye";
};
CallFlowOptions call_flow_options_from_config(const TelephonyConfig& config);

// The id under which a call's consultation to a queue waits in the ACD ("<call id>:consult"), and
// back: the call a consult ACD id belongs to (nullopt for any other id).
CallId consult_acd_id(const CallId& call);
std::optional<CallId> call_of_consult_acd_id(const CallId& acd_call);

// Whom an attended transfer consults: exactly one of them is set.
struct ConsultTarget {
  AgentId agent;
  QueueId queue;
};

// A consultation in progress, as the API shows it.
struct ConsultSnapshot {
  AgentId agent;  // empty while the ACD looks for an agent of `queue`
  QueueId queue;
  AgentId from_agent;
  bool answered = false;
  bool initiator_left = false;  // agent A hung up: the transfer completes when B answers
};

struct InboundCall {
  CallId id;
  OrgId org;  // the organisation whose number was dialled
  std::string sip_call_id;
  std::string from;     // caller's URI / number
  std::string to;       // the To URI
  std::string dialled;  // Request-URI user part
  // The queue of the organisation's claimed number: skips the IVR and the configured numbers.
  std::optional<QueueId> queue;
};

// A call as the API and the record store see it.
struct CallSnapshot {
  CallId id;
  OrgId org;
  std::string sip_call_id;
  CallDirection direction = CallDirection::kInbound;
  CallPhase phase = CallPhase::kIvr;
  std::string from;
  std::string to;
  std::string dialled;
  QueueId queue;
  std::string intent;
  AgentId agent;
  std::vector<AgentId> agents;  // every agent who talked with the caller, in order (transfers)
  std::optional<ConsultSnapshot> consult;
  bool on_hold = false;
  std::string digits;  // DTMF received in the IVR
  TimePoint started_at;
  std::optional<TimePoint> queued_at;
  std::optional<TimePoint> agent_answered_at;
  std::optional<TimePoint> ended_at;
  std::optional<EndReason> end_reason;
  int agent_attempts = 0;           // agents rung for this call
  std::vector<std::string> events;  // types of the events published for this call, in order
  nlohmann::json to_json() const;
};

// What the flow asks the shell to do. Each method is fire-and-forget: results come back as on_*()
// calls (e.g. enqueue failing comes back as on_routing_exit).
class CallActions {
 public:
  virtual ~CallActions() = default;
  virtual void answer_caller(const CallId& call) = 0;
  virtual void play(const CallId& call, Leg leg, const std::string& prompt, bool loop) = 0;
  virtual void stop_playing(const CallId& call, Leg leg) = 0;
  // Queue the call in the ACD (queue may be empty: routing rules decide from the intent).
  virtual void enqueue(const CallId& call, const QueueId& queue, const std::string& intent) = 0;
  virtual void ring_agent(const CallId& call, const AgentId& agent) = 0;
  // Attended transfer: ring `agent`'s phone on Leg::kConsult.
  virtual void ring_consult(const CallId& call, const AgentId& agent) = 0;
  // Attended transfer to a queue: ask the ACD for an agent of `queue` under consult_acd_id(call);
  // its offers come back as on_consult_offered().
  virtual void enqueue_consult(const CallId& call, const QueueId& queue, const std::string& intent) = 0;
  // Remove a call that is not connected from the ACD (route.exited with `reason`).
  virtual void withdraw_from_acd(const CallId& acd_call, const std::string& reason) = 0;
  // Outbound only: call the far party once the agent's leg is up.
  virtual void dial_destination(const CallId& call, const std::string& destination) = 0;
  virtual void cancel_ringing(const CallId& call, Leg leg) = 0;  // CANCEL an unanswered INVITE
  virtual void bridge(const CallId& call) = 0;                   // caller <-> agent
  virtual void bridge_consult(const CallId& call) = 0;           // agent <-> consult (the caller is on hold)
  virtual void unbridge(const CallId& call) = 0;                 // undoes either bridge
  // The consult leg becomes the agent leg (the old agent leg has been hung up or is gone).
  virtual void promote_consult(const CallId& call) = 0;
  virtual void hang_up(const CallId& call, Leg leg) = 0;  // BYE an answered leg
  // ACD feedback.
  virtual void accept_offer(const CallId& call, const AgentId& agent) = 0;
  virtual void decline_offer(const CallId& call, const AgentId& agent, const std::string& reason) = 0;
  virtual void call_ended_in_acd(const CallId& call) = 0;
  // `type` is e.g. "call.started"; `data` the event's fields besides call id and timestamps.
  virtual void publish(const CallId& call, const std::string& type, nlohmann::json data) = 0;
  // The call is over; the shell frees media and stores the record.
  virtual void finished(const CallSnapshot& call) = 0;
};

class CallFlow {
 public:
  CallFlow(const Clock& clock, CallActions& actions, CallFlowOptions options);

  // --- caller leg ---
  void on_inbound(const InboundCall& call);
  void on_prompt_finished(const CallId& call, Leg leg, const std::string& prompt);
  void on_dtmf(const CallId& call, Leg leg, char digit);
  // Speech recognised on a leg (the AI service); in the IVR it is matched against the options'
  // phrases, and a detected intent with enough confidence picks the matching option or is passed on.
  void on_speech(const CallId& call, Leg leg, const std::string& text, const std::string& intent = {});
  void on_hangup(const CallId& call, Leg leg);  // BYE, or CANCEL before answer
  void on_media_timeout(const CallId& call, Leg leg);
  // The remote side of a leg put us on hold / resumed (re-INVITE).
  void on_remote_hold(const CallId& call, Leg leg, bool hold);

  // --- ACD ---
  void on_queued(const CallId& call, const QueueId& queue);
  void on_offered(const CallId& call, const AgentId& agent);
  void on_offer_withdrawn(const CallId& call, const AgentId& agent);    // timeout or rescinded
  void on_routing_exit(const CallId& call, const std::string& reason);  // rejected, exited, voicemail

  // --- agent leg / outbound destination ---
  // Outcomes of the current ring_agent/dial_destination attempt only: the shell does not report
  // the outcome of an INVITE it cancelled (a 200 that crosses a CANCEL it hangs up itself).
  void on_agent_answered(const CallId& call);
  void on_agent_failed(const CallId& call, int sip_status);  // 486, 480, 408, 487, 5xx ...
  void on_destination_answered(const CallId& call);
  void on_destination_failed(const CallId& call, int sip_status);

  // --- commands (API) ---
  // Errors: not_found "call_not_found", failed_precondition "invalid_call_state".
  Status hang_up(const CallId& call);
  Status hold(const CallId& call, bool hold);
  // Blind transfer: the agent leg is released and the caller queued again in `queue`.
  Status transfer_to_queue(const CallId& call, const QueueId& queue);
  // Blind transfer to one agent: the current agent leg is released, the caller hears music while
  // `agent`'s phone rings (outside the ACD's offers); busy or no answer queues the caller again in
  // the call's queue.
  Status transfer_to_agent(const CallId& call, const AgentId& agent);
  // Attended transfer (see the file comment). Errors: "call_not_found"; "invalid_call_state" (not
  // a connected inbound call), "consult_in_progress"; invalid_argument "invalid_consult" (not
  // exactly one target), "same_agent".
  Status consult(const CallId& call, const ConsultTarget& target);
  // Errors: "call_not_found", "no_consult", "consult_not_answered".
  Status complete_consult(const CallId& call);
  // Errors: "call_not_found", "no_consult".
  Status cancel_consult(const CallId& call);
  // Consult leg / consult ACD call outcomes (same contract as the agent leg's).
  void on_consult_answered(const CallId& call);
  void on_consult_failed(const CallId& call, int sip_status);
  void on_consult_offered(const CallId& call, const AgentId& agent);
  void on_consult_offer_withdrawn(const CallId& call, const AgentId& agent);
  void on_consult_routing_exit(const CallId& call, const std::string& reason);

  // Outbound (click-to-call): ring `agent` first, then dial `destination` and bridge.
  Status originate(const CallId& call, const OrgId& org, const AgentId& agent, const std::string& destination);

  // Timers (IVR menu timeouts).
  void on_timer();
  std::optional<TimePoint> next_deadline() const;

  std::optional<CallSnapshot> snapshot(const CallId& call) const;
  std::vector<CallSnapshot> calls() const;  // live calls
  size_t size() const { return calls_.size(); }

 private:
  struct Consult {
    enum class Acd { kNone, kWaiting, kConnected };  // the consult ACD call's state
    AgentId agent;
    QueueId queue;
    AgentId from_agent;
    bool ringing = false;
    bool answered = false;
    bool initiator_left = false;
    Acd acd = Acd::kNone;
  };
  struct Call {
    CallSnapshot snap;
    std::optional<Consult> consult;
    std::optional<CallId> acd_call_after_transfer;  // a queue consult's ACD call, now the call's
    int ivr_attempts = 0;
    bool menu_playing = false;
    std::optional<TimePoint> menu_deadline;
    bool agent_leg_up = false;  // the agent (or outbound destination) leg is answered
    bool destination_ringing = false;
    std::string destination;           // outbound
    bool in_acd = false;               // enqueued and not yet reported ended to the ACD
    bool direct = false;               // ringing an agent chosen by a transfer, not offered by the ACD
    std::optional<EndReason> leaving;  // playing a last prompt, then hanging up with this reason
  };
  Call* find(const CallId& id);
  void start_menu(Call& call);
  void choose(Call& call, const IvrOption& option, const std::string& how);
  void queue_call(Call& call, const QueueId& queue, const std::string& intent);
  void end(Call& call, EndReason reason);
  // Ends the consult leg and its ACD call; `leg_gone`: B already hung up.
  void teardown_consult(Call& call, const std::string& reason, bool leg_gone = false);
  // teardown_consult, then the caller back to agent A (or to the queue if A has left); publishes `event`.
  void finish_consult(Call& call, const std::string& event, nlohmann::json data, bool leg_gone = false);
  void complete(Call& call);
  void publish_consult(Call& call, const std::string& type, nlohmann::json data = nlohmann::json::object());
  CallSnapshot view(const Call& call) const;
  void publish(Call& call, const std::string& type, nlohmann::json data = nlohmann::json::object());
  const IvrOption* option_for_speech(const std::string& text, const std::string& intent) const;

  const Clock& clock_;
  CallActions& actions_;
  CallFlowOptions options_;
  std::map<CallId, Call> calls_;
};

}  // namespace vontres::telephony
