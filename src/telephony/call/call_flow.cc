#include "telephony/call/call_flow.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace vontres::telephony {

namespace {

int64_t millis_between(TimePoint from, TimePoint to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// True if `phrase` occurs in `text` on word boundaries (both lower-case).
bool contains_phrase(const std::string& text, const std::string& phrase) {
  if (phrase.empty()) return false;
  size_t at = 0;
  while ((at = text.find(phrase, at)) != std::string::npos) {
    const bool start_ok = at == 0 || std::isalnum(static_cast<unsigned char>(text[at - 1])) == 0;
    const size_t end = at + phrase.size();
    const bool end_ok = end == text.size() || std::isalnum(static_cast<unsigned char>(text[end])) == 0;
    if (start_ok && end_ok) return true;
    at = end;
  }
  return false;
}

std::string decline_reason(int sip_status) {
  switch (sip_status) {
    case 486:
    case 600: return "busy";
    case 408:
    case 480:
    case 487: return "no_answer";
    case 603: return "declined";
    default: return "failed_" + std::to_string(sip_status);
  }
}

}  // namespace

std::string_view leg_name(Leg leg) {
  switch (leg) {
    case Leg::kCaller: return "caller";
    case Leg::kAgent: return "agent";
    case Leg::kConsult: return "consult";
  }
  return "unknown";
}

namespace {
constexpr std::string_view kConsultSuffix = ":consult";
}  // namespace

CallId consult_acd_id(const CallId& call) { return CallId(call.str() + std::string(kConsultSuffix)); }

std::optional<CallId> call_of_consult_acd_id(const CallId& acd_call) {
  const std::string& id = acd_call.str();
  if (id.size() <= kConsultSuffix.size() || !id.ends_with(kConsultSuffix)) return std::nullopt;
  return CallId(id.substr(0, id.size() - kConsultSuffix.size()));
}

std::string_view call_phase_name(CallPhase phase) {
  switch (phase) {
    case CallPhase::kIvr: return "ivr";
    case CallPhase::kQueued: return "queued";
    case CallPhase::kRinging: return "ringing";
    case CallPhase::kConnected: return "connected";
    case CallPhase::kConsulting: return "consulting";
    case CallPhase::kEnded: return "ended";
  }
  return "unknown";
}

std::string_view end_reason_name(EndReason reason) {
  switch (reason) {
    case EndReason::kCallerHangup: return "caller_hangup";
    case EndReason::kAgentHangup: return "agent_hangup";
    case EndReason::kAbandoned: return "abandoned";
    case EndReason::kNoAgent: return "no_agent";
    case EndReason::kMediaTimeout: return "media_timeout";
    case EndReason::kHangupByApi: return "hangup_by_api";
    case EndReason::kTransferFailed: return "transfer_failed";
    case EndReason::kDestinationFailed: return "destination_failed";
    case EndReason::kAbandonedDuringConsult: return "abandoned_during_consult";
    case EndReason::kNodeLost: return "node_lost";
    case EndReason::kError: return "error";
  }
  return "unknown";
}

CallFlowOptions call_flow_options_from_config(const TelephonyConfig& config) {
  CallFlowOptions options;
  for (const auto& o : config.ivr_options) {
    IvrOption option;
    option.digit = o.digit.empty() ? '\0' : o.digit[0];
    option.queue = QueueId(o.queue);
    option.intent = o.intent;
    for (const auto& phrase : o.phrases) option.phrases.push_back(lower(phrase));
    options.ivr_options.push_back(std::move(option));
  }
  options.ivr_default_queue = QueueId(config.ivr_default_queue);
  options.ivr_menu_timeout = config.ivr_menu_timeout;
  options.ivr_max_attempts = config.ivr_max_attempts;
  for (const auto& [number, queue] : config.numbers) options.numbers[number] = QueueId(queue);
  return options;
}

nlohmann::json CallSnapshot::to_json() const {
  auto optional_time = [](const std::optional<TimePoint>& t) -> nlohmann::json {
    return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
  };
  nlohmann::json j = {
      {"id", id.str()},
      {"org_id", org.str()},
      {"sip_call_id", sip_call_id},
      {"direction", direction == CallDirection::kInbound ? "inbound" : "outbound"},
      {"phase", call_phase_name(phase)},
      {"from", from},
      {"to", to},
      {"dialled", dialled},
      {"queue", queue.str()},
      {"intent", intent},
      {"agent", agent.str()},
      {"on_hold", on_hold},
      {"started_at", format_rfc3339(started_at)},
      {"queued_at", optional_time(queued_at)},
      {"answered_at", optional_time(agent_answered_at)},
      {"ended_at", optional_time(ended_at)},
      {"agent_attempts", agent_attempts},
      {"events", events},
  };
  nlohmann::json agent_list = nlohmann::json::array();
  for (const auto& a : agents) agent_list.push_back(a.str());
  j["agents"] = std::move(agent_list);
  if (consult) {
    j["consult"] = {{"agent", consult->agent.str()},
                    {"queue", consult->queue.str()},
                    {"from_agent", consult->from_agent.str()},
                    {"answered", consult->answered},
                    {"initiator_left", consult->initiator_left}};
  } else {
    j["consult"] = nullptr;
  }
  j["end_reason"] = end_reason ? nlohmann::json(end_reason_name(*end_reason)) : nlohmann::json(nullptr);
  return j;
}

CallFlow::CallFlow(const Clock& clock, CallActions& actions, CallFlowOptions options)
    : clock_(clock), actions_(actions), options_(std::move(options)) {}

CallFlow::Call* CallFlow::find(const CallId& id) {
  auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : &it->second;
}

void CallFlow::publish(Call& call, const std::string& type, nlohmann::json data) {
  call.snap.events.push_back(type);
  data["phase"] = call_phase_name(call.snap.phase);
  if (!call.snap.queue.empty()) data["queue"] = call.snap.queue.str();
  if (!call.snap.agent.empty()) data["agent"] = call.snap.agent.str();
  actions_.publish(call.snap.id, type, std::move(data));
}

void CallFlow::on_inbound(const InboundCall& inbound) {
  if (calls_.contains(inbound.id)) return;
  Call& call = calls_[inbound.id];
  call.snap.id = inbound.id;
  call.snap.org = inbound.org;
  call.snap.sip_call_id = inbound.sip_call_id;
  call.snap.from = inbound.from;
  call.snap.to = inbound.to;
  call.snap.dialled = inbound.dialled;
  call.snap.started_at = clock_.now();
  call.snap.phase = CallPhase::kIvr;
  actions_.answer_caller(inbound.id);
  publish(call, "call.started",
          {{"direction", "inbound"}, {"from", inbound.from}, {"to", inbound.to}, {"dialled", inbound.dialled}});
  if (inbound.queue) {
    queue_call(call, *inbound.queue, {});
    return;
  }
  if (auto number = options_.numbers.find(inbound.dialled); number != options_.numbers.end()) {
    queue_call(call, number->second, {});
    return;
  }
  if (options_.ivr_options.empty()) {
    queue_call(call, options_.ivr_default_queue, {});
    return;
  }
  actions_.play(call.snap.id, Leg::kCaller, options_.welcome_prompt, false);
}

void CallFlow::start_menu(Call& call) {
  call.menu_playing = true;
  call.menu_deadline.reset();
  actions_.play(call.snap.id, Leg::kCaller, options_.menu_prompt, false);
}

void CallFlow::on_prompt_finished(const CallId& id, Leg leg, const std::string& prompt) {
  Call* call = find(id);
  if (call == nullptr || leg != Leg::kCaller) return;
  if (call->leaving) {
    if (prompt == options_.unavailable_prompt || prompt == options_.goodbye_prompt) {
      actions_.hang_up(id, Leg::kCaller);
      end(*call, *call->leaving);
    }
    return;
  }
  if (call->snap.phase != CallPhase::kIvr) return;
  if (prompt == options_.welcome_prompt || prompt == options_.invalid_prompt) {
    start_menu(*call);
  } else if (prompt == options_.menu_prompt) {
    call->menu_playing = false;
    call->menu_deadline = clock_.now() + options_.ivr_menu_timeout;
  }
}

void CallFlow::on_dtmf(const CallId& id, Leg leg, char digit) {
  Call* call = find(id);
  if (call == nullptr || leg != Leg::kCaller || call->snap.phase != CallPhase::kIvr || call->leaving) return;
  call->snap.digits.push_back(digit);
  for (const auto& option : options_.ivr_options) {
    if (option.digit == digit) {
      choose(*call, option, std::string("dtmf:") + digit);
      return;
    }
  }
  actions_.stop_playing(id, Leg::kCaller);
  ++call->ivr_attempts;
  publish(*call, "call.ivr_invalid", {{"digit", std::string(1, digit)}, {"attempt", call->ivr_attempts}});
  if (call->ivr_attempts >= options_.ivr_max_attempts) {
    queue_call(*call,
               options_.ivr_default_queue.empty() ? options_.ivr_options.front().queue : options_.ivr_default_queue,
               {});
    return;
  }
  call->menu_deadline.reset();
  actions_.play(id, Leg::kCaller, options_.invalid_prompt, false);
}

const IvrOption* CallFlow::option_for_speech(const std::string& text, const std::string& intent) const {
  const std::string said = lower(text);
  for (const auto& option : options_.ivr_options) {
    if (!intent.empty() && option.intent == intent) return &option;
    for (const auto& phrase : option.phrases) {
      if (contains_phrase(said, phrase)) return &option;
    }
  }
  return nullptr;
}

void CallFlow::on_speech(const CallId& id, Leg leg, const std::string& text, const std::string& intent) {
  Call* call = find(id);
  if (call == nullptr || leg != Leg::kCaller || call->snap.phase != CallPhase::kIvr || call->leaving) return;
  if (const IvrOption* option = option_for_speech(text, intent)) {
    choose(*call, *option, "speech");
    return;
  }
  if (!intent.empty()) {
    // No menu option names it: the routing rules map the intent to a queue and skills.
    actions_.stop_playing(id, Leg::kCaller);
    publish(*call, "call.ivr_choice", {{"how", "intent"}, {"intent", intent}});
    queue_call(*call, options_.ivr_default_queue, intent);
  }
}

void CallFlow::choose(Call& call, const IvrOption& option, const std::string& how) {
  actions_.stop_playing(call.snap.id, Leg::kCaller);
  publish(call, "call.ivr_choice", {{"how", how}, {"option_queue", option.queue.str()}, {"intent", option.intent}});
  queue_call(call, option.queue, option.intent);
}

void CallFlow::queue_call(Call& call, const QueueId& queue, const std::string& intent) {
  call.snap.phase = CallPhase::kQueued;
  call.snap.queue = queue;
  if (!intent.empty()) call.snap.intent = intent;
  call.snap.queued_at = clock_.now();
  call.menu_deadline.reset();
  call.menu_playing = false;
  call.in_acd = true;
  actions_.play(call.snap.id, Leg::kCaller, options_.hold_music, true);
  actions_.enqueue(call.snap.id, queue, call.snap.intent);
  publish(call, "call.queued", {{"intent", call.snap.intent}});
}

void CallFlow::on_queued(const CallId& id, const QueueId& queue) {
  Call* call = find(id);
  if (call == nullptr) return;
  call->snap.queue = queue;  // routing rules may have replaced the entry queue
}

void CallFlow::on_offered(const CallId& id, const AgentId& agent) {
  Call* call = find(id);
  if (call == nullptr) return;
  if (call->snap.phase != CallPhase::kQueued || call->leaving) {
    actions_.decline_offer(id, agent, "call_not_waiting");
    return;
  }
  call->snap.phase = CallPhase::kRinging;
  call->snap.agent = agent;
  ++call->snap.agent_attempts;
  actions_.ring_agent(id, agent);
  publish(*call, "call.ringing", {{"attempt", call->snap.agent_attempts}});
}

void CallFlow::on_offer_withdrawn(const CallId& id, const AgentId& agent) {
  Call* call = find(id);
  if (call == nullptr || call->snap.phase != CallPhase::kRinging || call->snap.agent != agent) return;
  if (call->snap.direction == CallDirection::kOutbound) return;
  actions_.cancel_ringing(id, Leg::kAgent);
  call->snap.phase = CallPhase::kQueued;
  publish(*call, "call.ringing_stopped", {{"reason", "offer_withdrawn"}});
  call->snap.agent = AgentId();
}

void CallFlow::on_routing_exit(const CallId& id, const std::string& reason) {
  Call* call = find(id);
  if (call == nullptr || call->leaving) return;
  if (call->snap.phase == CallPhase::kConnected || call->snap.phase == CallPhase::kConsulting) {
    return;  // the ACD is done with a connected call
  }
  call->in_acd = false;
  if (call->snap.phase == CallPhase::kRinging) actions_.cancel_ringing(id, Leg::kAgent);
  publish(*call, "call.not_routed", {{"reason", reason}});
  call->leaving = EndReason::kNoAgent;
  actions_.play(id, Leg::kCaller, options_.unavailable_prompt, false);
}

void CallFlow::on_agent_answered(const CallId& id) {
  Call* call = find(id);
  if (call == nullptr) return;
  if (call->snap.phase != CallPhase::kRinging) {
    actions_.hang_up(id, Leg::kAgent);
    return;
  }
  call->agent_leg_up = true;
  if (call->snap.direction == CallDirection::kOutbound) {
    call->snap.agents.push_back(call->snap.agent);
    call->destination_ringing = true;
    actions_.dial_destination(id, call->destination);
    publish(*call, "call.agent_connected");
    return;
  }
  actions_.stop_playing(id, Leg::kCaller);
  if (call->direct) {
    call->direct = false;
  } else {
    actions_.accept_offer(id, call->snap.agent);
  }
  actions_.bridge(id);
  call->snap.phase = CallPhase::kConnected;
  call->snap.agents.push_back(call->snap.agent);
  call->snap.agent_answered_at = clock_.now();
  const TimePoint since = call->snap.queued_at.value_or(call->snap.started_at);
  publish(*call, "call.answered", {{"wait_ms", millis_between(since, *call->snap.agent_answered_at)}});
}

void CallFlow::on_agent_failed(const CallId& id, int sip_status) {
  Call* call = find(id);
  if (call == nullptr || call->snap.phase != CallPhase::kRinging || call->agent_leg_up) return;
  const AgentId agent = call->snap.agent;
  publish(*call, "call.ringing_stopped", {{"reason", decline_reason(sip_status)}, {"sip_status", sip_status}});
  if (call->snap.direction == CallDirection::kOutbound) {
    end(*call, EndReason::kNoAgent);
    return;
  }
  if (call->direct) {
    // The transfer target did not answer: back to the call's queue.
    call->direct = false;
    call->snap.agent = AgentId();
    queue_call(*call, call->snap.queue, call->snap.intent);
    return;
  }
  call->snap.phase = CallPhase::kQueued;
  call->snap.agent = AgentId();
  actions_.decline_offer(id, agent, decline_reason(sip_status));
}

void CallFlow::on_destination_answered(const CallId& id) {
  Call* call = find(id);
  if (call == nullptr || !call->destination_ringing) return;
  call->destination_ringing = false;
  actions_.bridge(id);
  call->snap.phase = CallPhase::kConnected;
  call->snap.agent_answered_at = clock_.now();
  publish(*call, "call.answered", {{"wait_ms", millis_between(call->snap.started_at, clock_.now())}});
}

void CallFlow::on_destination_failed(const CallId& id, int sip_status) {
  Call* call = find(id);
  if (call == nullptr || !call->destination_ringing) return;
  call->destination_ringing = false;
  publish(*call, "call.destination_failed", {{"sip_status", sip_status}});
  actions_.hang_up(id, Leg::kAgent);
  end(*call, EndReason::kDestinationFailed);
}

void CallFlow::on_hangup(const CallId& id, Leg leg) {
  Call* call = find(id);
  if (call == nullptr) return;
  const Leg other = leg == Leg::kCaller ? Leg::kAgent : Leg::kCaller;
  if (call->leaving) {
    end(*call, *call->leaving);
    return;
  }
  const bool outbound = call->snap.direction == CallDirection::kOutbound;
  if (leg == Leg::kConsult) {
    // Agent B hung up: the consultation is over and the caller goes back to A.
    if (call->snap.phase == CallPhase::kConsulting && call->consult && call->consult->answered) {
      finish_consult(*call, "call.consult_cancelled", {{"reason", "consult_hangup"}}, true);
    }
    return;
  }
  switch (call->snap.phase) {
    case CallPhase::kIvr:
    case CallPhase::kQueued: end(*call, EndReason::kAbandoned); return;
    case CallPhase::kRinging:
      if (outbound) {
        // Agent hung up while the destination rings, or the agent's phone gave up.
        if (call->destination_ringing) actions_.cancel_ringing(id, Leg::kCaller);
        if (leg == Leg::kCaller && call->agent_leg_up) actions_.hang_up(id, Leg::kAgent);
        end(*call, leg == Leg::kAgent ? EndReason::kAgentHangup : EndReason::kDestinationFailed);
        return;
      }
      if (leg == Leg::kCaller) actions_.cancel_ringing(id, Leg::kAgent);
      end(*call, EndReason::kAbandoned);
      return;
    case CallPhase::kConnected:
      actions_.unbridge(id);
      actions_.hang_up(id, other);
      end(*call, leg == Leg::kCaller ? EndReason::kCallerHangup : EndReason::kAgentHangup);
      return;
    case CallPhase::kConsulting: {
      Consult& consult = *call->consult;
      if (leg == Leg::kCaller) {
        const bool agent_here = !consult.initiator_left;
        teardown_consult(*call, "caller_hangup");
        if (agent_here) actions_.hang_up(id, Leg::kAgent);
        end(*call, EndReason::kAbandonedDuringConsult);
        return;
      }
      // Agent A hung up: as a PBX does, that completes the transfer (now, or when B answers).
      consult.initiator_left = true;
      call->agent_leg_up = false;
      if (call->in_acd) {
        actions_.call_ended_in_acd(id);  // A's part is over (wrap-up)
        call->in_acd = false;
      }
      publish_consult(*call, "call.consult_initiator_left");
      if (consult.answered) complete(*call);
      return;
    }
    case CallPhase::kEnded: return;
  }
}

void CallFlow::on_media_timeout(const CallId& id, Leg leg) {
  Call* call = find(id);
  if (call == nullptr) return;
  if (leg == Leg::kConsult) {
    // Agent B's leg went silent: the consultation fails, the call goes on.
    if (call->snap.phase == CallPhase::kConsulting && call->consult->answered) {
      finish_consult(*call, "call.consult_failed", {{"reason", "media_timeout"}});
    }
    return;
  }
  publish(*call, "call.media_timeout", {{"leg", leg_name(leg)}});
  switch (call->snap.phase) {
    case CallPhase::kConnected:
      actions_.unbridge(id);
      actions_.hang_up(id, Leg::kCaller);
      actions_.hang_up(id, Leg::kAgent);
      break;
    case CallPhase::kConsulting: {
      const bool agent_here = !call->consult->initiator_left;
      teardown_consult(*call, "media_timeout");
      actions_.hang_up(id, Leg::kCaller);
      if (agent_here) actions_.hang_up(id, Leg::kAgent);
      break;
    }
    case CallPhase::kRinging:
      if (call->agent_leg_up) {
        actions_.hang_up(id, Leg::kAgent);
      } else {
        actions_.cancel_ringing(id, Leg::kAgent);
      }
      if (call->snap.direction == CallDirection::kInbound) actions_.hang_up(id, Leg::kCaller);
      break;
    default: actions_.hang_up(id, Leg::kCaller); break;
  }
  end(*call, EndReason::kMediaTimeout);
}

void CallFlow::on_remote_hold(const CallId& id, Leg leg, bool hold) {
  Call* call = find(id);
  if (call == nullptr || call->snap.phase != CallPhase::kConnected) return;
  if (leg == Leg::kAgent && call->snap.on_hold != hold) {
    // The agent's phone put the caller on hold: the caller hears music meanwhile.
    if (hold) {
      actions_.unbridge(id);
      actions_.play(id, Leg::kCaller, options_.hold_music, true);
    } else {
      actions_.stop_playing(id, Leg::kCaller);
      actions_.bridge(id);
    }
    call->snap.on_hold = hold;
  }
  publish(*call, hold ? "call.held" : "call.resumed", {{"by", leg_name(leg)}});
}

Status CallFlow::hang_up(const CallId& id) {
  Call* call = find(id);
  if (call == nullptr) return not_found("no live call " + id.str(), "call_not_found");
  switch (call->snap.phase) {
    case CallPhase::kConnected:
      actions_.unbridge(id);
      actions_.hang_up(id, Leg::kAgent);
      actions_.hang_up(id, Leg::kCaller);
      break;
    case CallPhase::kConsulting: {
      const bool agent_here = !call->consult->initiator_left;
      teardown_consult(*call, "hangup_by_api");
      if (agent_here) actions_.hang_up(id, Leg::kAgent);
      actions_.hang_up(id, Leg::kCaller);
      break;
    }
    case CallPhase::kRinging:
      if (call->agent_leg_up) {
        actions_.hang_up(id, Leg::kAgent);
      } else {
        actions_.cancel_ringing(id, Leg::kAgent);
      }
      if (call->destination_ringing) actions_.cancel_ringing(id, Leg::kCaller);
      if (call->snap.direction == CallDirection::kInbound) actions_.hang_up(id, Leg::kCaller);
      break;
    default: actions_.hang_up(id, Leg::kCaller); break;
  }
  end(*call, EndReason::kHangupByApi);
  return Status::ok();
}

Status CallFlow::hold(const CallId& id, bool hold) {
  Call* call = find(id);
  if (call == nullptr) return not_found("no live call " + id.str(), "call_not_found");
  if (call->snap.phase != CallPhase::kConnected) {
    return failed_precondition("only a connected call can be held", "invalid_call_state");
  }
  if (call->snap.on_hold == hold) return Status::ok();
  on_remote_hold(id, Leg::kAgent, hold);
  return Status::ok();
}

Status CallFlow::transfer_to_queue(const CallId& id, const QueueId& queue) {
  Call* call = find(id);
  if (call == nullptr) return not_found("no live call " + id.str(), "call_not_found");
  if (call->snap.direction != CallDirection::kInbound || call->snap.phase != CallPhase::kConnected) {
    return failed_precondition("only a connected inbound call can be transferred", "invalid_call_state");
  }
  const AgentId from = call->snap.agent;
  actions_.unbridge(id);
  actions_.hang_up(id, Leg::kAgent);
  actions_.call_ended_in_acd(id);  // the first agent's part is complete (wrap-up)
  call->agent_leg_up = false;
  call->snap.agent = AgentId();
  call->snap.on_hold = false;
  publish(*call, "call.transferred", {{"from_agent", from.str()}, {"to_queue", queue.str()}, {"kind", "blind"}});
  queue_call(*call, queue, call->snap.intent);
  return Status::ok();
}

Status CallFlow::transfer_to_agent(const CallId& id, const AgentId& agent) {
  Call* call = find(id);
  if (call == nullptr) return not_found("no live call " + id.str(), "call_not_found");
  if (call->snap.direction != CallDirection::kInbound || call->snap.phase != CallPhase::kConnected) {
    return failed_precondition("only a connected inbound call can be transferred", "invalid_call_state");
  }
  if (agent == call->snap.agent) return invalid_argument("the call is already with this agent", "same_agent");
  const AgentId from = call->snap.agent;
  actions_.unbridge(id);
  actions_.hang_up(id, Leg::kAgent);
  actions_.call_ended_in_acd(id);  // the first agent's part is complete (wrap-up)
  call->in_acd = false;
  call->agent_leg_up = false;
  call->snap.on_hold = false;
  call->snap.phase = CallPhase::kRinging;
  call->snap.agent = agent;
  call->direct = true;
  ++call->snap.agent_attempts;
  actions_.play(id, Leg::kCaller, options_.hold_music, true);
  publish(*call, "call.transferred", {{"from_agent", from.str()}, {"to_agent", agent.str()}, {"kind", "blind"}});
  actions_.ring_agent(id, agent);
  return Status::ok();
}

// ---- attended transfer ----

void CallFlow::publish_consult(Call& call, const std::string& type, nlohmann::json data) {
  if (call.consult) {
    if (!call.consult->agent.empty()) data["consult_agent"] = call.consult->agent.str();
    if (!call.consult->queue.empty()) data["consult_queue"] = call.consult->queue.str();
    data["from_agent"] = call.consult->from_agent.str();
  }
  publish(call, type, std::move(data));
}

Status CallFlow::consult(const CallId& id, const ConsultTarget& target) {
  Call* call = find(id);
  if (call == nullptr) return not_found("no live call " + id.str(), "call_not_found");
  if (call->snap.phase == CallPhase::kConsulting) {
    return failed_precondition("a consultation is already in progress", "consult_in_progress");
  }
  if (call->snap.direction != CallDirection::kInbound || call->snap.phase != CallPhase::kConnected) {
    return failed_precondition("only a connected inbound call can be transferred", "invalid_call_state");
  }
  if (target.agent.empty() == target.queue.empty()) {
    return invalid_argument("exactly one of agent or queue is required", "invalid_consult");
  }
  if (!target.agent.empty() && target.agent == call->snap.agent) {
    return invalid_argument("the call is already with this agent", "same_agent");
  }
  if (!call->snap.on_hold) {
    actions_.unbridge(id);
    actions_.play(id, Leg::kCaller, options_.hold_music, true);
  }
  call->snap.on_hold = true;
  call->snap.phase = CallPhase::kConsulting;
  call->consult = Consult{};
  Consult& consult = *call->consult;
  consult.agent = target.agent;
  consult.queue = target.queue;
  consult.from_agent = call->snap.agent;
  publish_consult(*call, "call.consult_started");
  // A hears the music too until B answers (no silent, seemingly dead line while B rings).
  actions_.play(id, Leg::kAgent, options_.hold_music, true);
  if (!target.agent.empty()) {
    consult.ringing = true;
    actions_.ring_consult(id, target.agent);
  } else {
    consult.acd = Consult::Acd::kWaiting;
    actions_.enqueue_consult(id, target.queue, call->snap.intent);
  }
  return Status::ok();
}

Status CallFlow::complete_consult(const CallId& id) {
  Call* call = find(id);
  if (call == nullptr) return not_found("no live call " + id.str(), "call_not_found");
  if (call->snap.phase != CallPhase::kConsulting) return failed_precondition("no consultation", "no_consult");
  if (!call->consult->answered) {
    return failed_precondition("the consulted agent has not answered", "consult_not_answered");
  }
  complete(*call);
  return Status::ok();
}

Status CallFlow::cancel_consult(const CallId& id) {
  Call* call = find(id);
  if (call == nullptr) return not_found("no live call " + id.str(), "call_not_found");
  if (call->snap.phase != CallPhase::kConsulting) return failed_precondition("no consultation", "no_consult");
  finish_consult(*call, "call.consult_cancelled", {{"reason", "cancelled"}});
  return Status::ok();
}

void CallFlow::complete(Call& call) {
  const CallId id = call.snap.id;
  Consult consult = *call.consult;
  actions_.unbridge(id);
  if (!consult.initiator_left) actions_.hang_up(id, Leg::kAgent);
  if (call.in_acd) {
    actions_.call_ended_in_acd(id);  // agent A's part is complete (wrap-up)
    call.in_acd = false;
  }
  if (consult.acd == Consult::Acd::kConnected) call.acd_call_after_transfer = consult_acd_id(id);
  actions_.promote_consult(id);
  actions_.stop_playing(id, Leg::kCaller);
  actions_.bridge(id);
  call.consult.reset();
  call.snap.phase = CallPhase::kConnected;
  call.snap.on_hold = false;
  call.snap.agent = consult.agent;
  call.snap.agents.push_back(consult.agent);
  call.agent_leg_up = true;
  nlohmann::json data = {{"from_agent", consult.from_agent.str()},
                         {"to_agent", consult.agent.str()},
                         {"kind", "attended"},
                         {"initiator_left", consult.initiator_left}};
  if (!consult.queue.empty()) data["to_queue"] = consult.queue.str();
  publish(call, "call.transferred", std::move(data));
}

void CallFlow::teardown_consult(Call& call, const std::string& reason, bool leg_gone) {
  if (!call.consult) return;
  const CallId id = call.snap.id;
  const Consult& consult = *call.consult;
  if (consult.ringing) actions_.cancel_ringing(id, Leg::kConsult);
  if (consult.answered) {
    actions_.unbridge(id);
    if (!leg_gone) actions_.hang_up(id, Leg::kConsult);
  }
  if (consult.acd == Consult::Acd::kWaiting) {
    actions_.withdraw_from_acd(consult_acd_id(id), reason);
  } else if (consult.acd == Consult::Acd::kConnected) {
    actions_.call_ended_in_acd(consult_acd_id(id));  // B's part is over (wrap-up)
  }
  call.consult.reset();
}

void CallFlow::finish_consult(Call& call, const std::string& event, nlohmann::json data, bool leg_gone) {
  const bool initiator_left = call.consult->initiator_left;
  const std::string reason = data.value("reason", event);
  publish_consult(call, event, std::move(data));
  teardown_consult(call, reason, leg_gone);
  if (initiator_left) {
    // Agent A is gone: the caller (still hearing music) waits in the call's queue again.
    call.snap.agent = AgentId();
    call.snap.on_hold = false;
    queue_call(call, call.snap.queue, call.snap.intent);
    return;
  }
  actions_.stop_playing(call.snap.id, Leg::kCaller);
  actions_.stop_playing(call.snap.id, Leg::kAgent);
  actions_.bridge(call.snap.id);
  call.snap.phase = CallPhase::kConnected;
  call.snap.on_hold = false;
}

void CallFlow::on_consult_answered(const CallId& id) {
  Call* call = find(id);
  if (call == nullptr) return;  // the shell BYEs an answer for a call it no longer has
  if (call->snap.phase != CallPhase::kConsulting || !call->consult->ringing) {
    actions_.hang_up(id, Leg::kConsult);
    return;
  }
  Consult& consult = *call->consult;
  consult.ringing = false;
  consult.answered = true;
  if (consult.acd == Consult::Acd::kWaiting) {
    actions_.accept_offer(consult_acd_id(id), consult.agent);
    consult.acd = Consult::Acd::kConnected;
  }
  publish_consult(*call, "call.consult_answered");
  if (consult.initiator_left) {
    complete(*call);
    return;
  }
  actions_.stop_playing(id, Leg::kAgent);
  actions_.bridge_consult(id);
}

void CallFlow::on_consult_failed(const CallId& id, int sip_status) {
  Call* call = find(id);
  if (call == nullptr || call->snap.phase != CallPhase::kConsulting || !call->consult->ringing) return;
  Consult& consult = *call->consult;
  consult.ringing = false;
  if (consult.acd == Consult::Acd::kWaiting) {
    // A queue consultation: the ACD offers the next agent (or gives up: on_consult_routing_exit).
    publish_consult(*call, "call.consult_ringing_stopped",
                    {{"reason", decline_reason(sip_status)}, {"sip_status", sip_status}});
    actions_.decline_offer(consult_acd_id(id), consult.agent, decline_reason(sip_status));
    consult.agent = AgentId();
    return;
  }
  finish_consult(*call, "call.consult_failed", {{"reason", decline_reason(sip_status)}, {"sip_status", sip_status}});
}

void CallFlow::on_consult_offered(const CallId& id, const AgentId& agent) {
  Call* call = find(id);
  if (call == nullptr || call->snap.phase != CallPhase::kConsulting || call->consult->acd != Consult::Acd::kWaiting ||
      call->consult->ringing || call->consult->answered) {
    actions_.decline_offer(consult_acd_id(id), agent, "call_not_waiting");
    return;
  }
  if (agent == call->consult->from_agent) {
    actions_.decline_offer(consult_acd_id(id), agent, "same_agent");
    return;
  }
  call->consult->agent = agent;
  call->consult->ringing = true;
  actions_.ring_consult(id, agent);
  publish_consult(*call, "call.consult_ringing");
}

void CallFlow::on_consult_offer_withdrawn(const CallId& id, const AgentId& agent) {
  Call* call = find(id);
  if (call == nullptr || call->snap.phase != CallPhase::kConsulting || !call->consult->ringing ||
      call->consult->acd != Consult::Acd::kWaiting || call->consult->agent != agent) {
    return;
  }
  actions_.cancel_ringing(id, Leg::kConsult);
  call->consult->ringing = false;
  publish_consult(*call, "call.consult_ringing_stopped", {{"reason", "offer_withdrawn"}});
  call->consult->agent = AgentId();
}

void CallFlow::on_consult_routing_exit(const CallId& id, const std::string& reason) {
  Call* call = find(id);
  if (call == nullptr || call->snap.phase != CallPhase::kConsulting || call->consult->acd != Consult::Acd::kWaiting ||
      call->consult->answered) {
    return;
  }
  call->consult->acd = Consult::Acd::kNone;  // the ACD is done with it
  finish_consult(*call, "call.consult_failed", {{"reason", reason}});
}

Status CallFlow::originate(const CallId& id, const OrgId& org, const AgentId& agent, const std::string& destination) {
  if (calls_.contains(id)) return already_exists("call " + id.str() + " exists", "call_exists");
  if (destination.empty()) return invalid_argument("destination must not be empty", "invalid_destination");
  Call& call = calls_[id];
  call.snap.id = id;
  call.snap.org = org;
  call.snap.direction = CallDirection::kOutbound;
  call.snap.phase = CallPhase::kRinging;
  call.snap.agent = agent;
  call.snap.to = destination;
  call.snap.started_at = clock_.now();
  call.snap.agent_attempts = 1;
  call.destination = destination;
  publish(call, "call.started", {{"direction", "outbound"}, {"to", destination}});
  actions_.ring_agent(id, agent);
  return Status::ok();
}

void CallFlow::on_timer() {
  const TimePoint now = clock_.now();
  std::vector<CallId> due;
  for (auto& [id, call] : calls_) {
    if (call.menu_deadline && *call.menu_deadline <= now) due.push_back(id);
  }
  for (const auto& id : due) {
    Call* call = find(id);
    if (call == nullptr || call->snap.phase != CallPhase::kIvr) continue;
    call->menu_deadline.reset();
    ++call->ivr_attempts;
    if (call->ivr_attempts >= options_.ivr_max_attempts) {
      publish(*call, "call.ivr_timeout", {{"attempts", call->ivr_attempts}});
      queue_call(*call,
                 options_.ivr_default_queue.empty() ? options_.ivr_options.front().queue : options_.ivr_default_queue,
                 {});
    } else {
      start_menu(*call);
    }
  }
}

std::optional<TimePoint> CallFlow::next_deadline() const {
  std::optional<TimePoint> next;
  for (const auto& [id, call] : calls_) {
    if (call.menu_deadline && (!next || *call.menu_deadline < *next)) next = call.menu_deadline;
  }
  return next;
}

void CallFlow::end(Call& call, EndReason reason) {
  if (call.in_acd) {
    actions_.call_ended_in_acd(call.snap.id);
    call.in_acd = false;
  }
  if (call.acd_call_after_transfer) {
    actions_.call_ended_in_acd(*call.acd_call_after_transfer);
    call.acd_call_after_transfer.reset();
  }
  const TimePoint now = clock_.now();
  call.snap.phase = CallPhase::kEnded;
  call.snap.ended_at = now;
  call.snap.end_reason = reason;
  nlohmann::json data = {{"reason", end_reason_name(reason)},
                         {"duration_ms", millis_between(call.snap.started_at, now)},
                         {"agent_attempts", call.snap.agent_attempts}};
  if (call.snap.queued_at) {
    data["wait_ms"] = millis_between(*call.snap.queued_at, call.snap.agent_answered_at.value_or(now));
  }
  if (call.snap.agent_answered_at) data["talk_ms"] = millis_between(*call.snap.agent_answered_at, now);
  publish(call, "call.ended", std::move(data));
  const CallId id = call.snap.id;
  actions_.finished(call.snap);
  calls_.erase(id);
}

std::optional<CallSnapshot> CallFlow::snapshot(const CallId& id) const {
  auto it = calls_.find(id);
  if (it == calls_.end()) return std::nullopt;
  return view(it->second);
}

CallSnapshot CallFlow::view(const Call& call) const {
  CallSnapshot out = call.snap;
  if (call.consult) {
    out.consult = ConsultSnapshot{call.consult->agent, call.consult->queue, call.consult->from_agent,
                                  call.consult->answered, call.consult->initiator_left};
  }
  return out;
}

std::vector<CallSnapshot> CallFlow::calls() const {
  std::vector<CallSnapshot> out;
  out.reserve(calls_.size());
  for (const auto& [id, call] : calls_) out.push_back(view(call));
  return out;
}

}  // namespace vontres::telephony
