#include "routing/engine.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <deque>
#include <functional>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

namespace vontres::routing {

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

namespace {
constexpr std::array<std::string_view, kAgentStateCount> kAgentStateNames = {"offline", "available", "reserved",
                                                                             "on_call", "wrap_up",   "break"};
constexpr std::array<std::string_view, 6> kStrategyNames = {"longest_idle",    "round_robin", "fewest_calls",
                                                            "skills_weighted", "ring_all",    "random"};
constexpr std::array<std::string_view, 5> kMaxWaitActionNames = {"none", "overflow", "callback", "voicemail", "exit"};
}  // namespace

std::string_view agent_state_name(AgentState state) { return kAgentStateNames[static_cast<size_t>(state)]; }
std::optional<AgentState> parse_agent_state(std::string_view name) {
  for (size_t i = 0; i < kAgentStateNames.size(); ++i) {
    if (kAgentStateNames[i] == name) return static_cast<AgentState>(i);
  }
  return std::nullopt;
}
std::string_view strategy_name(Strategy strategy) { return kStrategyNames[static_cast<size_t>(strategy)]; }
std::optional<Strategy> parse_strategy(std::string_view name) {
  for (size_t i = 0; i < kStrategyNames.size(); ++i) {
    if (kStrategyNames[i] == name) return static_cast<Strategy>(i);
  }
  return std::nullopt;
}
std::string_view max_wait_action_name(MaxWaitAction action) { return kMaxWaitActionNames[static_cast<size_t>(action)]; }
std::optional<MaxWaitAction> parse_max_wait_action(std::string_view name) {
  for (size_t i = 0; i < kMaxWaitActionNames.size(); ++i) {
    if (kMaxWaitActionNames[i] == name) return static_cast<MaxWaitAction>(i);
  }
  return std::nullopt;
}

std::string_view routing_event_name(RoutingEventType type) {
  switch (type) {
    case RoutingEventType::kCallQueued: return "route.queued";
    case RoutingEventType::kCallRejected: return "route.rejected";
    case RoutingEventType::kOffered: return "route.offered";
    case RoutingEventType::kAccepted: return "route.accepted";
    case RoutingEventType::kDeclined: return "route.declined";
    case RoutingEventType::kTimeout: return "route.timeout";
    case RoutingEventType::kRescinded: return "route.rescinded";
    case RoutingEventType::kAbandoned: return "route.abandoned";
    case RoutingEventType::kCompleted: return "route.completed";
    case RoutingEventType::kEscalated: return "route.escalated";
    case RoutingEventType::kOverflowed: return "route.overflowed";
    case RoutingEventType::kCallbackScheduled: return "route.callback_scheduled";
    case RoutingEventType::kVoicemail: return "route.voicemail";
    case RoutingEventType::kExited: return "route.exited";
    case RoutingEventType::kAgentStateChanged: return "agent.state_changed";
  }
  return "route.unknown";
}

std::string_view call_state_name(CallState state) {
  switch (state) {
    case CallState::kWaiting: return "waiting";
    case CallState::kOffering: return "offering";
    case CallState::kConnected: return "connected";
  }
  return "unknown";
}

double QueueStats::service_level() const {
  const uint64_t denominator = answered + abandoned;
  if (denominator == 0) return 1.0;
  return static_cast<double>(answered_within_threshold) / static_cast<double>(denominator);
}

Millis QueueStats::average_speed_of_answer() const {
  if (answered == 0) return Millis{0};
  return Millis{total_answer_wait.count() / static_cast<int64_t>(answered)};
}

// ---------------------------------------------------------------------------------------------
// Runtime structures
// ---------------------------------------------------------------------------------------------

namespace {

struct Req {
  uint32_t skill = 0;
  int min = 1;
  bool operator==(const Req&) const = default;
};

struct CallRt;
struct AgentRt;
struct QueueRt;

// Waiting-call order: priority desc, arrival asc, sequence asc (FIFO within equal priority).
struct CallKey {
  int neg_priority = 0;
  int64_t arrived_ns = 0;
  uint64_t seq = 0;
  CallRt* call = nullptr;
  bool operator<(const CallKey& o) const {
    if (neg_priority != o.neg_priority) return neg_priority < o.neg_priority;
    if (arrived_ns != o.arrived_ns) return arrived_ns < o.arrived_ns;
    return seq < o.seq;
  }
};

// Ready-agent order within a queue: penalty tier first, then the strategy's key, then idle time.
struct ReadyKey {
  int penalty = 0;
  int64_t primary = 0;
  int64_t idle_ns = 0;
  uint32_t agent = 0;
  bool operator<(const ReadyKey& o) const {
    // Spelled out: std::tie's synthesised three-way comparison showed up in profiles.
    if (penalty != o.penalty) return penalty < o.penalty;
    if (primary != o.primary) return primary < o.primary;
    if (idle_ns != o.idle_ns) return idle_ns < o.idle_ns;
    return agent < o.agent;
  }
  bool operator==(const ReadyKey&) const = default;
};

// Waiting calls with identical requirements: an agent becoming ready checks one head per class.
struct ClassBucket {
  std::string key;
  std::vector<Req> reqs;
  int max_penalty = kNoPenaltyLimit;
  std::set<CallKey> calls;
};

struct Member {
  uint32_t agent = 0;
  int penalty = 0;
  int64_t position = 0;
};

struct QueueRt {
  QueueConfig cfg;
  std::vector<Req> base_reqs;
  std::shared_ptr<const std::vector<EscalationStep>> steps;  // immutable snapshot shared with calls
  std::unordered_map<uint32_t, Member> members;
  std::set<ReadyKey> ready;
  std::set<CallKey> waiting;
  std::unordered_map<std::string, ClassBucket> classes;
  int64_t rr_last = -1;
  int64_t next_position = 0;
  std::array<int, kAgentStateCount> state_counts{};
  QueueStats stats;
  std::deque<int64_t> handle_ms;
  int64_t handle_sum_ms = 0;
  size_t offering = 0;
  size_t connected = 0;
  size_t callbacks_waiting = 0;

  int staffed() const {
    return static_cast<int>(members.size()) - state_counts[static_cast<size_t>(AgentState::kOffline)] -
           state_counts[static_cast<size_t>(AgentState::kBreak)];
  }
};

struct Membership {
  QueueRt* queue = nullptr;
  int penalty = 0;
  int64_t position = 0;
  bool in_ready = false;
  ReadyKey key;
};

struct AgentRt {
  AgentConfig cfg;
  uint32_t index = 0;
  std::vector<std::pair<uint32_t, int>> skills;  // sorted by skill id
  std::vector<Membership> memberships;
  Presence presence = Presence::kOffline;
  std::string break_reason;
  int active_calls = 0;
  std::vector<uint64_t> reservations;
  bool wrap = false;
  uint64_t wrap_gen = 0;
  TimePoint idle_since;
  int calls_today = 0;
  int64_t calls_day = -1;
  int misses = 0;
  bool was_ready = false;
  AgentState reported = AgentState::kOffline;
  std::string reported_reason;
  TimePoint state_since;
};

struct Exclusion {
  uint32_t agent = 0;
  TimePoint until;
};

struct CallRt {
  CallRequest request;
  uint64_t seq = 0;
  QueueRt* queue = nullptr;
  CallState state = CallState::kWaiting;
  int priority = 0;
  bool callback = false;
  TimePoint arrived_at;
  TimePoint queue_entered_at;
  TimePoint accepted_at;
  std::vector<Req> own_reqs;  // from the request, intent rule and language
  std::vector<Req> reqs;      // effective, after escalation
  int max_penalty = kNoPenaltyLimit;
  int lower_by = 0;
  bool drop_all = false;
  std::vector<uint32_t> dropped;
  ClassBucket* bucket = nullptr;
  std::vector<uint64_t> reservations;
  AgentRt* agent = nullptr;
  std::shared_ptr<const std::vector<EscalationStep>> steps;
  std::vector<TimePoint> step_due;
  uint64_t escalation_gen = 0;
  uint64_t queue_gen = 0;
  bool max_wait_pending = false;
  bool max_wait_done = false;
  std::vector<Exclusion> excluded;
  std::vector<RoutingDecision> decisions;  // a vector: an empty deque allocates
  std::string queue_reason;
};

struct Reservation {
  CallRt* call = nullptr;
  AgentRt* agent = nullptr;
  TimePoint expires;
};

enum class TimerKind { kReservation, kWrapUp, kEscalation, kMaxWait, kExclusion };

struct Timer {
  TimePoint at;
  uint64_t order = 0;
  TimerKind kind = TimerKind::kReservation;
  uint64_t target = 0;
  uint64_t gen = 0;
  bool operator>(const Timer& o) const { return std::tie(at, order) > std::tie(o.at, o.order); }
};

enum class Verdict { kEligible, kMissingSkill, kProficiencyTooLow, kPenaltyAboveLimit, kExcluded };

int64_t to_ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
Millis to_ms(Duration d) { return std::chrono::duration_cast<Millis>(d); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Impl
// ---------------------------------------------------------------------------------------------

class Engine::Impl {
 public:
  Impl(const Clock& clock, RoutingEventSink& sink, const EngineOptions& options)
      : clock_(clock), sink_(sink), options_(options), rng_(options.seed) {}

  const Clock& clock_;
  RoutingEventSink& sink_;
  EngineOptions options_;
  std::mt19937_64 rng_;
  TimePoint now_;

  std::unordered_map<std::string, uint32_t> skill_ids_;
  std::vector<std::string> skill_names_;
  // Queue and agent ids are an organisation's own: both are keyed by scoped_key(org, id), so two
  // organisations may use the same id and neither can reach the other's.
  std::unordered_map<std::string, std::unique_ptr<QueueRt>> queues_;
  std::vector<std::unique_ptr<AgentRt>> agents_;
  std::unordered_map<std::string, uint32_t> agent_index_;
  std::unordered_map<CallId, std::unique_ptr<CallRt>> calls_;
  std::unordered_map<uint64_t, CallRt*> calls_by_seq_;
  std::unordered_map<uint64_t, Reservation> reservations_;
  std::unordered_map<OrgId, RoutingRules> rules_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  // Pending matching work. Agents go first (an agent takes the best call it is eligible for, which
  // is FIFO by construction); calls then go best-placed first, so simultaneous changes can never
  // let a later call overtake an earlier one.
  std::deque<std::pair<uint32_t, const char*>> agent_work_;
  std::map<std::tuple<int, int64_t, uint64_t>, const char*> call_work_;
  std::deque<QueueRt*> queue_work_;
  std::unordered_map<CallId, std::vector<RoutingDecision>> finished_;
  std::deque<CallId> finished_order_;
  EngineCounters counters_;
  uint64_t next_call_seq_ = 0;
  uint64_t next_reservation_ = 0;
  uint64_t next_timer_order_ = 0;

  // ----- helpers -----

  uint32_t intern(const std::string& skill) {
    auto [it, inserted] = skill_ids_.try_emplace(skill, static_cast<uint32_t>(skill_names_.size()));
    if (inserted) skill_names_.push_back(skill);
    return it->second;
  }

  void emit(RoutingEvent event) {
    event.at = now_;
    sink_.on_event(event);
  }

  void schedule(TimePoint at, TimerKind kind, uint64_t target, uint64_t gen) {
    timers_.push(Timer{at, next_timer_order_++, kind, target, gen});
  }

  static std::string scoped_key(const OrgId& org, const std::string& id) {
    std::string key;
    key.reserve(org.str().size() + 1 + id.size());
    key.append(org.str()).push_back('\0');  // ids never contain NUL, so keys cannot collide
    key.append(id);
    return key;
  }
  AgentRt* find_agent(const OrgId& org, const AgentId& id) const {
    auto it = agent_index_.find(scoped_key(org, id.str()));
    return it == agent_index_.end() ? nullptr : agents_[it->second].get();
  }
  QueueRt* find_queue(const OrgId& org, const QueueId& id) const {
    auto it = queues_.find(scoped_key(org, id.str()));
    return it == queues_.end() ? nullptr : it->second.get();
  }
  CallRt* find_call(const CallId& id) const {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : it->second.get();
  }

  int64_t day_of(TimePoint t) const { return to_ns(t) / (86'400LL * 1'000'000'000LL); }
  int calls_today(const AgentRt& a) const { return a.calls_day == day_of(now_) ? a.calls_today : 0; }

  static Membership* membership_in(AgentRt& a, const QueueRt* q) {
    for (auto& m : a.memberships) {
      if (m.queue == q) return &m;
    }
    return nullptr;
  }

  std::vector<SkillRequirement> describe(const std::vector<Req>& reqs) const {
    std::vector<SkillRequirement> out;
    out.reserve(reqs.size());
    for (const auto& r : reqs) out.push_back({skill_names_[r.skill], r.min});
    return out;
  }

  // Sorted, de-duplicated (the stricter proficiency wins).
  static void normalise(std::vector<Req>& reqs) {
    std::sort(reqs.begin(), reqs.end(),
              [](const Req& a, const Req& b) { return a.skill != b.skill ? a.skill < b.skill : a.min > b.min; });
    reqs.erase(std::unique(reqs.begin(), reqs.end(), [](const Req& a, const Req& b) { return a.skill == b.skill; }),
               reqs.end());
  }

  std::vector<Req> to_reqs(const std::vector<SkillRequirement>& in) {
    std::vector<Req> out;
    out.reserve(in.size());
    for (const auto& r : in) out.push_back({intern(r.skill), std::clamp(r.min_proficiency, 1, 10)});
    normalise(out);
    return out;
  }

  // Returns kEligible or why not; `skill` names the failing skill.
  Verdict skills_verdict(const AgentRt& a, const std::vector<Req>& reqs, uint32_t& skill) const {
    auto it = a.skills.begin();
    for (const auto& r : reqs) {
      while (it != a.skills.end() && it->first < r.skill) ++it;
      if (it == a.skills.end() || it->first != r.skill) {
        skill = r.skill;
        return Verdict::kMissingSkill;
      }
      if (it->second < r.min) {
        skill = r.skill;
        return Verdict::kProficiencyTooLow;
      }
    }
    return Verdict::kEligible;
  }

  bool is_excluded(const CallRt& c, uint32_t agent) const {
    for (const auto& e : c.excluded) {
      if (e.agent == agent && e.until > now_) return true;
    }
    return false;
  }

  Verdict verdict(const AgentRt& a, int penalty, const CallRt& c, uint32_t& skill) const {
    if (penalty > c.max_penalty) return Verdict::kPenaltyAboveLimit;
    Verdict v = skills_verdict(a, c.reqs, skill);
    if (v != Verdict::kEligible) return v;
    if (is_excluded(c, a.index)) return Verdict::kExcluded;
    return Verdict::kEligible;
  }

  std::string verdict_text(Verdict v, uint32_t skill) const {
    switch (v) {
      case Verdict::kEligible: return "eligible";
      case Verdict::kMissingSkill: return "missing_skill:" + skill_names_[skill];
      case Verdict::kProficiencyTooLow: return "proficiency_too_low:" + skill_names_[skill];
      case Verdict::kPenaltyAboveLimit: return "penalty_above_limit";
      case Verdict::kExcluded: return "declined_recently";
    }
    return "unknown";
  }

  int proficiency_sum(const AgentRt& a, const std::vector<Req>& reqs) const {
    int sum = 0;
    auto it = a.skills.begin();
    for (const auto& r : reqs) {
      while (it != a.skills.end() && it->first < r.skill) ++it;
      if (it != a.skills.end() && it->first == r.skill) sum += it->second;
    }
    return sum;
  }

  double score_of(const QueueRt& q, const AgentRt& a, const CallRt& c, int64_t position) const {
    switch (q.cfg.strategy) {
      case Strategy::kLongestIdle:
      case Strategy::kRingAll: return std::chrono::duration<double>(now_ - a.idle_since).count();
      case Strategy::kRoundRobin: return static_cast<double>(position);
      case Strategy::kFewestCalls: return -static_cast<double>(calls_today(a));
      case Strategy::kSkillsWeighted: return proficiency_sum(a, c.reqs);
      case Strategy::kRandom: return 0;
    }
    return 0;
  }

  // ----- agent state -----

  bool is_ready(const AgentRt& a) const {
    return a.presence == Presence::kAvailable && !a.wrap && a.reservations.empty() && a.active_calls < a.cfg.capacity;
  }

  AgentState derived_state(const AgentRt& a) const {
    if (a.active_calls > 0) return AgentState::kOnCall;
    if (!a.reservations.empty()) return AgentState::kReserved;
    if (a.wrap) return AgentState::kWrapUp;
    switch (a.presence) {
      case Presence::kOffline: return AgentState::kOffline;
      case Presence::kBreak: return AgentState::kBreak;
      case Presence::kAvailable: return AgentState::kAvailable;
    }
    return AgentState::kOffline;
  }

  ReadyKey ready_key(const AgentRt& a, const Membership& m) const {
    ReadyKey k;
    k.penalty = m.penalty;
    switch (m.queue->cfg.strategy) {
      case Strategy::kRoundRobin: k.primary = m.position; break;
      case Strategy::kFewestCalls: k.primary = calls_today(a); break;
      default: k.primary = 0;
    }
    k.idle_ns = to_ns(a.idle_since);
    k.agent = a.index;
    return k;
  }

  // Re-derives readiness and state after any change to the agent; keeps the queue indexes and
  // state counts in step, emits agent.state_changed, and queues the agent for matching.
  void refresh_agent(AgentRt& a, const char* trigger = "agent_ready") {
    const bool ready = is_ready(a);
    for (auto& m : a.memberships) {
      if (m.in_ready) {
        if (ready && m.key == ready_key(a, m)) continue;
        m.queue->ready.erase(m.key);
        m.in_ready = false;
      }
      if (ready) {
        m.key = ready_key(a, m);
        m.queue->ready.insert(m.key);
        m.in_ready = true;
      }
    }
    if (ready && !a.was_ready) agent_work_.emplace_back(a.index, trigger);
    a.was_ready = ready;

    const AgentState state = derived_state(a);
    const std::string& reason = state == AgentState::kBreak ? a.break_reason : empty_;
    if (state != a.reported || reason != a.reported_reason) {
      const AgentState from = a.reported;
      for (auto& m : a.memberships) {
        m.queue->state_counts[static_cast<size_t>(from)]--;
        m.queue->state_counts[static_cast<size_t>(state)]++;
        if (m.queue->cfg.leave_when_empty && m.queue->staffed() == 0 && !m.queue->waiting.empty()) {
          queue_work_.push_back(m.queue);
        }
      }
      a.reported = state;
      a.reported_reason = reason;
      a.state_since = now_;
      RoutingEvent e;
      e.type = RoutingEventType::kAgentStateChanged;
      e.org = a.cfg.org;
      e.agent = a.cfg.id;
      e.from_state = from;
      e.to_state = state;
      e.reason = reason;
      emit(std::move(e));
    }
  }

  void add_membership(AgentRt& a, QueueRt& q, int penalty, std::optional<int64_t> keep_position) {
    Membership m;
    m.queue = &q;
    m.penalty = penalty;
    m.position = keep_position ? *keep_position : q.next_position++;
    q.members[a.index] = Member{a.index, penalty, m.position};
    q.state_counts[static_cast<size_t>(a.reported)]++;
    a.memberships.push_back(m);
  }

  void drop_memberships(AgentRt& a) {
    for (auto& m : a.memberships) {
      if (m.in_ready) m.queue->ready.erase(m.key);
      m.queue->members.erase(a.index);
      m.queue->state_counts[static_cast<size_t>(a.reported)]--;
      if (m.queue->cfg.leave_when_empty && m.queue->staffed() == 0 && !m.queue->waiting.empty()) {
        queue_work_.push_back(m.queue);
      }
    }
    a.memberships.clear();
  }

  // ----- waiting calls -----

  static std::string class_key(const std::vector<Req>& reqs, int max_penalty) {
    std::string key;
    key.reserve(reqs.size() * 5 + 4);
    auto put = [&key](uint32_t v) {
      for (int i = 0; i < 4; ++i) key.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    };
    put(static_cast<uint32_t>(max_penalty));
    for (const auto& r : reqs) {
      put(r.skill);
      key.push_back(static_cast<char>(r.min));
    }
    return key;
  }

  void compute_requirements(CallRt& c) {
    std::vector<Req> reqs;
    if (!c.drop_all) {
      reqs = c.queue->base_reqs;
      reqs.insert(reqs.end(), c.own_reqs.begin(), c.own_reqs.end());
      normalise(reqs);
      std::erase_if(reqs, [&c](const Req& r) {
        return std::find(c.dropped.begin(), c.dropped.end(), r.skill) != c.dropped.end();
      });
      for (auto& r : reqs) r.min = std::max(1, r.min - c.lower_by);
    }
    c.reqs = std::move(reqs);
  }

  static CallKey key_of(CallRt& c) { return CallKey{-c.priority, to_ns(c.arrived_at), c.seq, &c}; }

  void insert_waiting(CallRt& c) {
    QueueRt& q = *c.queue;
    const CallKey key = key_of(c);
    q.waiting.insert(key);
    std::string ck = class_key(c.reqs, c.max_penalty);
    auto [it, inserted] = q.classes.try_emplace(ck);
    if (inserted) {
      it->second.key = std::move(ck);
      it->second.reqs = c.reqs;
      it->second.max_penalty = c.max_penalty;
    }
    it->second.calls.insert(key);
    c.bucket = &it->second;
    c.state = CallState::kWaiting;
    if (c.callback) q.callbacks_waiting++;
    counters_.waiting++;
  }

  void remove_waiting(CallRt& c) {
    assert(c.state == CallState::kWaiting);
    QueueRt& q = *c.queue;
    const CallKey key = key_of(c);
    q.waiting.erase(key);
    c.bucket->calls.erase(key);
    if (c.bucket->calls.empty()) q.classes.erase(q.classes.find(c.bucket->key));
    c.bucket = nullptr;
    if (c.callback) q.callbacks_waiting--;
    counters_.waiting--;
  }

  // Applies `change` to a call's ordering or requirements, keeping the indexes consistent.
  template <typename F>
  void modify_call(CallRt& c, F&& change) {
    const bool waiting = c.state == CallState::kWaiting;
    if (waiting) remove_waiting(c);
    change();
    compute_requirements(c);
    if (waiting) insert_waiting(c);
  }

  // Enters (or re-enters, on overflow) a queue: requirements, escalation clock, max wait.
  void enter_queue(CallRt& c, QueueRt& q) {
    c.queue = &q;
    c.queue_entered_at = now_;
    c.lower_by = 0;
    c.drop_all = false;
    c.dropped.clear();
    c.max_penalty = q.cfg.initial_max_penalty;
    c.steps = q.steps;
    c.step_due.clear();
    c.escalation_gen++;
    c.queue_gen++;
    c.max_wait_pending = false;
    c.max_wait_done = false;
    c.excluded.clear();
    compute_requirements(c);
    if (c.steps && !c.steps->empty()) {
      for (const auto& s : *c.steps) c.step_due.push_back(now_ + s.after);
      schedule_escalation(c);
    }
    if (q.cfg.max_wait.count() > 0 && q.cfg.max_wait_action != MaxWaitAction::kNone) {
      schedule(now_ + q.cfg.max_wait, TimerKind::kMaxWait, c.seq, c.queue_gen);
    }
    q.stats.arrived++;
  }

  void schedule_escalation(CallRt& c) {
    TimePoint next = TimePoint::max();
    for (const auto& due : c.step_due) next = std::min(next, due);
    if (next != TimePoint::max()) schedule(next, TimerKind::kEscalation, c.seq, c.escalation_gen);
  }

  size_t position_of(const CallRt& c) const {
    if (c.state != CallState::kWaiting) return 0;
    size_t pos = 1;
    for (const auto& k : c.queue->waiting) {
      if (k.call == &c) return pos;
      ++pos;
    }
    return 0;
  }

  Millis average_handle_time(const QueueRt& q) const {
    if (q.handle_ms.empty()) return q.cfg.default_handle_time;
    return Millis{q.handle_sum_ms / static_cast<int64_t>(q.handle_ms.size())};
  }

  // Agents free up at staffed/AHT per second, so the k-th caller waits about k * AHT / staffed.
  std::optional<Millis> estimated_wait(const QueueRt& q, size_t position) const {
    const int staffed = q.staffed();
    if (staffed <= 0) return std::nullopt;
    const int ready = static_cast<int>(q.ready.size());
    if (position <= static_cast<size_t>(ready)) return Millis{0};
    const int64_t aht = average_handle_time(q).count();
    return Millis{static_cast<int64_t>(position - static_cast<size_t>(ready)) * aht / staffed};
  }

  // ----- decisions -----

  void record(CallRt& c, RoutingDecision d) {
    if (options_.decisions_per_call == 0) return;
    if (c.decisions.size() >= options_.decisions_per_call) c.decisions.erase(c.decisions.begin());
    c.decisions.push_back(std::move(d));
  }

  RoutingDecision decision_header(const CallRt& c, const char* trigger) const {
    RoutingDecision d;
    d.at = now_;
    d.call = c.request.id;
    d.org = c.request.org;
    d.queue = c.queue->cfg.id;
    d.trigger = trigger;
    d.strategy = std::string(strategy_name(c.queue->cfg.strategy));
    d.call_priority = c.priority;
    d.required_skills = describe(c.reqs);
    d.max_penalty = c.max_penalty;
    d.members = c.queue->members.size();
    d.ready = c.queue->ready.size();
    return d;
  }

  CandidateExplanation explain_agent(const QueueRt& q, const AgentRt& a, const CallRt& c, int penalty, int64_t position,
                                     std::string verdict) const {
    CandidateExplanation e;
    e.agent = a.cfg.id;
    e.agent_name = a.cfg.name;
    e.penalty = penalty;
    e.score = score_of(q, a, c, position);
    e.idle = to_ms(now_ - a.idle_since);
    e.calls_today = calls_today(a);
    e.verdict = std::move(verdict);
    return e;
  }

  std::string state_breakdown(const QueueRt& q) const {
    std::string out;
    for (size_t i = 0; i < kAgentStateCount; ++i) {
      if (q.state_counts[i] == 0) continue;
      if (!out.empty()) out += ", ";
      out += fmt::format("{} {}", q.state_counts[i], kAgentStateNames[i]);
    }
    return out.empty() ? "no members" : out;
  }

  // Chooses the agent(s) for a waiting call by the queue's strategy, recording why.
  void route_call(CallRt& c, const char* trigger) {
    QueueRt& q = *c.queue;
    const Strategy strategy = q.cfg.strategy;
    const bool first_wins = strategy == Strategy::kLongestIdle || strategy == Strategy::kFewestCalls;
    // With explain records off, no candidate rows are built at all.
    const size_t limit = options_.decisions_per_call == 0 ? 0 : options_.explained_candidates;

    RoutingDecision d = decision_header(c, trigger);
    struct Eligible {
      AgentRt* agent;
      int64_t position;
      int penalty;
      size_t candidate;  // index into d.candidates, or npos
    };
    std::vector<Eligible> eligible;
    std::optional<int> tier;
    size_t penalty_limited = 0;
    for (auto it = q.ready.begin(); it != q.ready.end(); ++it) {
      const ReadyKey& k = *it;
      AgentRt& a = *agents_[k.agent];
      if (k.penalty > c.max_penalty || (tier && k.penalty > *tier)) {
        // Sorted by penalty: everyone after this is out of reach too.
        penalty_limited = static_cast<size_t>(std::distance(it, q.ready.end()));
        if (d.candidates.size() < limit) {
          const Membership* m = membership_in(a, &q);
          d.candidates.push_back(explain_agent(q, a, c, k.penalty, m ? m->position : 0,
                                               tier ? "higher_penalty_tier" : "penalty_above_limit"));
        }
        break;
      }
      uint32_t skill = 0;
      const Verdict v = verdict(a, k.penalty, c, skill);
      const int64_t position = strategy == Strategy::kRoundRobin ? k.primary : 0;
      size_t candidate_index = std::string::npos;
      if (d.candidates.size() < limit) {
        candidate_index = d.candidates.size();
        d.candidates.push_back(explain_agent(q, a, c, k.penalty, position,
                                             v == Verdict::kEligible ? "lower_score" : verdict_text(v, skill)));
      }
      if (v == Verdict::kEligible) {
        if (!tier) tier = k.penalty;
        eligible.push_back({&a, position, k.penalty, candidate_index});
      }
      if (first_wins && !eligible.empty() && d.candidates.size() >= limit) break;
    }
    d.eligible = eligible.size();

    if (eligible.empty()) {
      if (q.ready.empty()) {
        d.summary = fmt::format("no member agent is ready ({})", state_breakdown(q));
      } else {
        d.summary = fmt::format(
            "none of {} ready member agents is eligible{}", q.ready.size(),
            penalty_limited ? fmt::format(" ({} beyond the allowed penalty)", penalty_limited) : std::string());
      }
      if (!c.queue_reason.empty() && c.decisions.empty()) d.summary = c.queue_reason + "; " + d.summary;
      record(c, std::move(d));
      return;
    }

    std::vector<size_t> winners;
    std::string why;
    switch (strategy) {
      case Strategy::kLongestIdle:
        winners.push_back(0);
        why = fmt::format("longest idle ({}s)", to_ms(now_ - eligible[0].agent->idle_since).count() / 1000);
        break;
      case Strategy::kFewestCalls:
        winners.push_back(0);
        why = fmt::format("fewest calls today ({}), then longest idle", calls_today(*eligible[0].agent));
        break;
      case Strategy::kSkillsWeighted: {
        size_t best = 0;
        int best_score = proficiency_sum(*eligible[0].agent, c.reqs);
        for (size_t i = 1; i < eligible.size(); ++i) {
          const int s = proficiency_sum(*eligible[i].agent, c.reqs);
          if (s > best_score) {
            best = i;
            best_score = s;
          }
        }
        winners.push_back(best);
        why = fmt::format("best proficiency match ({}), ties by idle time", best_score);
        break;
      }
      case Strategy::kRoundRobin: {
        size_t best = 0;
        bool found = false;
        for (size_t i = 0; i < eligible.size(); ++i) {
          if (eligible[i].position > q.rr_last && (!found || eligible[i].position < eligible[best].position)) {
            best = i;
            found = true;
          }
        }
        if (!found) {
          for (size_t i = 1; i < eligible.size(); ++i) {
            if (eligible[i].position < eligible[best].position) best = i;
          }
        }
        winners.push_back(best);
        why = fmt::format("next in rotation after position {}", q.rr_last);
        break;
      }
      case Strategy::kRandom: {
        std::uniform_int_distribution<size_t> pick(0, eligible.size() - 1);
        winners.push_back(pick(rng_));
        why = "random pick";
        break;
      }
      case Strategy::kRingAll:
        for (size_t i = 0; i < eligible.size() && i < options_.ring_all_max_agents; ++i) winners.push_back(i);
        why = fmt::format("ring all {} eligible", winners.size());
        break;
    }

    std::vector<AgentRt*> chosen;
    for (size_t w : winners) {
      const Eligible& e = eligible[w];
      chosen.push_back(e.agent);
      if (e.candidate != std::string::npos) {
        d.candidates[e.candidate].verdict = "offered";
      } else if (limit > 0) {
        // The winner was scanned after the explain budget ran out; make room for it.
        if (!d.candidates.empty() && d.candidates.size() >= limit) d.candidates.pop_back();
        d.candidates.push_back(explain_agent(q, *e.agent, c, e.penalty, e.position, "offered"));
      }
      if (strategy == Strategy::kRoundRobin) q.rr_last = e.position;
    }
    d.summary = fmt::format("offered to {} at penalty {}: {} among {} eligible",
                            chosen[0]->cfg.name.empty() ? chosen[0]->cfg.id.str() : chosen[0]->cfg.name, *tier, why,
                            eligible.size());
    if (!c.queue_reason.empty() && c.decisions.empty()) d.summary = c.queue_reason + "; " + d.summary;
    offer(c, chosen, std::move(d));
  }

  // An agent became ready: it takes the best call it is eligible for across its queues (queue
  // priority, then call priority, then arrival). Only class heads are examined.
  void assign_agent(AgentRt& a, const char* trigger) {
    CallRt* best = nullptr;
    const Membership* best_m = nullptr;
    size_t considered = 0;
    for (const auto& m : a.memberships) {
      const QueueRt& q = *m.queue;
      if (q.waiting.empty()) continue;
      if (best_m && q.cfg.priority < best_m->queue->cfg.priority) continue;
      for (const auto& [key, bucket] : q.classes) {
        if (m.penalty > bucket.max_penalty) continue;
        uint32_t skill = 0;
        if (skills_verdict(a, bucket.reqs, skill) != Verdict::kEligible) continue;
        for (const auto& ck : bucket.calls) {
          if (is_excluded(*ck.call, a.index)) continue;
          ++considered;
          const bool better = !best || q.cfg.priority > best_m->queue->cfg.priority ||
                              (q.cfg.priority == best_m->queue->cfg.priority && ck < key_of(*best));
          if (better) {
            best = ck.call;
            best_m = &m;
          }
          break;
        }
      }
    }
    if (!best) return;
    RoutingDecision d = decision_header(*best, trigger);
    d.eligible = 1;
    d.candidates.push_back(explain_agent(*best->queue, a, *best, best_m->penalty, best_m->position, "offered"));
    d.summary = fmt::format(
        "{} became ready and took the first eligible call (priority {}, waiting {}s) among {} candidate classes "
        "in its queues",
        a.cfg.name.empty() ? a.cfg.id.str() : a.cfg.name, best->priority, to_ms(now_ - best->arrived_at).count() / 1000,
        considered);
    if (best->queue->cfg.strategy == Strategy::kRoundRobin) best->queue->rr_last = best_m->position;
    offer(*best, {&a}, std::move(d));
  }

  void offer(CallRt& c, const std::vector<AgentRt*>& agents, RoutingDecision d) {
    remove_waiting(c);
    c.state = CallState::kOffering;
    c.queue->offering++;
    counters_.offering++;
    for (AgentRt* a : agents) {
      d.offered_to.push_back(a->cfg.id);
      const uint64_t id = ++next_reservation_;
      const TimePoint expires = now_ + c.queue->cfg.offer_timeout;
      reservations_.emplace(id, Reservation{&c, a, expires});
      a->reservations.push_back(id);
      c.reservations.push_back(id);
      schedule(expires, TimerKind::kReservation, id, 0);
      counters_.offers++;
      RoutingEvent e = call_event(RoutingEventType::kOffered, c);
      e.agent = a->cfg.id;
      e.timeout = c.queue->cfg.offer_timeout;
      emit(std::move(e));
      refresh_agent(*a);
    }
    d.offered = true;
    record(c, std::move(d));
  }

  RoutingEvent call_event(RoutingEventType type, const CallRt& c) const {
    RoutingEvent e;
    e.type = type;
    e.org = c.request.org;
    e.call = c.request.id;
    e.queue = c.queue->cfg.id;
    e.priority = c.priority;
    e.waited = to_ms(now_ - c.arrived_at);
    e.callback = c.callback;
    return e;
  }

  // Removes one reservation from the indexes; the caller decides what happens to call and agent.
  Reservation take_reservation(uint64_t id) {
    auto it = reservations_.find(id);
    assert(it != reservations_.end());
    Reservation r = it->second;
    reservations_.erase(it);
    std::erase(r.agent->reservations, id);
    std::erase(r.call->reservations, id);
    return r;
  }

  void exclude(CallRt& c, AgentRt& a) {
    const TimePoint until = now_ + c.queue->cfg.reoffer_delay;
    std::erase_if(c.excluded, [&](const Exclusion& e) { return e.agent == a.index || e.until <= now_; });
    c.excluded.push_back({a.index, until});
    schedule(until, TimerKind::kExclusion, c.seq, a.index);
  }

  // The last pending offer of a call ended without an answer: back to its place in the queue.
  void back_to_waiting(CallRt& c, const char* trigger) {
    c.queue->offering--;
    counters_.offering--;
    insert_waiting(c);
    // Queued before apply_max_wait, which may end the call; dispatch skips calls that are gone.
    push_call(c, trigger);
    if (c.max_wait_pending) {
      c.max_wait_pending = false;
      apply_max_wait(c);
    }
  }

  void rescind_all(CallRt& c, const std::string& reason, bool return_to_queue) {
    const std::vector<uint64_t> ids = c.reservations;
    for (uint64_t id : ids) {
      Reservation r = take_reservation(id);
      RoutingEvent e = call_event(RoutingEventType::kRescinded, c);
      e.agent = r.agent->cfg.id;
      e.reason = reason;
      emit(std::move(e));
      refresh_agent(*r.agent);
    }
    if (return_to_queue && c.state == CallState::kOffering) back_to_waiting(c, "offer_rescinded");
  }

  // Offer ended without acceptance (declined or timed out).
  void offer_failed(uint64_t id, bool timeout, const std::string& reason) {
    Reservation r = take_reservation(id);
    CallRt& c = *r.call;
    AgentRt& a = *r.agent;
    RoutingEvent e = call_event(timeout ? RoutingEventType::kTimeout : RoutingEventType::kDeclined, c);
    e.agent = a.cfg.id;
    e.reason = reason;
    emit(std::move(e));
    exclude(c, a);
    if (timeout) {
      counters_.timeouts++;
      a.misses++;
      const int limit = c.queue->cfg.max_missed_offers;
      if (limit > 0 && a.misses >= limit && a.presence == Presence::kAvailable) {
        a.presence = Presence::kBreak;
        a.break_reason = "not_responding";
        for (uint64_t other : std::vector<uint64_t>(a.reservations)) {
          Reservation o = take_reservation(other);
          RoutingEvent oe = call_event(RoutingEventType::kRescinded, *o.call);
          oe.agent = a.cfg.id;
          oe.reason = "agent_not_responding";
          emit(std::move(oe));
          if (o.call->reservations.empty()) back_to_waiting(*o.call, "offer_rescinded");
        }
      }
    } else {
      counters_.declines++;
    }
    refresh_agent(a);
    if (c.reservations.empty()) back_to_waiting(c, timeout ? "offer_timeout" : "offer_declined");
  }

  void finish_call(CallRt& c) {
    if (options_.finished_calls_retained > 0) {
      if (finished_order_.size() >= options_.finished_calls_retained) {
        finished_.erase(finished_order_.front());
        finished_order_.pop_front();
      }
      finished_[c.request.id] = std::move(c.decisions);
      finished_order_.push_back(c.request.id);
    }
    calls_by_seq_.erase(c.seq);
    calls_.erase(c.request.id);  // destroys c
  }

  // Removes a waiting or offering call that leaves the queue without an agent.
  void leave_queue(CallRt& c) {
    if (c.state == CallState::kWaiting) {
      remove_waiting(c);
    } else if (c.state == CallState::kOffering) {
      rescind_all(c, "call_left_queue", false);
      c.queue->offering--;
      counters_.offering--;
    }
  }

  void move_call(CallRt& c, QueueRt& target, const std::string& reason) {
    QueueRt& from = *c.queue;
    leave_queue(c);
    from.stats.overflowed_out++;
    c.queue_reason.clear();
    enter_queue(c, target);
    insert_waiting(c);
    RoutingEvent e = call_event(RoutingEventType::kOverflowed, c);
    e.from_queue = from.cfg.id;
    e.reason = reason;
    emit(std::move(e));
    push_call(c, "overflow");
  }

  void make_callback(CallRt& c) {
    if (c.callback) return;
    if (c.state == CallState::kWaiting) c.queue->callbacks_waiting++;
    c.callback = true;
    c.queue->stats.callbacks++;
    emit(call_event(RoutingEventType::kCallbackScheduled, c));
  }

  void apply_max_wait(CallRt& c) {
    if (c.max_wait_done || c.callback) return;
    c.max_wait_done = true;
    QueueRt& q = *c.queue;
    switch (q.cfg.max_wait_action) {
      case MaxWaitAction::kNone: return;
      case MaxWaitAction::kOverflow: {
        QueueRt* target = q.cfg.overflow_queue ? find_queue(q.cfg.org, *q.cfg.overflow_queue) : nullptr;
        if (target && target != &q) move_call(c, *target, "max_wait");
        return;
      }
      case MaxWaitAction::kCallback: make_callback(c); return;
      case MaxWaitAction::kVoicemail:
        leave_queue(c);
        q.stats.voicemails++;
        counters_.voicemails++;
        emit(call_event(RoutingEventType::kVoicemail, c));
        finish_call(c);
        return;
      case MaxWaitAction::kExit: {
        leave_queue(c);
        q.stats.exited++;
        counters_.exited++;
        RoutingEvent e = call_event(RoutingEventType::kExited, c);
        e.reason = "max_wait";
        emit(std::move(e));
        finish_call(c);
        return;
      }
    }
  }

  void escalate(CallRt& c) {
    if (!c.steps) return;
    std::optional<QueueId> move_to;
    std::vector<std::string> applied;
    const auto& steps = *c.steps;
    modify_call(c, [&] {
      for (size_t i = 0; i < steps.size(); ++i) {
        if (c.step_due[i] > now_) continue;
        const EscalationStep& s = steps[i];
        c.step_due[i] = s.repeat_every.count() > 0 ? c.step_due[i] + s.repeat_every : TimePoint::max();
        if (s.priority_boost != 0) {
          c.priority = std::clamp(c.priority + s.priority_boost, options_.min_priority, options_.max_priority);
          applied.push_back(fmt::format("priority {:+}", s.priority_boost));
        }
        if (s.lower_proficiency_by > 0) {
          c.lower_by += s.lower_proficiency_by;
          applied.push_back(fmt::format("proficiency -{}", s.lower_proficiency_by));
        }
        for (const auto& skill : s.drop_skills) {
          c.dropped.push_back(intern(skill));
          applied.push_back("drop " + skill);
        }
        if (s.drop_all_skills) {
          c.drop_all = true;
          applied.push_back("drop all skills");
        }
        if (s.max_penalty && *s.max_penalty > c.max_penalty) {
          c.max_penalty = *s.max_penalty;
          applied.push_back(fmt::format("max penalty {}", *s.max_penalty));
        }
        if (s.move_to_queue) move_to = s.move_to_queue;
      }
    });
    if (!applied.empty()) {
      RoutingEvent e = call_event(RoutingEventType::kEscalated, c);
      for (const auto& a : applied) e.reason += (e.reason.empty() ? "" : ", ") + a;
      emit(std::move(e));
    }
    QueueRt* target = move_to ? find_queue(c.request.org, *move_to) : nullptr;
    if (target && target != c.queue) {
      move_call(c, *target, "escalation");
      return;
    }
    schedule_escalation(c);
    if (c.state == CallState::kWaiting) push_call(c, "escalation");
  }

  void evacuate(QueueRt& q) {
    if (q.staffed() > 0) return;
    std::vector<CallRt*> leaving;
    for (const auto& k : q.waiting) {
      if (!k.call->callback) leaving.push_back(k.call);
    }
    for (CallRt* c : leaving) {
      remove_waiting(*c);
      q.stats.exited++;
      counters_.exited++;
      RoutingEvent e = call_event(RoutingEventType::kExited, *c);
      e.reason = "queue_empty";
      emit(std::move(e));
      finish_call(*c);
    }
  }

  void push_call(const CallRt& c, const char* trigger) {
    call_work_.emplace(std::make_tuple(-c.priority, to_ns(c.arrived_at), c.seq), trigger);
  }

  void dispatch() {
    for (;;) {
      if (!queue_work_.empty()) {
        QueueRt* q = queue_work_.front();
        queue_work_.pop_front();
        evacuate(*q);
      } else if (!agent_work_.empty()) {
        const auto [index, trigger] = agent_work_.front();
        agent_work_.pop_front();
        if (index < agents_.size() && agents_[index] && is_ready(*agents_[index]))
          assign_agent(*agents_[index], trigger);
      } else if (!call_work_.empty()) {
        const auto [key, trigger] = *call_work_.begin();
        call_work_.erase(call_work_.begin());
        auto it = calls_by_seq_.find(std::get<2>(key));
        if (it != calls_by_seq_.end() && it->second->state == CallState::kWaiting) route_call(*it->second, trigger);
      } else {
        return;
      }
    }
  }

  void fire(const Timer& t) {
    switch (t.kind) {
      case TimerKind::kReservation: {
        auto it = reservations_.find(t.target);
        if (it != reservations_.end()) offer_failed(t.target, true, "no_answer");
        break;
      }
      case TimerKind::kWrapUp: {
        if (t.target >= agents_.size() || !agents_[t.target]) break;
        AgentRt& a = *agents_[t.target];
        if (a.wrap && a.wrap_gen == t.gen) end_wrap(a);
        break;
      }
      case TimerKind::kEscalation: {
        auto it = calls_by_seq_.find(t.target);
        if (it == calls_by_seq_.end()) break;
        CallRt& c = *it->second;
        if (c.escalation_gen == t.gen && c.state != CallState::kConnected) escalate(c);
        break;
      }
      case TimerKind::kMaxWait: {
        auto it = calls_by_seq_.find(t.target);
        if (it == calls_by_seq_.end()) break;
        CallRt& c = *it->second;
        if (c.queue_gen != t.gen || c.state == CallState::kConnected) break;
        if (c.state == CallState::kOffering) {
          c.max_wait_pending = true;
        } else {
          apply_max_wait(c);
        }
        break;
      }
      case TimerKind::kExclusion: {
        // Only this agent's eligibility changed, so the agent picks: it may owe an older call
        // whose exclusion ends at the same instant (FIFO), not necessarily this one.
        if (t.gen < agents_.size() && agents_[t.gen] && is_ready(*agents_[t.gen])) {
          agent_work_.emplace_back(static_cast<uint32_t>(t.gen), "reoffer_delay_over");
        }
        break;
      }
    }
  }

  void end_wrap(AgentRt& a) {
    a.wrap = false;
    if (a.active_calls == 0) a.idle_since = now_;
    refresh_agent(a, "wrap_up_done");
  }

  // Each timer runs at its own due time, not at the (later) time of the command that found it
  // due: otherwise an exclusion that ended in between would already look expired to the timers
  // before it, and their decisions would differ from a tick() at every instant.
  void run_due() {
    const TimePoint target = clock_.now();
    while (!timers_.empty() && timers_.top().at <= target) {
      // Everything due at one instant happens together, then matching sees the result.
      const TimePoint at = timers_.top().at;
      now_ = std::max(now_, at);
      while (!timers_.empty() && timers_.top().at == at) {
        const Timer t = timers_.top();
        timers_.pop();
        fire(t);
      }
      dispatch();
    }
    now_ = target;
    dispatch();
  }

  static inline const std::string empty_;

  // ----- views -----

  CallView view_of(const CallRt& c) const {
    CallView v;
    v.id = c.request.id;
    v.org = c.request.org;
    v.queue = c.queue->cfg.id;
    v.state = c.state;
    v.priority = c.priority;
    v.callback = c.callback;
    v.arrived_at = c.arrived_at;
    v.queue_entered_at = c.queue_entered_at;
    v.sequence = c.seq;
    v.required_skills = describe(c.reqs);
    v.max_penalty = c.max_penalty;
    for (uint64_t id : c.reservations) v.offered_to.push_back(reservations_.at(id).agent->cfg.id);
    if (c.agent) v.agent = c.agent->cfg.id;
    for (const auto& e : c.excluded) {
      if (e.until > now_ && agents_[e.agent]) v.excluded.push_back(agents_[e.agent]->cfg.id);
    }
    return v;
  }

  AgentView view_of(const AgentRt& a) const {
    AgentView v;
    v.id = a.cfg.id;
    v.org = a.cfg.org;
    v.name = a.cfg.name;
    v.team = a.cfg.team;
    v.state = a.reported;
    v.presence = a.presence;
    v.break_reason = a.presence == Presence::kBreak ? a.break_reason : std::string();
    v.state_since = a.state_since;
    v.skills = a.cfg.skills;
    for (const auto& m : a.memberships) v.queues.push_back({m.queue->cfg.id, m.penalty});
    v.capacity = a.cfg.capacity;
    v.active_calls = a.active_calls;
    for (uint64_t id : a.reservations) v.offered_calls.push_back(reservations_.at(id).call->request.id);
    v.ready = is_ready(a);
    v.calls_today = calls_today(a);
    v.consecutive_misses = a.misses;
    v.idle_since = a.idle_since;
    return v;
  }
};

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

Engine::Engine(const Clock& clock, RoutingEventSink& sink, const EngineOptions& options)
    : impl_(std::make_unique<Impl>(clock, sink, options)) {
  impl_->now_ = clock.now();
}

Engine::~Engine() = default;

namespace {
Status validate_requirements(const std::vector<SkillRequirement>& reqs) {
  for (const auto& r : reqs) {
    if (r.skill.empty()) return invalid_argument("skill name is empty", "invalid_skill");
    if (r.min_proficiency < 1 || r.min_proficiency > 10) {
      return invalid_argument(fmt::format("proficiency for {} must be 1..10", r.skill), "invalid_proficiency");
    }
  }
  return Status::ok();
}
}  // namespace

Status Engine::upsert_queue(const QueueConfig& config) {
  Impl& s = *impl_;
  s.run_due();
  if (config.id.empty() || config.org.empty())
    return invalid_argument("queue id and org are required", "invalid_queue");
  if (config.offer_timeout.count() <= 0) return invalid_argument("offer_timeout must be positive", "invalid_queue");
  if (config.service_level_threshold.count() < 0 || config.max_wait.count() < 0 || config.wrap_up.count() < 0 ||
      config.reoffer_delay.count() < 0) {
    return invalid_argument("durations must not be negative", "invalid_queue");
  }
  if (config.service_level_target < 0 || config.service_level_target > 1) {
    return invalid_argument("service_level_target must be within 0..1", "invalid_queue");
  }
  if (config.max_missed_offers < 0) return invalid_argument("max_missed_offers must be >= 0", "invalid_queue");
  VONTRES_RETURN_IF_ERROR(validate_requirements(config.required_skills));
  auto check_target = [&](const QueueId& target) -> Status {
    if (target == config.id) return invalid_argument("a queue cannot overflow into itself", "invalid_queue");
    QueueRt* t = s.find_queue(config.org, target);
    if (!t) return not_found("overflow queue " + target.str() + " not found", "queue_not_found");
    return Status::ok();
  };
  if (config.max_wait_action == MaxWaitAction::kOverflow) {
    if (!config.overflow_queue)
      return invalid_argument("max_wait_action overflow needs overflow_queue", "invalid_queue");
    VONTRES_RETURN_IF_ERROR(check_target(*config.overflow_queue));
  }
  for (const auto& step : config.escalation) {
    if (step.after.count() < 0 || step.repeat_every.count() < 0 || step.lower_proficiency_by < 0) {
      return invalid_argument("escalation step values must not be negative", "invalid_queue");
    }
    if (step.move_to_queue) VONTRES_RETURN_IF_ERROR(check_target(*step.move_to_queue));
  }

  QueueRt* q = s.find_queue(config.org, config.id);
  if (!q) {
    auto owned = std::make_unique<QueueRt>();
    q = owned.get();
    s.queues_.emplace(Impl::scoped_key(config.org, config.id.str()), std::move(owned));
  }
  const bool strategy_changed = q->cfg.strategy != config.strategy;
  q->cfg = config;
  q->base_reqs = s.to_reqs(config.required_skills);
  q->steps = std::make_shared<const std::vector<EscalationStep>>(config.escalation);
  if (strategy_changed) {
    for (auto& [index, member] : q->members) {
      AgentRt& a = *s.agents_[index];
      Membership* m = Impl::membership_in(a, q);
      if (m && m->in_ready) {
        q->ready.erase(m->key);
        m->key = s.ready_key(a, *m);
        q->ready.insert(m->key);
      }
    }
  }
  std::vector<CallRt*> waiting;
  for (const auto& k : q->waiting) waiting.push_back(k.call);
  for (CallRt* c : waiting) {
    s.modify_call(*c, [] {});
    s.push_call(*c, "queue_updated");
  }
  if (config.leave_when_empty) s.queue_work_.push_back(q);
  s.dispatch();
  return Status::ok();
}

Status Engine::remove_queue(const OrgId& org, const QueueId& id) {
  Impl& s = *impl_;
  s.run_due();
  QueueRt* q = s.find_queue(org, id);
  if (!q) return not_found("queue " + id.str() + " not found", "queue_not_found");
  if (!q->members.empty() || !q->waiting.empty() || q->offering > 0 || q->connected > 0) {
    return failed_precondition("queue still has members or calls", "queue_in_use");
  }
  s.queues_.erase(Impl::scoped_key(org, id.str()));
  return Status::ok();
}

Status Engine::upsert_agent(const AgentConfig& config) {
  Impl& s = *impl_;
  s.run_due();
  if (config.id.empty() || config.org.empty())
    return invalid_argument("agent id and org are required", "invalid_agent");
  if (config.capacity < 1) return invalid_argument("capacity must be at least 1", "invalid_agent");
  for (const auto& [skill, level] : config.skills) {
    if (skill.empty()) return invalid_argument("skill name is empty", "invalid_skill");
    if (level < 1 || level > 10) {
      return invalid_argument(fmt::format("proficiency for {} must be 1..10", skill), "invalid_proficiency");
    }
  }
  for (const auto& m : config.queues) {
    QueueRt* q = s.find_queue(config.org, m.queue);
    if (!q) return not_found("queue " + m.queue.str() + " not found", "queue_not_found");
    if (m.penalty < 0) return invalid_argument("penalty must be >= 0", "invalid_agent");
  }
  AgentRt* a = s.find_agent(config.org, config.id);
  std::map<const QueueRt*, int64_t> old_positions;
  if (!a) {
    auto owned = std::make_unique<AgentRt>();
    a = owned.get();
    a->index = static_cast<uint32_t>(s.agents_.size());
    a->idle_since = s.now_;
    a->state_since = s.now_;
    s.agents_.push_back(std::move(owned));
    s.agent_index_.emplace(Impl::scoped_key(config.org, config.id.str()), a->index);
  } else {
    for (const auto& m : a->memberships) old_positions[m.queue] = m.position;
    s.drop_memberships(*a);
  }
  a->cfg = config;
  a->skills.clear();
  for (const auto& [skill, level] : config.skills) a->skills.emplace_back(s.intern(skill), level);
  std::sort(a->skills.begin(), a->skills.end());
  std::map<QueueRt*, int> wanted;  // a repeated queue: the last penalty wins
  for (const auto& m : config.queues) wanted[s.find_queue(config.org, m.queue)] = m.penalty;
  for (const auto& [q, penalty] : wanted) {
    auto old = old_positions.find(q);
    s.add_membership(*a, *q, penalty, old == old_positions.end() ? std::nullopt : std::optional<int64_t>(old->second));
  }
  s.refresh_agent(*a);
  if (s.is_ready(*a)) s.agent_work_.emplace_back(a->index, "agent_updated");
  s.dispatch();
  return Status::ok();
}

Status Engine::remove_agent(const OrgId& org, const AgentId& id) {
  Impl& s = *impl_;
  s.run_due();
  AgentRt* a = s.find_agent(org, id);
  if (!a) return not_found("agent " + id.str() + " not found", "agent_not_found");
  if (a->active_calls > 0 || !a->reservations.empty())
    return failed_precondition("agent has calls or offers", "agent_busy");
  a->presence = Presence::kOffline;
  a->wrap = false;
  s.refresh_agent(*a);
  s.drop_memberships(*a);
  const uint32_t index = a->index;
  s.agent_index_.erase(Impl::scoped_key(org, id.str()));
  s.agents_[index].reset();
  s.dispatch();
  return Status::ok();
}

void Engine::set_rules(const OrgId& org, RoutingRules rules) {
  impl_->run_due();
  impl_->rules_[org] = std::move(rules);
}

void Engine::clear_rules(const OrgId& org) {
  impl_->run_due();
  impl_->rules_.erase(org);
}

const RoutingRules& Engine::rules(const OrgId& org) const {
  auto it = impl_->rules_.find(org);
  return it == impl_->rules_.end() ? impl_->options_.default_rules : it->second;
}

bool Engine::has_own_rules(const OrgId& org) const { return impl_->rules_.contains(org); }

Status Engine::set_presence(const OrgId& org, const AgentId& id, Presence presence, std::string reason) {
  Impl& s = *impl_;
  s.run_due();
  AgentRt* a = s.find_agent(org, id);
  if (!a) return not_found("agent " + id.str() + " not found", "agent_not_found");
  if (presence != Presence::kAvailable) {
    for (uint64_t rid : std::vector<uint64_t>(a->reservations)) {
      Reservation r = s.take_reservation(rid);
      RoutingEvent e = s.call_event(RoutingEventType::kRescinded, *r.call);
      e.agent = a->cfg.id;
      e.reason = "agent_unavailable";
      s.emit(std::move(e));
      if (r.call->reservations.empty()) s.back_to_waiting(*r.call, "offer_rescinded");
    }
  }
  const bool logging_in = presence == Presence::kAvailable && a->presence != Presence::kAvailable;
  a->presence = presence;
  a->break_reason =
      presence == Presence::kBreak ? (reason.empty() ? std::string("break") : std::move(reason)) : std::string();
  if (presence == Presence::kAvailable) a->misses = 0;
  if (logging_in && a->active_calls == 0 && !a->wrap) a->idle_since = s.now_;
  s.refresh_agent(*a, "agent_available");
  s.dispatch();
  return Status::ok();
}

Status Engine::accept_offer(const CallId& call_id, const AgentId& agent_id) {
  Impl& s = *impl_;
  s.run_due();
  CallRt* c = s.find_call(call_id);
  if (!c) return not_found("call " + call_id.str() + " not found", "call_not_found");
  AgentRt* a = s.find_agent(c->request.org, agent_id);
  if (!a) return not_found("agent " + agent_id.str() + " not found", "agent_not_found");
  uint64_t found = 0;
  for (uint64_t id : c->reservations) {
    if (s.reservations_.at(id).agent == a) found = id;
  }
  if (found == 0) return failed_precondition("no pending offer of this call to this agent", "offer_not_found");
  s.take_reservation(found);
  for (uint64_t other : std::vector<uint64_t>(c->reservations)) {
    Reservation r = s.take_reservation(other);
    RoutingEvent e = s.call_event(RoutingEventType::kRescinded, *c);
    e.agent = r.agent->cfg.id;
    e.reason = "answered_elsewhere";
    s.emit(std::move(e));
    s.refresh_agent(*r.agent);
  }
  QueueRt& q = *c->queue;
  c->state = CallState::kConnected;
  c->agent = a;
  c->accepted_at = s.now_;
  q.offering--;
  q.connected++;
  s.counters_.offering--;
  s.counters_.connected++;
  s.counters_.answered++;
  a->active_calls++;
  a->misses = 0;
  const int64_t today = s.day_of(s.now_);
  if (a->calls_day != today) {
    a->calls_day = today;
    a->calls_today = 0;
  }
  a->calls_today++;
  const Duration waited = s.now_ - c->arrived_at;
  q.stats.answered++;
  q.stats.total_answer_wait += to_ms(waited);
  if (waited <= q.cfg.service_level_threshold) q.stats.answered_within_threshold++;
  RoutingEvent e = s.call_event(RoutingEventType::kAccepted, *c);
  e.agent = a->cfg.id;
  s.emit(std::move(e));
  s.refresh_agent(*a);
  s.dispatch();
  return Status::ok();
}

Status Engine::decline_offer(const CallId& call_id, const AgentId& agent_id, const std::string& reason) {
  Impl& s = *impl_;
  s.run_due();
  CallRt* c = s.find_call(call_id);
  if (!c) return not_found("call " + call_id.str() + " not found", "call_not_found");
  AgentRt* a = s.find_agent(c->request.org, agent_id);
  if (!a) return not_found("agent " + agent_id.str() + " not found", "agent_not_found");
  for (uint64_t id : c->reservations) {
    if (s.reservations_.at(id).agent == a) {
      s.offer_failed(id, false, reason.empty() ? "declined" : reason);
      s.dispatch();
      return Status::ok();
    }
  }
  return failed_precondition("no pending offer of this call to this agent", "offer_not_found");
}

Status Engine::wrap_up_done(const OrgId& org, const AgentId& agent_id) {
  Impl& s = *impl_;
  s.run_due();
  AgentRt* a = s.find_agent(org, agent_id);
  if (!a) return not_found("agent " + agent_id.str() + " not found", "agent_not_found");
  if (!a->wrap) return failed_precondition("agent is not in wrap-up", "not_in_wrap_up");
  s.end_wrap(*a);
  s.dispatch();
  return Status::ok();
}

Result<CallPlacement> Engine::enqueue_call(const CallRequest& request) {
  Impl& s = *impl_;
  s.run_due();
  if (request.id.empty() || request.org.empty())
    return invalid_argument("call id and org are required", "invalid_call");
  if (s.calls_.count(request.id))
    return already_exists("call " + request.id.str() + " is already routed", "call_exists");
  VONTRES_RETURN_IF_ERROR(validate_requirements(request.required_skills));
  const RoutingRules& rules = this->rules(request.org);

  const IntentRule* intent = nullptr;
  if (!request.intent.empty()) {
    for (const auto& rule : rules.intents) {
      if (rule.intent == request.intent) {
        intent = &rule;
        break;
      }
    }
  }
  std::optional<QueueId> queue_id = request.queue;
  std::string queue_reason;
  if (intent && intent->queue) {
    queue_id = intent->queue;
    queue_reason = fmt::format("queue {} chosen by intent rule '{}'", intent->queue->str(), intent->intent);
  } else if (!queue_id && rules.default_queue) {
    queue_id = rules.default_queue;
    queue_reason = "queue " + rules.default_queue->str() + " is the organisation's default";
  }
  if (!queue_id) return invalid_argument("no queue given and no rule chose one", "no_queue_for_call");
  QueueRt* q = s.find_queue(request.org, *queue_id);
  if (!q) return not_found("queue " + queue_id->str() + " not found", "queue_not_found");

  auto reject = [&](Status status) -> Result<CallPlacement> {
    q->stats.rejected++;
    s.counters_.rejected++;
    RoutingEvent e;
    e.type = RoutingEventType::kCallRejected;
    e.org = request.org;
    e.call = request.id;
    e.queue = q->cfg.id;
    e.reason = std::string(status.code());
    s.emit(std::move(e));
    return status;
  };
  if (q->cfg.max_length > 0 && q->waiting.size() >= q->cfg.max_length) {
    return reject(resource_exhausted("queue is full", "queue_full"));
  }
  if (!q->cfg.join_empty && q->staffed() == 0) return reject(unavailable("no agent is staffed", "queue_empty"));

  int priority = request.priority;
  if (auto tier = rules.tier_boost.find(request.customer_tier); tier != rules.tier_boost.end())
    priority += tier->second;
  if (request.sentiment <= rules.negative_sentiment_threshold) priority += rules.negative_sentiment_boost;
  if (intent) priority += intent->priority_boost;
  priority = std::clamp(priority, s.options_.min_priority, s.options_.max_priority);

  auto owned = std::make_unique<CallRt>();
  CallRt& c = *owned;
  c.request = request;
  c.seq = ++s.next_call_seq_;
  c.priority = priority;
  c.arrived_at = s.now_;
  c.queue_reason = std::move(queue_reason);
  std::vector<SkillRequirement> own = request.required_skills;
  if (intent) own.insert(own.end(), intent->skills.begin(), intent->skills.end());
  if (!request.language.empty() && !rules.language_skill_prefix.empty()) {
    own.push_back({rules.language_skill_prefix + request.language, 1});
  }
  c.own_reqs = s.to_reqs(own);
  s.calls_by_seq_[c.seq] = &c;
  s.calls_.emplace(request.id, std::move(owned));
  s.counters_.arrived++;
  s.enter_queue(c, *q);
  s.insert_waiting(c);
  s.emit(s.call_event(RoutingEventType::kCallQueued, c));
  s.push_call(c, "call_queued");
  s.dispatch();

  CallPlacement placement;
  placement.queue = c.queue->cfg.id;
  placement.priority = c.priority;
  placement.position = s.position_of(c);
  if (c.state == CallState::kWaiting) {
    placement.estimated_wait = s.estimated_wait(*c.queue, placement.position);
  } else {
    placement.estimated_wait = Millis{0};
  }
  return placement;
}

Status Engine::call_ended(const CallId& call_id) {
  Impl& s = *impl_;
  s.run_due();
  CallRt* c = s.find_call(call_id);
  if (!c) return not_found("call " + call_id.str() + " not found", "call_not_found");
  QueueRt& q = *c->queue;
  if (c->state != CallState::kConnected) {
    // A scheduled callback no longer needs the caller on the line; it keeps its place.
    if (c->callback) return Status::ok();
    s.leave_queue(*c);
    q.stats.abandoned++;
    s.counters_.abandoned++;
    s.emit(s.call_event(RoutingEventType::kAbandoned, *c));
    s.finish_call(*c);
    s.dispatch();
    return Status::ok();
  }
  AgentRt& a = *c->agent;
  a.active_calls--;
  q.connected--;
  s.counters_.connected--;
  s.counters_.completed++;
  const int64_t handle_ms = to_ms(s.now_ - c->accepted_at).count() + q.cfg.wrap_up.count();
  q.handle_ms.push_back(handle_ms);
  q.handle_sum_ms += handle_ms;
  if (q.handle_ms.size() > s.options_.handle_time_window) {
    q.handle_sum_ms -= q.handle_ms.front();
    q.handle_ms.pop_front();
  }
  RoutingEvent e = s.call_event(RoutingEventType::kCompleted, *c);
  e.agent = a.cfg.id;
  s.emit(std::move(e));
  if (q.cfg.wrap_up.count() > 0) {
    a.wrap = true;
    a.wrap_gen++;
    s.schedule(s.now_ + q.cfg.wrap_up, TimerKind::kWrapUp, a.index, a.wrap_gen);
  } else if (a.active_calls == 0 && !a.wrap) {
    a.idle_since = s.now_;
  }
  s.finish_call(*c);
  s.refresh_agent(a, "call_completed");
  s.dispatch();
  return Status::ok();
}

Status Engine::cancel_call(const CallId& call_id, std::string reason) {
  Impl& s = *impl_;
  s.run_due();
  CallRt* c = s.find_call(call_id);
  if (!c) return not_found("call " + call_id.str() + " not found", "call_not_found");
  if (c->state == CallState::kConnected) return failed_precondition("call is already connected", "invalid_state");
  s.leave_queue(*c);
  c->queue->stats.exited++;
  s.counters_.exited++;
  RoutingEvent e = s.call_event(RoutingEventType::kExited, *c);
  e.reason = reason.empty() ? "canceled" : std::move(reason);
  s.emit(std::move(e));
  s.finish_call(*c);
  s.dispatch();
  return Status::ok();
}

Status Engine::request_callback(const CallId& call_id) {
  Impl& s = *impl_;
  s.run_due();
  CallRt* c = s.find_call(call_id);
  if (!c) return not_found("call " + call_id.str() + " not found", "call_not_found");
  if (c->state == CallState::kConnected) return failed_precondition("call is already connected", "invalid_state");
  s.make_callback(*c);
  s.dispatch();
  return Status::ok();
}

void Engine::tick() { impl_->run_due(); }

std::optional<TimePoint> Engine::next_deadline() const {
  if (impl_->timers_.empty()) return std::nullopt;
  return impl_->timers_.top().at;
}

Result<CallView> Engine::call(const CallId& call_id) const {
  const Impl& s = *impl_;
  const CallRt* c = s.find_call(call_id);
  if (!c) return not_found("call " + call_id.str() + " not found", "call_not_found");
  CallView v = s.view_of(*c);
  v.position = s.position_of(*c);
  if (c->state == CallState::kWaiting) v.estimated_wait = s.estimated_wait(*c->queue, v.position);
  return v;
}

Result<AgentView> Engine::agent(const OrgId& org, const AgentId& agent_id) const {
  const AgentRt* a = impl_->find_agent(org, agent_id);
  if (!a) return not_found("agent " + agent_id.str() + " not found", "agent_not_found");
  return impl_->view_of(*a);
}

Result<QueueView> Engine::queue_view(const OrgId& org, const QueueId& queue_id, size_t limit) const {
  const Impl& s = *impl_;
  const QueueRt* q = s.find_queue(org, queue_id);
  if (!q) return not_found("queue " + queue_id.str() + " not found", "queue_not_found");
  QueueView v;
  v.config = q->cfg;
  v.waiting = q->waiting.size();
  v.callbacks_waiting = q->callbacks_waiting;
  v.offering = q->offering;
  for (size_t i = 0; i < kAgentStateCount; ++i)
    v.agents_by_state[std::string(kAgentStateNames[i])] = q->state_counts[i];
  v.staffed = q->staffed();
  v.ready = static_cast<int>(q->ready.size());
  v.stats = q->stats;
  v.average_handle_time = s.average_handle_time(*q);
  v.estimated_wait_new_call = s.estimated_wait(*q, q->waiting.size() + 1);
  size_t position = 0;
  for (const auto& k : q->waiting) {
    ++position;
    v.longest_wait = std::max(v.longest_wait, to_ms(s.now_ - k.call->arrived_at));
    if (v.calls.size() < limit) {
      CallView cv = s.view_of(*k.call);
      cv.position = position;
      cv.estimated_wait = s.estimated_wait(*q, position);
      v.calls.push_back(std::move(cv));
    }
  }
  if (v.calls.size() < limit) {
    for (const auto& [id, c] : s.calls_) {
      if (c->queue == q && c->state == CallState::kOffering && v.calls.size() < limit) v.calls.push_back(s.view_of(*c));
    }
  }
  return v;
}

std::vector<QueueConfig> Engine::queues(const OrgId& org) const {
  std::vector<QueueConfig> out;
  for (const auto& [id, q] : impl_->queues_) {
    if (q->cfg.org == org) out.push_back(q->cfg);
  }
  std::sort(out.begin(), out.end(), [](const QueueConfig& a, const QueueConfig& b) { return a.id < b.id; });
  return out;
}

std::vector<AgentView> Engine::agents(const OrgId& org) const {
  std::vector<AgentView> out;
  for (const auto& a : impl_->agents_) {
    if (a && a->cfg.org == org) out.push_back(impl_->view_of(*a));
  }
  return out;
}

Result<std::vector<RoutingDecision>> Engine::decisions(const CallId& call_id) const {
  const Impl& s = *impl_;
  if (const CallRt* c = s.find_call(call_id))
    return std::vector<RoutingDecision>(c->decisions.begin(), c->decisions.end());
  auto it = s.finished_.find(call_id);
  if (it == s.finished_.end()) return not_found("call " + call_id.str() + " not found", "call_not_found");
  return std::vector<RoutingDecision>(it->second.begin(), it->second.end());
}

Result<RoutingDecision> Engine::explain_now(const CallId& call_id) const {
  const Impl& s = *impl_;
  const CallRt* c = s.find_call(call_id);
  if (!c) return not_found("call " + call_id.str() + " not found", "call_not_found");
  const QueueRt& q = *c->queue;
  RoutingDecision d = s.decision_header(*c, "live");
  std::vector<std::pair<int, CandidateExplanation>> rows;  // (sort rank, row)
  for (const auto& [index, member] : q.members) {
    const AgentRt& a = *s.agents_[index];
    std::string verdict;
    int rank = 2;
    if (!s.is_ready(a)) {
      verdict = a.cfg.capacity > 1 && a.active_calls >= a.cfg.capacity && a.presence == Presence::kAvailable &&
                        !a.wrap && a.reservations.empty()
                    ? "at_capacity"
                    : "not_ready:" + std::string(agent_state_name(a.reported));
    } else {
      uint32_t skill = 0;
      const Verdict v = s.verdict(a, member.penalty, *c, skill);
      if (v == Verdict::kEligible) {
        verdict = "eligible";
        rank = 0;
        d.eligible++;
      } else {
        verdict = s.verdict_text(v, skill);
        rank = 1;
      }
    }
    rows.emplace_back(rank, s.explain_agent(q, a, *c, member.penalty, member.position, std::move(verdict)));
  }
  std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first < y.first : x.second.agent < y.second.agent;
  });
  for (auto& r : rows) d.candidates.push_back(std::move(r.second));
  if (c->state == CallState::kConnected) {
    d.summary = "the call is connected to " + c->agent->cfg.id.str();
  } else if (c->state == CallState::kOffering) {
    d.summary = fmt::format("the call is being offered to {} agent(s)", c->reservations.size());
  } else if (d.eligible == 0) {
    d.summary = fmt::format("no member is both ready and eligible ({})", s.state_breakdown(q));
  } else {
    d.summary =
        fmt::format("{} ready agent(s) are eligible; the call will be offered on the next decision", d.eligible);
  }
  return d;
}

EngineCounters Engine::counters() const { return impl_->counters_; }

std::vector<CallView> Engine::all_calls() const {
  std::vector<CallView> out;
  out.reserve(impl_->calls_.size());
  for (const auto& [id, c] : impl_->calls_) out.push_back(impl_->view_of(*c));
  std::sort(out.begin(), out.end(), [](const CallView& a, const CallView& b) { return a.sequence < b.sequence; });
  return out;
}

std::vector<AgentView> Engine::all_agents() const {
  std::vector<AgentView> out;
  for (const auto& a : impl_->agents_) {
    if (a) out.push_back(impl_->view_of(*a));
  }
  return out;
}

}  // namespace vontres::routing
