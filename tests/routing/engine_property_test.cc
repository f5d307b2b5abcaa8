// Property tests: randomised sequences of arrivals, answers, declines, hang-ups, presence changes,
// profile edits and clock advances (fixed seeds, bounded sizes) checked after every step against
// the engine's invariants, recomputed independently from its public views and event stream:
//   1. a call is never offered to two agents at once, except in ring-all queues;
//   2. no ready agent stays idle while a waiting call it is eligible for exists;
//   3. FIFO within equal priority: an agent offered a call was not eligible for a better-placed
//      waiting call of the same queue;
//   4. counts are conserved (calls by outcome, agents by state per queue, offers on both sides).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "routing/engine.h"
#include "routing/routing_test_support.h"

namespace vontres::routing {
namespace {

using namespace std::chrono_literals;

struct Model {
  std::map<std::string, QueueConfig> queues;
};

class PropertyRun {
 public:
  explicit PropertyRun(uint64_t seed) : rng_(seed) {
    EngineOptions options;
    options.seed = seed;
    options.decisions_per_call = 4;
    options.finished_calls_retained = 64;
    engine_ = std::make_unique<Engine>(clock_, sink_, options);
  }

  void setup() {
    const std::vector<Strategy> strategies = {Strategy::kLongestIdle,    Strategy::kRoundRobin, Strategy::kFewestCalls,
                                              Strategy::kSkillsWeighted, Strategy::kRingAll,    Strategy::kRandom};
    for (int i = 0; i < 3; ++i) {
      QueueConfig q;
      q.id = QueueId("q" + std::to_string(i));
      q.org = org_;
      q.name = q.id.str();
      q.priority = uniform(0, 2);
      q.strategy = strategies[static_cast<size_t>(uniform(0, 5))];
      q.offer_timeout = Millis(uniform(5, 20) * 1000);
      q.reoffer_delay = Millis(uniform(0, 10) * 1000);
      q.max_missed_offers = uniform(0, 3);
      q.wrap_up = Millis(uniform(0, 2) * 10'000);
      if (coin(0.5)) q.required_skills = {{random_skill(), uniform(1, 6)}};
      if (coin(0.3)) q.initial_max_penalty = 0;
      if (coin(0.3)) q.leave_when_empty = true;
      EscalationStep step;
      step.after = Millis(uniform(10, 60) * 1000);
      step.repeat_every = coin(0.5) ? Millis(30'000) : Millis(0);
      step.priority_boost = uniform(0, 2);
      step.lower_proficiency_by = uniform(0, 3);
      if (coin(0.3)) step.drop_all_skills = true;
      if (coin(0.5)) step.max_penalty = 2;
      q.escalation = {step};
      if (i > 0 && coin(0.5)) {
        q.max_wait = Millis(uniform(60, 180) * 1000);
        const int action = uniform(0, 3);
        q.max_wait_action = action == 0   ? MaxWaitAction::kOverflow
                            : action == 1 ? MaxWaitAction::kCallback
                            : action == 2 ? MaxWaitAction::kVoicemail
                                          : MaxWaitAction::kExit;
        q.overflow_queue = QueueId("q0");
      }
      ASSERT_TRUE(engine_->upsert_queue(q).is_ok());
      model_.queues[q.id.str()] = q;
    }
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(engine_->upsert_agent(random_agent("a" + std::to_string(i))).is_ok());
  }

  void step() {
    const size_t before = sink_.events.size();
    const int action = uniform(0, 99);
    if (action < 22) {
      arrive();
    } else if (action < 40) {
      with_offer([this](const CallId& c, const AgentId& a) { EXPECT_TRUE(engine_->accept_offer(c, a).is_ok()); });
    } else if (action < 46) {
      with_offer([this](const CallId& c, const AgentId& a) { EXPECT_TRUE(engine_->decline_offer(c, a).is_ok()); });
    } else if (action < 60) {
      auto calls = engine_->all_calls();
      std::vector<CallId> connected;
      for (const auto& c : calls) {
        if (c.state == CallState::kConnected) connected.push_back(c.id);
      }
      if (!connected.empty()) {
        EXPECT_TRUE(engine_->call_ended(pick(connected)).is_ok());
      }
    } else if (action < 65) {
      auto calls = engine_->all_calls();
      if (!calls.empty()) {
        const CallView& c = pick(calls);
        if (c.state != CallState::kConnected) {
          if (coin(0.2)) {
            EXPECT_TRUE(engine_->request_callback(c.id).is_ok());
          } else if (c.callback) {
            EXPECT_TRUE(engine_->cancel_call(c.id).is_ok());
          } else {
            EXPECT_TRUE(engine_->call_ended(c.id).is_ok());
          }
        }
      }
    } else if (action < 75) {
      const AgentId agent("a" + std::to_string(uniform(0, 9)));
      const int p = uniform(0, 9);
      const Presence presence = p < 6 ? Presence::kAvailable : p < 8 ? Presence::kBreak : Presence::kOffline;
      EXPECT_TRUE(engine_->set_presence(org_, agent, presence, "lunch").is_ok());
    } else if (action < 78) {
      const AgentId agent("a" + std::to_string(uniform(0, 9)));
      auto s = engine_->wrap_up_done(org_, agent);
      EXPECT_TRUE(s.is_ok() || s.code() == "not_in_wrap_up");
    } else if (action < 80) {
      EXPECT_TRUE(engine_->upsert_agent(random_agent("a" + std::to_string(uniform(0, 9)))).is_ok());
    } else {
      clock_.advance(Millis(uniform(0, 20'000)));
      engine_->tick();
    }
    last_step_from_ = before;
    check_events(before);
    check_state();
  }

 private:
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool coin(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(uniform(0, static_cast<int>(v.size()) - 1))];
  }
  std::string random_skill() {
    static const std::vector<std::string> skills = {"billing", "tech", "sales", "lang:en", "lang:es"};
    return pick(skills);
  }

  AgentConfig random_agent(const std::string& id) {
    AgentConfig a;
    a.id = AgentId(id);
    a.org = org_;
    a.name = id;
    a.capacity = coin(0.2) ? 2 : 1;
    const int skills = uniform(0, 4);
    for (int i = 0; i < skills; ++i) a.skills[random_skill()] = uniform(1, 10);
    for (int i = 0; i < 3; ++i) {
      if (coin(0.6)) a.queues.push_back({QueueId("q" + std::to_string(i)), uniform(0, 2)});
    }
    return a;
  }

  void arrive() {
    CallRequest c;
    c.id = CallId("c" + std::to_string(++calls_made_));
    c.org = org_;
    c.queue = QueueId("q" + std::to_string(uniform(0, 2)));
    c.priority = uniform(0, 2);
    if (coin(0.3)) c.language = coin(0.5) ? "en" : "es";
    if (coin(0.3)) c.required_skills = {{random_skill(), uniform(1, 8)}};
    if (coin(0.1)) c.customer_tier = "vip";
    c.sentiment = coin(0.1) ? -0.9 : 0.2;
    auto placed = engine_->enqueue_call(c);
    EXPECT_TRUE(placed.is_ok() || placed.status().code() == "queue_empty" || placed.status().code() == "queue_full");
  }

  template <typename F>
  void with_offer(F&& f) {
    std::vector<std::pair<CallId, AgentId>> offers;
    for (const auto& c : engine_->all_calls()) {
      for (const auto& a : c.offered_to) offers.emplace_back(c.id, a);
    }
    if (!offers.empty()) {
      const auto& o = pick(offers);
      f(o.first, o.second);
    }
  }

  static bool eligible(const AgentView& a, const CallView& c, int penalty) {
    if (penalty > c.max_penalty) return false;
    for (const auto& r : c.required_skills) {
      auto it = a.skills.find(r.skill);
      if (it == a.skills.end() || it->second < r.min_proficiency) return false;
    }
    return std::find(c.excluded.begin(), c.excluded.end(), a.id) == c.excluded.end();
  }

  static std::optional<int> penalty_in(const AgentView& a, const QueueId& q) {
    for (const auto& m : a.queues) {
      if (m.queue == q) return m.penalty;
    }
    return std::nullopt;
  }

  // Invariants 1 and 3, from the events emitted during the step.
  void check_events(size_t from) {
    const auto& events = sink_.events;
    std::map<std::string, size_t> last_change;  // call -> index of its last event in this step
    for (size_t i = from; i < events.size(); ++i) {
      const RoutingEvent& e = events[i];
      if (!e.call.empty()) last_change[e.call.str()] = i;
      if (e.type == RoutingEventType::kCallQueued) {
        arrivals_[e.call.str()] = {e.at - e.waited, static_cast<uint64_t>(std::stoull(e.call.str().substr(1)))};
      }
      switch (e.type) {
        case RoutingEventType::kOffered: {
          auto& pending = pending_offers_[e.call.str()];
          if (model_.queues[e.queue.str()].strategy != Strategy::kRingAll) {
            EXPECT_TRUE(pending.empty()) << "call " << e.call.str() << " offered to " << e.agent.str()
                                         << " while ringing " << *pending.begin();
          }
          pending.insert(e.agent.str());
          break;
        }
        case RoutingEventType::kAccepted:
        case RoutingEventType::kDeclined:
        case RoutingEventType::kTimeout:
        case RoutingEventType::kRescinded: pending_offers_[e.call.str()].erase(e.agent.str()); break;
        default: break;
      }
      if (e.type == RoutingEventType::kDeclined || e.type == RoutingEventType::kTimeout) {
        exclusions_[e.call.str()][e.agent.str()] = e.at + model_.queues[e.queue.str()].reoffer_delay;
      }
      if (e.type == RoutingEventType::kOverflowed) exclusions_.erase(e.call.str());
    }

    // FIFO: for each offer of this step, no better-placed call of the same queue that the agent
    // was eligible for may still be waiting untouched since.
    const auto calls = engine_->all_calls();
    std::map<std::string, AgentView> agents;
    for (auto& a : engine_->all_agents()) agents[a.id.str()] = a;
    for (size_t i = from; i < events.size(); ++i) {
      const RoutingEvent& offer = events[i];
      if (offer.type != RoutingEventType::kOffered) continue;
      const auto agent_it = agents.find(offer.agent.str());
      if (agent_it == agents.end()) continue;
      const AgentView& agent = agent_it->second;
      const auto penalty = penalty_in(agent, offer.queue);
      if (!penalty) continue;
      // From the queued event: the offered call may already have left during this step.
      const auto& [offered_arrival, offered_seq] = arrivals_.at(offer.call.str());
      for (const CallView& d : calls) {
        if (d.state != CallState::kWaiting || d.queue != offer.queue || d.id == offer.call) continue;
        auto changed = last_change.find(d.id.str());
        if (changed != last_change.end() && changed->second > i) continue;
        const bool better = d.priority > offer.priority ||
                            (d.priority == offer.priority &&
                             std::make_pair(d.arrived_at, static_cast<uint64_t>(std::stoull(d.id.str().substr(1)))) <
                                 std::make_pair(offered_arrival, offered_seq));
        if (!better) continue;
        CallView at_offer = d;
        at_offer.excluded.clear();
        auto ex = exclusions_.find(d.id.str());
        if (ex != exclusions_.end()) {
          auto until = ex->second.find(agent.id.str());
          if (until != ex->second.end() && until->second > offer.at) at_offer.excluded.push_back(agent.id);
        }
        EXPECT_FALSE(eligible(agent, at_offer, *penalty))
            << "FIFO: " << offer.agent.str() << " was offered " << offer.call.str() << " (priority " << offer.priority
            << ") while better-placed " << d.id.str() << " (priority " << d.priority << ") waited in " << d.queue.str()
            << "\n"
            << describe_events(from) << describe_call(d.id) << "offered call:\n"
            << describe_call(offer.call);
      }
    }
  }

  // Invariants 1, 2 and 4, from the views.
  void check_state() {
    const auto calls = engine_->all_calls();
    const auto agents = engine_->all_agents();
    const EngineCounters n = engine_->counters();
    size_t waiting = 0, offering = 0, connected = 0;
    std::map<std::string, int> offers_by_agent, connected_by_agent;
    for (const auto& c : calls) {
      if (c.state == CallState::kWaiting) ++waiting;
      if (c.state == CallState::kOffering) ++offering;
      if (c.state == CallState::kConnected) ++connected;
      EXPECT_EQ(c.state == CallState::kOffering, !c.offered_to.empty()) << c.id.str();
      if (model_.queues[c.queue.str()].strategy != Strategy::kRingAll) {
        EXPECT_LE(c.offered_to.size(), 1u) << c.id.str();
      }
      for (const auto& a : c.offered_to) offers_by_agent[a.str()]++;
      if (c.state == CallState::kConnected) connected_by_agent[c.agent.str()]++;
    }
    EXPECT_EQ(n.waiting, waiting);
    EXPECT_EQ(n.offering, offering);
    EXPECT_EQ(n.connected, connected);
    EXPECT_EQ(n.arrived, n.waiting + n.offering + n.connected + n.completed + n.abandoned + n.voicemails + n.exited);
    EXPECT_EQ(n.answered, n.connected + n.completed);

    std::map<std::string, std::array<int, kAgentStateCount>> members_by_state;
    for (const auto& a : agents) {
      EXPECT_LE(a.offered_calls.size(), 1u) << a.id.str();
      EXPECT_EQ(static_cast<int>(a.offered_calls.size()), offers_by_agent[a.id.str()]) << a.id.str();
      EXPECT_EQ(a.active_calls, connected_by_agent[a.id.str()]) << a.id.str();
      // Capacity may be lowered under an agent's calls; it must then get no more offers.
      if (a.ready) {
        EXPECT_LT(a.active_calls, a.capacity) << a.id.str();
      }
      for (const auto& m : a.queues) members_by_state[m.queue.str()][static_cast<size_t>(a.state)]++;
      // No ready agent idle while a waiting call it is eligible for exists.
      if (!a.ready) continue;
      for (const auto& c : calls) {
        if (c.state != CallState::kWaiting) continue;
        auto penalty = penalty_in(a, c.queue);
        if (!penalty) continue;
        EXPECT_FALSE(eligible(a, c, *penalty)) << "agent " << a.id.str() << " is ready and eligible for waiting call "
                                               << c.id.str() << " in " << c.queue.str() << "\n"
                                               << describe_events(last_step_from_);
      }
    }
    for (const auto& [id, config] : model_.queues) {
      auto view = engine_->queue_view(org_, QueueId(id), 0);
      ASSERT_TRUE(view.is_ok());
      for (size_t s = 0; s < kAgentStateCount; ++s) {
        EXPECT_EQ(view->agents_by_state[std::string(agent_state_name(static_cast<AgentState>(s)))],
                  members_by_state[id][s])
            << id << " " << agent_state_name(static_cast<AgentState>(s));
      }
    }
  }

  std::mt19937_64 rng_;
  ManualClock clock_;
  testing::RecordingSink sink_;
  std::unique_ptr<Engine> engine_;
  OrgId org_{"org-p"};
  Model model_;
  int calls_made_ = 0;
  size_t last_step_from_ = 0;

  std::string describe_call(const CallId& id) const {
    std::string out;
    auto decisions = engine_->decisions(id);
    if (decisions.is_ok()) {
      for (const auto& d : *decisions) {
        out += "decision t=" +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d.at.time_since_epoch()).count() %
                              100000000) +
               " " + d.trigger + ": " + d.summary + "\n";
        for (const auto& c : d.candidates) out += "   " + c.agent.str() + " " + c.verdict + "\n";
      }
    }
    auto live = engine_->explain_now(id);
    if (live.is_ok()) {
      out += "live: " + live->summary + "\n";
      for (const auto& c : live->candidates) out += "   " + c.agent.str() + " " + c.verdict + "\n";
    }
    return out;
  }

  std::string describe_events(size_t from) const {
    std::string out;
    const size_t start = from > 30 ? from - 30 : 0;
    for (size_t i = start; i < sink_.events.size(); ++i) {
      const RoutingEvent& e = sink_.events[i];
      out += (i == from ? "--- step ---\n" : "") + std::to_string(i) + " " + std::string(routing_event_name(e.type)) +
             " call=" + e.call.str() + " agent=" + e.agent.str() + " queue=" + e.queue.str() +
             " prio=" + std::to_string(e.priority) + " reason=" + e.reason +
             " to=" + std::string(agent_state_name(e.to_state)) + " t=" +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(e.at.time_since_epoch()).count() %
                            100000000) +
             "\n";
    }
    return out;
  }
  std::map<std::string, std::set<std::string>> pending_offers_;
  std::map<std::string, std::map<std::string, TimePoint>> exclusions_;
  std::map<std::string, std::pair<TimePoint, uint64_t>> arrivals_;  // call -> (arrival, number)
};

class EngineProperty : public ::testing::TestWithParam<uint64_t> {};

TEST_P(EngineProperty, InvariantsHoldThroughRandomisedCommandSequences) {
  PropertyRun run(GetParam());
  run.setup();
  for (int i = 0; i < 600 && !::testing::Test::HasFailure(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i));
    run.step();
  }
}

INSTANTIATE_TEST_SUITE_P(FixedSeeds, EngineProperty, ::testing::Range<uint64_t>(1, 201));

}  // namespace
}  // namespace vontres::routing
