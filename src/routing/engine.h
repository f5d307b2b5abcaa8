// The routing engine (ACD): queues, agents with skills and states, calls waiting for an agent.
// It is a deterministic state machine: commands (a call arrives, an agent accepts an offer, an
// agent goes on break, ...) and the injected Clock are its only inputs; domain events sent to a
// RoutingEventSink and the query methods are its only outputs. No threads, no sockets, no JSON.
// Every command first runs the timers that are due at clock.now() (reservation timeouts,
// escalations, wrap-up ends, max-wait actions), so the result never depends on how often tick()
// is called; tick() exists for the shell to run them when no command arrives (see next_deadline()).
//
// Matching never scans all agents: each queue keeps its ready members ordered by (penalty,
// strategy key, idle since), and its waiting calls grouped by identical requirements, so a
// decision looks at the ready agents of one queue or at one head call per requirement class.
//
// Tenancy: queue and agent ids are scoped by organisation. Every lookup names the organisation
// (offers use the call's), so two organisations may both have a queue "support" and neither can
// see, change or ring the other's.
//
// Thread-safety: none. One owner (an Asio strand or a mutex in the shell) calls everything. The
// sink is called synchronously from inside commands and must not call back into the engine.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"

namespace vontres::routing {

using Millis = std::chrono::milliseconds;

// What an agent is doing, as shown to supervisors. kReserved: an offer is ringing; kOnCall: at
// least one accepted call; kBreak carries a reason code ("lunch", "not_responding", ...).
enum class AgentState { kOffline, kAvailable, kReserved, kOnCall, kWrapUp, kBreak };
inline constexpr int kAgentStateCount = 6;
std::string_view agent_state_name(AgentState state);
std::optional<AgentState> parse_agent_state(std::string_view name);

// What an agent asks to be; the shown state is derived from this plus its calls and wrap-up.
enum class Presence { kOffline, kAvailable, kBreak };

enum class Strategy {
  kLongestIdle,     // the ready agent idle the longest
  kRoundRobin,      // the next member after the last one offered, in join order (app_queue rrmemory)
  kFewestCalls,     // the fewest calls answered today (UTC), ties by idle time
  kSkillsWeighted,  // the highest sum of proficiencies over the required skills, ties by idle time
  kRingAll,         // offer to every eligible ready agent at once; the first to accept wins
  kRandom,          // uniform among eligible agents (seeded RNG)
};
std::string_view strategy_name(Strategy strategy);
std::optional<Strategy> parse_strategy(std::string_view name);

// What happens when a call has waited max_wait in a queue.
enum class MaxWaitAction { kNone, kOverflow, kCallback, kVoicemail, kExit };
std::string_view max_wait_action_name(MaxWaitAction action);
std::optional<MaxWaitAction> parse_max_wait_action(std::string_view name);

inline constexpr int kNoPenaltyLimit = 1'000'000;

struct SkillRequirement {
  std::string skill;
  int min_proficiency = 1;  // 1..10
};

// One escalation step, applied `after` the call entered the queue (and again every
// `repeat_every` if non-zero, which is how priority rises with wait time).
struct EscalationStep {
  Millis after{0};
  Millis repeat_every{0};
  int priority_boost = 0;
  int lower_proficiency_by = 0;          // every required proficiency, never below 1
  std::vector<std::string> drop_skills;  // requirements removed by name
  bool drop_all_skills = false;          // any member of the queue will do
  std::optional<int> max_penalty;        // widen the penalty levels (tiers) allowed
  std::optional<QueueId> move_to_queue;  // overflow to another queue, keeping the arrival time
};

struct QueueConfig {
  QueueId id;
  OrgId org;
  std::string name;
  int priority = 0;  // across queues: an agent in several queues serves the higher first
  Strategy strategy = Strategy::kLongestIdle;
  Millis service_level_threshold{20'000};
  double service_level_target = 0.8;
  Millis max_wait{0};  // 0: no limit
  MaxWaitAction max_wait_action = MaxWaitAction::kNone;
  std::optional<QueueId> overflow_queue;  // for kOverflow
  size_t max_length = 0;                  // waiting calls; 0: no limit
  Millis wrap_up{0};
  Millis offer_timeout{15'000};
  Millis reoffer_delay{5'000};    // an agent who declined or missed a call is not offered it again before
  int max_missed_offers = 3;      // consecutive misses before the agent is put on break; 0: never
  bool join_empty = true;         // accept calls when no member is staffed
  bool leave_when_empty = false;  // send waiting calls away when the last staffed member leaves
  std::vector<SkillRequirement> required_skills;
  int initial_max_penalty = kNoPenaltyLimit;  // members above it are reached only by escalation
  std::vector<EscalationStep> escalation;
  Millis default_handle_time{180'000};  // for wait estimates until handle times are observed
};

struct QueueMembership {
  QueueId queue;
  int penalty = 0;  // lower is tried first (app_queue penalty, mod_callcenter tier level)
};

struct AgentConfig {
  AgentId id;
  OrgId org;
  std::string name;
  std::string team;
  std::map<std::string, int> skills;  // skill -> proficiency 1..10
  int capacity = 1;                   // concurrent calls
  std::vector<QueueMembership> queues;
};

// Configuration rules turning the AI service's view of a call into routing.
struct IntentRule {
  std::string intent;
  std::optional<QueueId> queue;  // when set, overrides the entry queue
  std::vector<SkillRequirement> skills;
  int priority_boost = 0;
};
struct RoutingRules {
  std::vector<IntentRule> intents;
  std::optional<QueueId> default_queue;        // for calls with neither a queue nor a matching intent
  double negative_sentiment_threshold = -0.6;  // sentiment <= this gets the boost
  int negative_sentiment_boost = 5;
  std::map<std::string, int> tier_boost{{"vip", 10}};
  std::string language_skill_prefix = "lang:";  // language "es" requires skill "lang:es"; empty: off
};

struct CallRequest {
  CallId id;
  OrgId org;
  std::optional<QueueId> queue;  // entry queue; may be replaced by an intent rule
  std::string language;
  std::string intent;
  std::string customer_tier;
  double sentiment = 0;  // -1 (very negative) .. 1
  int priority = 0;      // higher is served first
  std::vector<SkillRequirement> required_skills;
  std::map<std::string, std::string> attributes;  // carried, not interpreted
};

struct CallPlacement {
  QueueId queue;
  int priority = 0;
  size_t position = 0;  // 1-based among waiting calls; 0 if already offered
  std::optional<Millis> estimated_wait;
};

enum class RoutingEventType {
  kCallQueued,
  kCallRejected,
  kOffered,
  kAccepted,
  kDeclined,
  kTimeout,
  kRescinded,
  kAbandoned,
  kCompleted,
  kEscalated,
  kOverflowed,
  kCallbackScheduled,
  kVoicemail,
  kExited,
  kAgentStateChanged,
};
// "route.queued", "route.offered", ..., "agent.state_changed".
std::string_view routing_event_name(RoutingEventType type);

struct RoutingEvent {
  RoutingEventType type = RoutingEventType::kCallQueued;
  TimePoint at;
  OrgId org;
  CallId call;
  AgentId agent;
  QueueId queue;
  QueueId from_queue;                            // kOverflowed
  std::string reason;                            // rejection/exit/decline/break reason code
  AgentState from_state = AgentState::kOffline;  // kAgentStateChanged
  AgentState to_state = AgentState::kOffline;
  int priority = 0;
  Millis waited{0};   // since arrival
  Millis timeout{0};  // kOffered: how long the agent has to answer
  bool callback = false;
};

class RoutingEventSink {
 public:
  virtual ~RoutingEventSink() = default;
  virtual void on_event(const RoutingEvent& event) = 0;
};

// Why an agent was or was not chosen in one decision.
struct CandidateExplanation {
  AgentId agent;
  std::string agent_name;
  int penalty = 0;
  double score = 0;  // the strategy's score: idle seconds, proficiency sum, -calls today, ...
  Millis idle{0};
  int calls_today = 0;
  // "offered", "lower_score", "missing_skill:<s>", "proficiency_too_low:<s>",
  // "penalty_above_limit", "declined_recently", "not_ready:<state>", "higher_penalty_tier", "at_capacity"
  std::string verdict;
};

struct RoutingDecision {
  TimePoint at;
  CallId call;
  OrgId org;  // the call's organisation
  QueueId queue;
  std::string trigger;  // "call_queued", "agent_ready", "escalation", "offer_declined", "live", ...
  std::string strategy;
  bool offered = false;
  std::vector<AgentId> offered_to;
  int call_priority = 0;
  std::vector<SkillRequirement> required_skills;
  int max_penalty = kNoPenaltyLimit;
  size_t members = 0;
  size_t ready = 0;
  size_t eligible = 0;
  std::vector<CandidateExplanation> candidates;  // bounded by EngineOptions::explained_candidates
  std::string summary;                           // one sentence a supervisor can read
};

enum class CallState { kWaiting, kOffering, kConnected };
std::string_view call_state_name(CallState state);

struct CallView {
  CallId id;
  OrgId org;
  QueueId queue;
  CallState state = CallState::kWaiting;
  int priority = 0;
  bool callback = false;
  TimePoint arrived_at;
  TimePoint queue_entered_at;
  uint64_t sequence = 0;  // arrival order, ties FIFO
  std::vector<SkillRequirement> required_skills;
  int max_penalty = kNoPenaltyLimit;
  size_t position = 0;  // 1-based while waiting
  std::optional<Millis> estimated_wait;
  std::vector<AgentId> offered_to;  // pending offers
  AgentId agent;                    // kConnected
  std::vector<AgentId> excluded;    // declined/missed recently, not offered again yet
};

struct AgentView {
  AgentId id;
  OrgId org;
  std::string name;
  std::string team;
  AgentState state = AgentState::kOffline;
  Presence presence = Presence::kOffline;
  std::string break_reason;
  TimePoint state_since;
  std::map<std::string, int> skills;
  std::vector<QueueMembership> queues;
  int capacity = 1;
  int active_calls = 0;
  std::vector<CallId> offered_calls;  // pending offers
  bool ready = false;                 // can take a new offer now
  int calls_today = 0;
  int consecutive_misses = 0;
  TimePoint idle_since;
};

struct QueueStats {
  uint64_t arrived = 0;
  uint64_t answered = 0;
  uint64_t answered_within_threshold = 0;
  uint64_t abandoned = 0;
  uint64_t overflowed_out = 0;
  uint64_t callbacks = 0;
  uint64_t voicemails = 0;
  uint64_t exited = 0;
  uint64_t rejected = 0;
  Millis total_answer_wait{0};
  double service_level() const;  // answered within threshold / (answered + abandoned); 1 if none
  Millis average_speed_of_answer() const;
};

struct QueueView {
  QueueConfig config;
  size_t waiting = 0;
  size_t callbacks_waiting = 0;
  size_t offering = 0;
  Millis longest_wait{0};
  std::map<std::string, int> agents_by_state;  // state name -> members in it
  int staffed = 0;                             // members neither offline nor on break
  int ready = 0;
  QueueStats stats;
  Millis average_handle_time{0};  // recent window, or the configured default
  std::optional<Millis> estimated_wait_new_call;
  std::vector<CallView> calls;  // waiting and offering, best first, at most `limit`
};

struct EngineCounters {
  uint64_t arrived = 0;  // accepted into a queue
  uint64_t rejected = 0;
  uint64_t answered = 0;
  uint64_t completed = 0;
  uint64_t abandoned = 0;
  uint64_t voicemails = 0;
  uint64_t exited = 0;  // max wait kExit, leave_when_empty
  uint64_t offers = 0;
  uint64_t timeouts = 0;
  uint64_t declines = 0;
  size_t waiting = 0;
  size_t offering = 0;
  size_t connected = 0;
};

struct EngineOptions {
  uint64_t seed = 1;                        // for Strategy::kRandom
  size_t decisions_per_call = 16;           // explain records kept per call (oldest dropped)
  size_t explained_candidates = 8;          // candidates recorded per decision
  size_t finished_calls_retained = 10'000;  // explain records kept after a call leaves
  size_t ring_all_max_agents = 64;
  size_t handle_time_window = 100;  // recent handle times per queue for AHT/EWT
  int min_priority = -100;
  int max_priority = 100;
  RoutingRules default_rules;  // for organisations without rules of their own (set_rules)
};

class Engine {
 public:
  Engine(const Clock& clock, RoutingEventSink& sink, const EngineOptions& options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // --- configuration ---
  // Creates or replaces a queue. Errors: "invalid_queue", "queue_not_found" (overflow target).
  // Changed requirements apply to waiting calls at once; changed escalation to new arrivals.
  Status upsert_queue(const QueueConfig& config);
  // Errors: "queue_not_found", "queue_in_use" (calls waiting/connected or members).
  Status remove_queue(const OrgId& org, const QueueId& id);
  // Creates or replaces an agent's profile; its state and calls are kept.
  // Errors: "invalid_agent", "invalid_proficiency", "queue_not_found".
  Status upsert_agent(const AgentConfig& config);
  // Errors: "agent_not_found", "agent_busy" (has calls or offers).
  Status remove_agent(const OrgId& org, const AgentId& id);
  void set_rules(const OrgId& org, RoutingRules rules);
  // Back to EngineOptions::default_rules for `org`.
  void clear_rules(const OrgId& org);
  // The rules applied to `org`'s calls: its own if set, else the defaults.
  const RoutingRules& rules(const OrgId& org) const;
  bool has_own_rules(const OrgId& org) const;

  // --- agent commands ---
  // Login (kAvailable), logout (kOffline), break with a reason code. Pending offers are rescinded
  // when leaving kAvailable; calls in progress continue and the new presence shows after them.
  Status set_presence(const OrgId& org, const AgentId& agent, Presence presence, std::string reason = {});
  // The agent is looked up in the call's organisation.
  Status accept_offer(const CallId& call, const AgentId& agent);  // "offer_not_found"
  Status decline_offer(const CallId& call, const AgentId& agent, const std::string& reason = {});
  Status wrap_up_done(const OrgId& org, const AgentId& agent);  // "not_in_wrap_up"

  // --- call commands ---
  // Applies the org's rules (intent -> queue/skills, tier and sentiment -> priority), then queues
  // the call and routes it. Errors: "call_exists", "queue_not_found", "no_queue_for_call",
  // "queue_full", "queue_empty" (join_empty=false and nobody staffed).
  Result<CallPlacement> enqueue_call(const CallRequest& request);
  // The caller hung up: while waiting or ringing it is abandoned; once connected it completes.
  Status call_ended(const CallId& call);
  // The caller chose to be called back: the call keeps its place, and call_ended() (the caller's
  // leg hanging up) no longer removes it; it is offered to an agent like any call.
  Status request_callback(const CallId& call);
  // Removes a call that is not connected (a callback no longer wanted, a supervisor's action).
  // Emits route.exited with `reason` (default "canceled"). Errors: "call_not_found", "invalid_state".
  Status cancel_call(const CallId& call, std::string reason = {});

  // Runs due timers. Idempotent; every command does it first.
  void tick();
  // When tick() next has something to do, if ever.
  std::optional<TimePoint> next_deadline() const;

  // --- queries ---
  Result<CallView> call(const CallId& call) const;
  Result<AgentView> agent(const OrgId& org, const AgentId& agent) const;
  Result<QueueView> queue_view(const OrgId& org, const QueueId& queue, size_t limit = 100) const;
  std::vector<QueueConfig> queues(const OrgId& org) const;
  std::vector<AgentView> agents(const OrgId& org) const;
  // Recorded decisions for a call (also for recently finished calls), oldest first.
  Result<std::vector<RoutingDecision>> decisions(const CallId& call) const;
  // A decision evaluated now against every member of the call's queue, without acting on it:
  // answers "why is this call still waiting while Ana is free?".
  Result<RoutingDecision> explain_now(const CallId& call) const;
  EngineCounters counters() const;
  // Every live call and agent, for property tests and debugging. O(calls + agents).
  std::vector<CallView> all_calls() const;
  std::vector<AgentView> all_agents() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vontres::routing
