#include "routing/service.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "routing/detail/body_schemas.h"
#include "users/events.h"

namespace vontres::routing {

using nlohmann::json;

namespace {

json skills_json(const std::vector<SkillRequirement>& reqs) {
  json out = json::array();
  for (const auto& r : reqs) out.push_back({{"skill", r.skill}, {"min_proficiency", r.min_proficiency}});
  return out;
}

std::vector<SkillRequirement> skills_from(const json& j) {
  std::vector<SkillRequirement> out;
  for (const auto& r : j) out.push_back({r.at("skill").get<std::string>(), r.value("min_proficiency", 1)});
  return out;
}

Millis ms(const json& j, const char* key, Millis fallback) {
  return j.contains(key) ? Millis(j.at(key).get<int64_t>()) : fallback;
}

// The organisation of the authenticated caller; every lookup is scoped to it.
const std::string& org_of(const api::Request& req) { return req.principal->org_id; }

api::Response not_found_response(std::string_view what, std::string_view code) {
  return api::Response::error(not_found(std::string(what) + " not found", std::string(code)));
}

}  // namespace

nlohmann::json to_json(const RoutingEvent& e) {
  json j = {{"type", routing_event_name(e.type)}, {"at", format_rfc3339(e.at)}, {"org_id", e.org.str()}};
  if (!e.call.empty()) j["call_id"] = e.call.str();
  if (!e.agent.empty()) j["agent_id"] = e.agent.str();
  if (!e.queue.empty()) j["queue_id"] = e.queue.str();
  if (!e.from_queue.empty()) j["from_queue_id"] = e.from_queue.str();
  if (!e.reason.empty()) j["reason"] = e.reason;
  if (e.type == RoutingEventType::kAgentStateChanged) {
    j["from_state"] = agent_state_name(e.from_state);
    j["to_state"] = agent_state_name(e.to_state);
  } else {
    j["priority"] = e.priority;
    j["waited_ms"] = e.waited.count();
    j["callback"] = e.callback;
  }
  if (e.type == RoutingEventType::kOffered) j["timeout_ms"] = e.timeout.count();
  return j;
}

nlohmann::json to_json(const QueueConfig& q) {
  json steps = json::array();
  for (const auto& s : q.escalation) {
    json step = {{"after_ms", s.after.count()},        {"repeat_every_ms", s.repeat_every.count()},
                 {"priority_boost", s.priority_boost}, {"lower_proficiency_by", s.lower_proficiency_by},
                 {"drop_skills", s.drop_skills},       {"drop_all_skills", s.drop_all_skills}};
    if (s.max_penalty) step["max_penalty"] = *s.max_penalty;
    if (s.move_to_queue) step["move_to_queue"] = s.move_to_queue->str();
    steps.push_back(std::move(step));
  }
  json j = {{"id", q.id.str()},
            {"name", q.name},
            {"priority", q.priority},
            {"strategy", strategy_name(q.strategy)},
            {"service_level_threshold_ms", q.service_level_threshold.count()},
            {"service_level_target", q.service_level_target},
            {"max_wait_ms", q.max_wait.count()},
            {"max_wait_action", max_wait_action_name(q.max_wait_action)},
            {"max_length", q.max_length},
            {"wrap_up_ms", q.wrap_up.count()},
            {"offer_timeout_ms", q.offer_timeout.count()},
            {"reoffer_delay_ms", q.reoffer_delay.count()},
            {"max_missed_offers", q.max_missed_offers},
            {"join_empty", q.join_empty},
            {"leave_when_empty", q.leave_when_empty},
            {"required_skills", skills_json(q.required_skills)},
            {"initial_max_penalty", q.initial_max_penalty},
            {"escalation", steps},
            {"default_handle_time_ms", q.default_handle_time.count()}};
  if (q.overflow_queue) j["overflow_queue"] = q.overflow_queue->str();
  return j;
}

Result<QueueConfig> queue_from_json(const nlohmann::json& j, const QueueConfig& defaults) {
  // nlohmann throws on type mismatches; this is the library boundary, so translate at once.
  try {
    if (!j.is_object()) return invalid_argument("queue must be a JSON object", "invalid_queue");
    QueueConfig q = defaults;
    q.org = OrgId();
    q.id = QueueId(j.value("id", std::string()));
    q.name = j.value("name", std::string());
    q.priority = j.value("priority", 0);
    if (j.contains("strategy")) {
      auto s = parse_strategy(j.at("strategy").get<std::string>());
      if (!s) return invalid_argument("strategy: unknown value", "invalid_queue");
      q.strategy = *s;
    }
    q.service_level_threshold = ms(j, "service_level_threshold_ms", q.service_level_threshold);
    q.service_level_target = j.value("service_level_target", q.service_level_target);
    q.max_wait = ms(j, "max_wait_ms", q.max_wait);
    if (j.contains("max_wait_action")) {
      auto a = parse_max_wait_action(j.at("max_wait_action").get<std::string>());
      if (!a) return invalid_argument("max_wait_action: unknown value", "invalid_queue");
      q.max_wait_action = *a;
    }
    if (j.contains("overflow_queue")) q.overflow_queue = QueueId(j.at("overflow_queue").get<std::string>());
    q.max_length = j.value("max_length", size_t{0});
    q.wrap_up = ms(j, "wrap_up_ms", q.wrap_up);
    q.offer_timeout = ms(j, "offer_timeout_ms", q.offer_timeout);
    q.reoffer_delay = ms(j, "reoffer_delay_ms", q.reoffer_delay);
    q.max_missed_offers = j.value("max_missed_offers", q.max_missed_offers);
    q.join_empty = j.value("join_empty", q.join_empty);
    q.leave_when_empty = j.value("leave_when_empty", q.leave_when_empty);
    if (j.contains("required_skills")) q.required_skills = skills_from(j.at("required_skills"));
    q.initial_max_penalty = j.value("initial_max_penalty", q.initial_max_penalty);
    q.default_handle_time = ms(j, "default_handle_time_ms", q.default_handle_time);
    if (j.contains("escalation")) {
      for (const auto& s : j.at("escalation")) {
        EscalationStep step;
        step.after = ms(s, "after_ms", Millis{0});
        step.repeat_every = ms(s, "repeat_every_ms", Millis{0});
        step.priority_boost = s.value("priority_boost", 0);
        step.lower_proficiency_by = s.value("lower_proficiency_by", 0);
        if (s.contains("drop_skills")) step.drop_skills = s.at("drop_skills").get<std::vector<std::string>>();
        step.drop_all_skills = s.value("drop_all_skills", false);
        if (s.contains("max_penalty")) step.max_penalty = s.at("max_penalty").get<int>();
        if (s.contains("move_to_queue")) step.move_to_queue = QueueId(s.at("move_to_queue").get<std::string>());
        q.escalation.push_back(std::move(step));
      }
    }
    return q;
  } catch (const json::exception& e) {
    return invalid_argument(std::string("queue: ") + e.what(), "invalid_queue");
  }
}

nlohmann::json to_json(const RoutingRules& r) {
  json intents = json::array();
  for (const auto& rule : r.intents) {
    json item = {
        {"intent", rule.intent}, {"skills", skills_json(rule.skills)}, {"priority_boost", rule.priority_boost}};
    if (rule.queue) item["queue"] = rule.queue->str();
    intents.push_back(std::move(item));
  }
  json j = {{"intents", intents},
            {"negative_sentiment_threshold", r.negative_sentiment_threshold},
            {"negative_sentiment_boost", r.negative_sentiment_boost},
            {"tier_boost", r.tier_boost},
            {"language_skill_prefix", r.language_skill_prefix}};
  if (r.default_queue) j["default_queue"] = r.default_queue->str();
  return j;
}

Result<RoutingRules> rules_from_json(const nlohmann::json& j) {
  auto bad = [](const std::string& field, std::string_view why) {
    return invalid_argument(fmt::format("{}: {}", field, why), "invalid_rules");
  };
  auto boost_ok = [](int boost) { return boost >= -100 && boost <= 100; };
  try {
    if (!j.is_object()) return bad("rules", "must be a JSON object");
    static const std::set<std::string> kFields = {
        "intents",    "default_queue",        "negative_sentiment_threshold", "negative_sentiment_boost",
        "tier_boost", "language_skill_prefix"};
    for (const auto& [name, value] : j.items()) {
      if (!kFields.contains(name)) return bad(name, "unknown field");
    }
    RoutingRules r;
    if (j.contains("intents")) {
      const json& intents = j.at("intents");
      if (!intents.is_array()) return bad("intents", "must be an array");
      std::set<std::string> seen;
      for (size_t i = 0; i < intents.size(); ++i) {
        const std::string path = fmt::format("intents[{}]", i);
        const json& item = intents[i];
        if (!item.is_object()) return bad(path, "must be an object");
        IntentRule rule;
        rule.intent = item.value("intent", std::string());
        if (rule.intent.empty()) return bad(path + ".intent", "must not be empty");
        if (!seen.insert(rule.intent).second) return bad(path + ".intent", "duplicate intent");
        if (item.contains("queue")) {
          const std::string queue = item.at("queue").get<std::string>();
          if (queue.empty()) return bad(path + ".queue", "must not be empty");
          rule.queue = QueueId(queue);
        }
        if (item.contains("skills")) rule.skills = skills_from(item.at("skills"));
        for (size_t k = 0; k < rule.skills.size(); ++k) {
          if (rule.skills[k].skill.empty())
            return bad(fmt::format("{}.skills[{}].skill", path, k), "must not be empty");
          if (rule.skills[k].min_proficiency < 1 || rule.skills[k].min_proficiency > 10)
            return bad(fmt::format("{}.skills[{}].min_proficiency", path, k), "must be 1..10");
        }
        rule.priority_boost = item.value("priority_boost", 0);
        if (!boost_ok(rule.priority_boost)) return bad(path + ".priority_boost", "must be -100..100");
        r.intents.push_back(std::move(rule));
      }
    }
    if (j.contains("default_queue") && !j.at("default_queue").is_null()) {
      const std::string queue = j.at("default_queue").get<std::string>();
      if (!queue.empty()) r.default_queue = QueueId(queue);
    }
    r.negative_sentiment_threshold = j.value("negative_sentiment_threshold", r.negative_sentiment_threshold);
    if (!(r.negative_sentiment_threshold >= -1 && r.negative_sentiment_threshold <= 1))
      return bad("negative_sentiment_threshold", "must be -1..1");
    r.negative_sentiment_boost = j.value("negative_sentiment_boost", r.negative_sentiment_boost);
    if (!boost_ok(r.negative_sentiment_boost)) return bad("negative_sentiment_boost", "must be -100..100");
    if (j.contains("tier_boost")) r.tier_boost = j.at("tier_boost").get<std::map<std::string, int>>();
    for (const auto& [tier, boost] : r.tier_boost) {
      if (tier.empty()) return bad("tier_boost", "tier names must not be empty");
      if (!boost_ok(boost)) return bad("tier_boost." + tier, "must be -100..100");
    }
    r.language_skill_prefix = j.value("language_skill_prefix", r.language_skill_prefix);
    return r;
  } catch (const json::exception& e) {
    return bad("rules", e.what());
  }
}

RoutingServiceOptions options_from_config(const RoutingConfig& config) {
  RoutingServiceOptions options;
  RoutingRules& rules = options.engine.default_rules;
  rules.intents.clear();
  for (const auto& in : config.intent_rules) {
    IntentRule rule;
    rule.intent = in.intent;
    if (in.queue) rule.queue = QueueId(*in.queue);
    for (const auto& skill : in.skills) rule.skills.push_back({skill.skill, skill.min_proficiency});
    rule.priority_boost = in.priority_boost;
    rules.intents.push_back(std::move(rule));
  }
  if (!config.default_queue.empty()) rules.default_queue = QueueId(config.default_queue);
  rules.negative_sentiment_threshold = config.negative_sentiment_threshold;
  rules.negative_sentiment_boost = config.negative_sentiment_boost;
  rules.tier_boost = config.tier_boost;
  rules.language_skill_prefix = config.language_skill_prefix;
  options.engine.decisions_per_call = config.explain_decisions ? config.decisions_per_call : 0;
  options.engine.explained_candidates = config.explained_candidates;
  options.queue_defaults.offer_timeout = config.offer_timeout;
  options.queue_defaults.reoffer_delay = config.reoffer_delay;
  options.queue_defaults.max_missed_offers = config.max_missed_offers;
  options.queue_defaults.wrap_up = config.wrap_up;
  options.tick_resolution = config.tick_resolution;
  return options;
}

Result<AgentConfig> agent_profile_from_json(const nlohmann::json& j) {
  try {
    if (!j.is_object()) return invalid_argument("profile must be a JSON object", "invalid_agent");
    AgentConfig a;
    a.name = j.value("name", std::string());
    a.team = j.value("team", std::string());
    a.capacity = j.value("capacity", 1);
    if (j.contains("skills")) a.skills = j.at("skills").get<std::map<std::string, int>>();
    if (j.contains("queues")) {
      for (const auto& m : j.at("queues")) {
        a.queues.push_back({QueueId(m.at("queue").get<std::string>()), m.value("penalty", 0)});
      }
    }
    return a;
  } catch (const json::exception& e) {
    return invalid_argument(std::string("profile: ") + e.what(), "invalid_agent");
  }
}

nlohmann::json to_json(const AgentView& a) {
  json queues = json::array();
  for (const auto& m : a.queues) queues.push_back({{"queue", m.queue.str()}, {"penalty", m.penalty}});
  json offered = json::array();
  for (const auto& c : a.offered_calls) offered.push_back(c.str());
  return {{"id", a.id.str()},
          {"name", a.name},
          {"team", a.team},
          {"state", agent_state_name(a.state)},
          {"break_reason", a.break_reason},
          {"state_since", format_rfc3339(a.state_since)},
          {"skills", a.skills},
          {"queues", queues},
          {"capacity", a.capacity},
          {"active_calls", a.active_calls},
          {"offered_calls", offered},
          {"calls_today", a.calls_today},
          {"consecutive_misses", a.consecutive_misses}};
}

nlohmann::json to_json(const QueueView& v) {
  json calls = json::array();
  for (const auto& c : v.calls) {
    json call = {{"id", c.id.str()},
                 {"state", call_state_name(c.state)},
                 {"priority", c.priority},
                 {"callback", c.callback},
                 {"position", c.position},
                 {"arrived_at", format_rfc3339(c.arrived_at)},
                 {"required_skills", skills_json(c.required_skills)}};
    if (c.estimated_wait) call["estimated_wait_ms"] = c.estimated_wait->count();
    calls.push_back(std::move(call));
  }
  json j = {{"queue", to_json(v.config)},
            {"waiting", v.waiting},
            {"callbacks_waiting", v.callbacks_waiting},
            {"offering", v.offering},
            {"longest_wait_ms", v.longest_wait.count()},
            {"agents_by_state", v.agents_by_state},
            {"staffed", v.staffed},
            {"ready", v.ready},
            {"average_handle_time_ms", v.average_handle_time.count()},
            {"stats",
             {{"arrived", v.stats.arrived},
              {"answered", v.stats.answered},
              {"answered_within_threshold", v.stats.answered_within_threshold},
              {"abandoned", v.stats.abandoned},
              {"overflowed_out", v.stats.overflowed_out},
              {"callbacks", v.stats.callbacks},
              {"voicemails", v.stats.voicemails},
              {"exited", v.stats.exited},
              {"rejected", v.stats.rejected},
              {"service_level", v.stats.service_level()},
              {"average_speed_of_answer_ms", v.stats.average_speed_of_answer().count()}}},
            {"calls", calls}};
  if (v.estimated_wait_new_call) j["estimated_wait_new_call_ms"] = v.estimated_wait_new_call->count();
  return j;
}

nlohmann::json to_json(const RoutingDecision& d) {
  json candidates = json::array();
  for (const auto& c : d.candidates) {
    candidates.push_back({{"agent_id", c.agent.str()},
                          {"agent_name", c.agent_name},
                          {"penalty", c.penalty},
                          {"score", c.score},
                          {"idle_ms", c.idle.count()},
                          {"calls_today", c.calls_today},
                          {"verdict", c.verdict}});
  }
  json offered = json::array();
  for (const auto& a : d.offered_to) offered.push_back(a.str());
  return {{"at", format_rfc3339(d.at)},
          {"queue_id", d.queue.str()},
          {"trigger", d.trigger},
          {"strategy", d.strategy},
          {"offered", d.offered},
          {"offered_to", offered},
          {"call_priority", d.call_priority},
          {"required_skills", skills_json(d.required_skills)},
          {"max_penalty", d.max_penalty},
          {"members", d.members},
          {"ready", d.ready},
          {"eligible", d.eligible},
          {"candidates", candidates},
          {"summary", d.summary}};
}

RoutingService::RoutingService(const Clock& clock, bus::EventBus& bus, store::Store& store,
                               RoutingServiceOptions options)
    : clock_(clock),
      bus_(bus),
      store_(store),
      options_(std::move(options)),
      ids_(clock),
      engine_(clock, sink_, options_.engine) {
  if (options_.metrics == nullptr) return;
  prometheus::Registry& registry = *options_.metrics;
  metrics_.waiting = &prometheus::BuildGauge()
                          .Name("vontres_routing_calls_waiting")
                          .Help("Calls waiting for an agent, per queue")
                          .Register(registry);
  auto& events = prometheus::BuildCounter()
                     .Name("vontres_routing_events_total")
                     .Help("Routing events by type: offers made, offers accepted, offers timed out")
                     .Register(registry);
  metrics_.offers = &events.Add({{"type", "offered"}});
  metrics_.accepts = &events.Add({{"type", "accepted"}});
  metrics_.timeouts = &events.Add({{"type", "timeout"}});
  metrics_.decision_seconds =
      &prometheus::BuildHistogram()
           .Name("vontres_routing_decision_duration_seconds")
           .Help("Time to run one routing command and the decisions it triggered (commands with events only)")
           .Register(registry)
           .Add({}, prometheus::Histogram::BucketBoundaries{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
                                                            1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1});
}

RoutingService::~RoutingService() {
  stop_following_user_events();
  stop_timer();
}

std::vector<store::Migration> RoutingService::migrations() {
  return {{"routing", 1, "queues, skills and agent routing profiles",
           "CREATE TABLE routing_queues (org_id TEXT NOT NULL, id TEXT NOT NULL, config TEXT NOT NULL, "
           "updated_at_ms BIGINT NOT NULL, PRIMARY KEY (org_id, id));"
           "CREATE TABLE routing_skills (org_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL, "
           "PRIMARY KEY (org_id, name));"
           "CREATE TABLE routing_agents (org_id TEXT NOT NULL, id TEXT NOT NULL, profile TEXT NOT NULL, "
           "updated_at_ms BIGINT NOT NULL, PRIMARY KEY (org_id, id))"},
          {"routing", 2, "organisations' own routing rules",
           "CREATE TABLE routing_rules (org_id TEXT NOT NULL PRIMARY KEY, rules TEXT NOT NULL, "
           "updated_at_ms BIGINT NOT NULL)"}};
}

Status RoutingService::start() {
  VONTRES_RETURN_IF_ERROR(store_.migrate(migrations()));
  VONTRES_ASSIGN_OR_RETURN(store::Rows queues, store_.query("SELECT org_id, config FROM routing_queues"));
  VONTRES_ASSIGN_OR_RETURN(store::Rows agents, store_.query("SELECT org_id, id, profile FROM routing_agents"));
  VONTRES_ASSIGN_OR_RETURN(store::Rows rules, store_.query("SELECT org_id, rules FROM routing_rules"));
  std::unique_lock lock(mu_);
  for (const auto& row : rules.rows) {
    auto parsed = rules_from_json(json::parse(row.get_string(1), nullptr, false));
    if (!parsed.is_ok()) return parsed.status().with_context("stored routing rules of " + row.get_string(0));
    engine_.set_rules(OrgId(row.get_string(0)), std::move(parsed).value());
  }
  // Overflow targets must exist first: retry the queues that failed until no progress.
  std::vector<QueueConfig> pending;
  for (const auto& row : queues.rows) {
    auto parsed = queue_from_json(json::parse(row.get_string(1), nullptr, false));
    if (!parsed.is_ok()) return parsed.status().with_context("stored queue");
    parsed->org = OrgId(row.get_string(0));
    pending.push_back(std::move(parsed).value());
  }
  while (!pending.empty()) {
    std::vector<QueueConfig> failed;
    for (const auto& q : pending) {
      if (!engine_.upsert_queue(q).is_ok()) failed.push_back(q);
    }
    if (failed.size() == pending.size()) {
      return engine_.upsert_queue(failed.front()).with_context("stored queue " + failed.front().id.str());
    }
    pending = std::move(failed);
  }
  for (const auto& row : agents.rows) {
    auto parsed = agent_profile_from_json(json::parse(row.get_string(2), nullptr, false));
    if (!parsed.is_ok()) return parsed.status().with_context("stored agent profile");
    parsed->org = OrgId(row.get_string(0));
    parsed->id = AgentId(row.get_string(1));
    VONTRES_RETURN_IF_ERROR(engine_.upsert_agent(*parsed));
  }
  for (const auto& view : engine_.all_calls()) touched_queues_.emplace(view.org, view.queue);
  flush(lock);
  return Status::ok();
}

void RoutingService::observe_command(std::chrono::steady_clock::time_point started) {
  if (metrics_.decision_seconds == nullptr || sink_.events.empty()) return;
  metrics_.decision_seconds->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

void RoutingService::update_metrics() {
  if (metrics_.waiting == nullptr) {
    touched_queues_.clear();
    return;
  }
  for (const auto& e : sink_.events) {
    if (e.type == RoutingEventType::kOffered) metrics_.offers->Increment();
    if (e.type == RoutingEventType::kAccepted) metrics_.accepts->Increment();
    if (e.type == RoutingEventType::kTimeout) metrics_.timeouts->Increment();
    if (!e.queue.empty()) touched_queues_.emplace(e.org, e.queue);
    if (!e.from_queue.empty()) touched_queues_.emplace(e.org, e.from_queue);
  }
  for (const auto& key : touched_queues_) {
    const auto& [org, id] = key;
    auto view = engine_.queue_view(org, id, 0);
    auto it = metrics_.waiting_by_queue.find(key);
    if (!view.is_ok()) {  // removed: its series goes too
      if (it != metrics_.waiting_by_queue.end()) {
        metrics_.waiting->Remove(it->second);
        metrics_.waiting_by_queue.erase(it);
      }
      continue;
    }
    if (it == metrics_.waiting_by_queue.end()) {
      it = metrics_.waiting_by_queue
               .emplace(key, &metrics_.waiting->Add({{"org_id", org.str()}, {"queue_id", id.str()}}))
               .first;
    }
    it->second->Set(static_cast<double>(view->waiting));
  }
  touched_queues_.clear();
}

void RoutingService::flush(std::unique_lock<std::mutex>& lock) {
  update_metrics();
  const std::optional<TimePoint> deadline = engine_.next_deadline();
  std::vector<RoutingEvent> events = std::move(sink_.events);
  sink_.events.clear();
  std::lock_guard publish(publish_mu_);
  lock.unlock();
  wake_timer(deadline);
  for (const auto& e : events) {
    bus::Event out;
    out.topic = options_.topic;
    out.key = e.call.empty() ? e.agent.str() : e.call.str();
    out.type = std::string(routing_event_name(e.type));
    out.payload = to_json(e).dump();
    out.headers["org_id"] = e.org.str();
    // A full bus must not stall routing: the event is lost for analytics only, and the failure
    // is visible in the bus metrics. Routing state itself lives in the engine.
    (void)bus_.publish(std::move(out), options_.publish_timeout);
  }
}

void RoutingService::tick() {
  run([](Engine& e) {
    e.tick();
    return 0;
  });
}

std::optional<TimePoint> RoutingService::next_deadline() {
  std::lock_guard lock(mu_);
  return engine_.next_deadline();
}

void RoutingService::start_timer() {
  std::lock_guard lock(timer_mu_);
  if (timer_.joinable()) return;
  timer_stop_ = false;
  timer_ = std::thread([this] { timer_loop(); });
}

void RoutingService::stop_timer() {
  {
    std::lock_guard lock(timer_mu_);
    timer_stop_ = true;
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void RoutingService::wake_timer(std::optional<TimePoint> deadline) {
  if (!deadline) return;  // a later or no deadline: the thread finds out when it next wakes
  std::lock_guard lock(timer_mu_);
  // While the thread is awake it may have read the deadline before this command: make it re-read.
  if (!timer_sleeping_ || *deadline < timer_sleeping_until_) {
    timer_kick_ = true;
    timer_cv_.notify_one();
  }
}

void RoutingService::timer_loop() {
  const auto resolution = std::max(options_.tick_resolution, Millis(1));
  std::unique_lock lock(timer_mu_);
  while (!timer_stop_) {
    timer_kick_ = false;
    lock.unlock();
    const std::optional<TimePoint> deadline = next_deadline();
    lock.lock();
    if (timer_stop_) break;
    if (timer_kick_) continue;  // a command changed the deadline meanwhile
    timer_sleeping_ = true;
    timer_sleeping_until_ = deadline.value_or(TimePoint::max());
    auto woken = [this] { return timer_stop_ || timer_kick_; };
    bool interrupted = true;
    if (!deadline) {
      timer_cv_.wait(lock, woken);
    } else {
      // Round the wait up to the resolution: the timer is never early, at most one step late.
      const auto due_in = std::max(std::chrono::ceil<Millis>(*deadline - clock_.now()), Millis(0));
      const auto wait = ((due_in + resolution - Millis(1)) / resolution) * resolution;
      interrupted = timer_cv_.wait_for(lock, wait, woken);
    }
    timer_sleeping_ = false;
    if (interrupted) continue;
    lock.unlock();
    tick();
    lock.lock();
  }
}

Status RoutingService::persist_queue(const QueueConfig& q) {
  return store_
      .execute(
          "INSERT INTO routing_queues (org_id, id, config, updated_at_ms) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (org_id, id) DO UPDATE SET config = excluded.config, updated_at_ms = excluded.updated_at_ms",
          {q.org.str(), q.id.str(), to_json(q).dump(), clock_.now_unix_ms()})
      .status();
}

Status RoutingService::follow_user_events(const std::string& group) {
  std::lock_guard lock(user_events_mu_);
  if (user_events_thread_.joinable()) return Status::ok();
  VONTRES_ASSIGN_OR_RETURN(user_events_, bus_.subscribe({std::string(users::events::kTopic)}, group));
  user_events_stop_ = false;
  user_events_thread_ = std::thread([this] { user_events_loop(); });
  return Status::ok();
}

void RoutingService::stop_following_user_events() {
  std::lock_guard lock(user_events_mu_);
  if (!user_events_thread_.joinable()) return;
  user_events_stop_ = true;
  user_events_thread_.join();
  user_events_.reset();
}

void RoutingService::user_events_loop() {
  while (!user_events_stop_.load()) {
    auto deliveries = user_events_->poll(32, std::chrono::milliseconds(100));
    if (!deliveries.is_ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    for (const auto& delivery : *deliveries) {
      // A Store failure is worth another try; anything else would fail the same way again.
      if (apply_user_event(delivery.event).kind() == ErrorKind::kUnavailable) {
        (void)user_events_->nack(delivery);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the Store recover
      } else {
        (void)user_events_->ack(delivery);
      }
    }
  }
}

Status RoutingService::apply_user_event(const bus::Event& event) {
  const auto change = users::events::parse_user_lifecycle(event);
  if (!change) return Status::ok();
  const AgentId agent(change->user_id);
  const OrgId org(change->org_id);
  std::unique_lock lock(mu_);
  // Agent ids are per organisation: another organisation's agent of the same id is not this user.
  auto view = engine_.agent(org, agent);
  Status status = Status::ok();
  if (change->type == users::events::kUserReactivated) {
    inactive_agents_.erase({org, agent});  // back, offline: the agent logs in again to take calls
  } else {
    inactive_agents_.insert({org, agent});
    if (view.is_ok()) {
      const auto started = std::chrono::steady_clock::now();
      (void)engine_.set_presence(org, agent, Presence::kOffline, change->type);
      // A deleted agent with calls stays, offline, until the next start (its profile is gone).
      if (change->type == users::events::kUserDeleted) (void)engine_.remove_agent(org, agent);
      observe_command(started);
    }
    if (change->type == users::events::kUserDeleted) {
      status =
          store_.execute("DELETE FROM routing_agents WHERE org_id = $1 AND id = $2", {org.str(), agent.str()}).status();
    }
  }
  flush(lock);
  return status;
}

Status RoutingService::persist_agent(const AgentConfig& a) {
  json queues = json::array();
  for (const auto& m : a.queues) queues.push_back({{"queue", m.queue.str()}, {"penalty", m.penalty}});
  const json profile = {
      {"name", a.name}, {"team", a.team}, {"capacity", a.capacity}, {"skills", a.skills}, {"queues", queues}};
  return store_
      .execute(
          "INSERT INTO routing_agents (org_id, id, profile, updated_at_ms) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (org_id, id) DO UPDATE SET profile = excluded.profile, updated_at_ms = excluded.updated_at_ms",
          {a.org.str(), a.id.str(), profile.dump(), clock_.now_unix_ms()})
      .status();
}

void RoutingService::register_routes(api::Router& router) {
  using api::Method;
  using api::Request;
  using api::Response;
  auto opts = [](std::string permission, std::string summary, json body_schema = nullptr) {
    return api::route_options("routing", std::move(permission), std::move(summary), std::move(body_schema));
  };

  router.add(Method::kGet, "/api/v1/queues", opts("queues.read", "List queues"), [this](Request& req) {
    std::lock_guard lock(mu_);
    json out = json::array();
    for (const auto& q : engine_.queues(OrgId(org_of(req)))) out.push_back(to_json(q));
    return Response::json(200, {{"queues", out}});
  });

  // Create (POST, id generated unless given) and replace (PUT) share the validation and the write.
  auto save_queue = [this](Request& req, std::optional<std::string> id, bool create) -> Response {
    auto body = req.json_body();
    if (!body.is_ok()) return Response::error(body.status());
    auto parsed = queue_from_json(*body, options_.queue_defaults);
    if (!parsed.is_ok()) return Response::error(parsed.status());
    QueueConfig q = std::move(parsed).value();
    q.org = OrgId(org_of(req));
    if (id) q.id = QueueId(*id);
    if (q.id.empty()) q.id = QueueId(ids_.next());
    std::unique_lock lock(mu_);
    auto existing = engine_.queue_view(q.org, q.id, 0);
    if (create && existing.is_ok()) {
      return Response::error(already_exists("queue " + q.id.str() + " exists", "queue_exists"));
    }
    if (!create && !existing.is_ok()) return not_found_response("queue", "queue_not_found");
    Status status = engine_.upsert_queue(q);
    if (status.is_ok()) status = persist_queue(q);
    touched_queues_.emplace(q.org, q.id);
    flush(lock);
    if (!status.is_ok()) return Response::error(status);
    return Response::json(create ? 201 : 200, to_json(q));
  };
  router.add(Method::kPost, "/api/v1/queues", opts("queues.write", "Create a queue", detail::queue_body_schema()),
             [save_queue](Request& req) { return save_queue(req, std::nullopt, true); });
  router.add(Method::kPut, "/api/v1/queues/{id}", opts("queues.write", "Replace a queue", detail::queue_body_schema()),
             [save_queue](Request& req) { return save_queue(req, req.path_params.at("id"), false); });

  router.add(Method::kGet, "/api/v1/queues/{id}", opts("queues.read", "Get a queue"), [this](Request& req) {
    std::lock_guard lock(mu_);
    auto view = engine_.queue_view(OrgId(org_of(req)), QueueId(req.path_params.at("id")), 0);
    if (!view.is_ok()) return not_found_response("queue", "queue_not_found");
    return Response::json(200, to_json(view->config));
  });

  router.add(Method::kDelete, "/api/v1/queues/{id}", opts("queues.write", "Delete a queue"), [this](Request& req) {
    const QueueId id(req.path_params.at("id"));
    const OrgId org(org_of(req));
    std::unique_lock lock(mu_);
    Status status = engine_.remove_queue(org, id);
    if (status.code() == "queue_not_found") {
      flush(lock);
      return not_found_response("queue", "queue_not_found");
    }
    if (status.is_ok()) {
      status =
          store_.execute("DELETE FROM routing_queues WHERE org_id = $1 AND id = $2", {org_of(req), id.str()}).status();
    }
    touched_queues_.emplace(org, id);
    flush(lock);
    return status.is_ok() ? Response::no_content() : Response::error(status);
  });

  router.add(Method::kGet, "/api/v1/queues/{id}/live", opts("calls.monitor", "Live queue view"), [this](Request& req) {
    size_t limit = 100;
    if (auto it = req.query.find("limit"); it != req.query.end()) limit = std::strtoul(it->second.c_str(), nullptr, 10);
    std::lock_guard lock(mu_);
    auto view =
        engine_.queue_view(OrgId(org_of(req)), QueueId(req.path_params.at("id")), std::min<size_t>(limit, 1000));
    if (!view.is_ok()) return not_found_response("queue", "queue_not_found");
    return Response::json(200, to_json(*view));
  });

  router.add(Method::kGet, "/api/v1/skills", opts("queues.read", "List skills"), [this](Request& req) {
    auto rows =
        store_.query("SELECT name, description FROM routing_skills WHERE org_id = $1 ORDER BY name", {org_of(req)});
    if (!rows.is_ok()) return Response::error(rows.status());
    json out = json::array();
    for (const auto& r : rows->rows) out.push_back({{"name", r.get_string(0)}, {"description", r.get_string(1)}});
    return Response::json(200, {{"skills", out}});
  });
  router.add(Method::kPut, "/api/v1/skills/{name}",
             opts("queues.write", "Create or update a skill", detail::skill_body_schema()), [this](Request& req) {
               const std::string& name = req.path_params.at("name");
               if (name.size() > 64) return Response::error(invalid_argument("skill name too long", "invalid_skill"));
               auto body = req.json_body();
               const std::string description =
                   body.is_ok() && body->is_object() ? body->value("description", std::string()) : std::string();
               auto done = store_.execute(
                   "INSERT INTO routing_skills (org_id, name, description) VALUES ($1, $2, $3) "
                   "ON CONFLICT (org_id, name) DO UPDATE SET description = excluded.description",
                   {org_of(req), name, description});
               if (!done.is_ok()) return Response::error(done.status());
               return Response::json(200, {{"name", name}, {"description", description}});
             });
  router.add(Method::kDelete, "/api/v1/skills/{name}", opts("queues.write", "Delete a skill"), [this](Request& req) {
    auto done = store_.execute("DELETE FROM routing_skills WHERE org_id = $1 AND name = $2",
                               {org_of(req), req.path_params.at("name")});
    if (!done.is_ok()) return Response::error(done.status());
    if (*done == 0) return not_found_response("skill", "skill_not_found");
    return Response::no_content();
  });

  router.add(Method::kPut, "/api/v1/agents/{id}/routing-profile",
             opts("agents.write", "Set an agent's skills and queues", detail::routing_profile_body_schema()),
             [this](Request& req) {
               auto body = req.json_body();
               if (!body.is_ok()) return Response::error(body.status());
               auto parsed = agent_profile_from_json(*body);
               if (!parsed.is_ok()) return Response::error(parsed.status());
               AgentConfig a = std::move(parsed).value();
               a.id = AgentId(req.path_params.at("id"));
               a.org = OrgId(org_of(req));
               std::unique_lock lock(mu_);
               Status status = engine_.upsert_agent(a);
               if (status.is_ok()) status = persist_agent(a);
               auto view = engine_.agent(a.org, a.id);
               flush(lock);
               if (!status.is_ok()) return Response::error(status);
               return Response::json(200, to_json(*view));
             });

  router.add(Method::kGet, "/api/v1/agents/{id}/state", opts("agents.read", "An agent's routing state"),
             [this](Request& req) {
               std::lock_guard lock(mu_);
               auto view = engine_.agent(OrgId(org_of(req)), AgentId(req.path_params.at("id")));
               if (!view.is_ok()) return not_found_response("agent", "agent_not_found");
               return Response::json(200, to_json(*view));
             });

  // Supervisors (agents.write) change anyone's state; an agent (calls.handle) changes its own.
  router.add(Method::kPut, "/api/v1/agents/{id}/state", opts("", "Change an agent's state"), [this](Request& req) {
    const std::string& id = req.path_params.at("id");
    const api::Principal& who = *req.principal;
    if (!who.has_permission("agents.write") && !(who.subject == id && who.has_permission("calls.handle"))) {
      return Response::error(permission_denied("agents.write, or calls.handle for yourself, is required"));
    }
    auto body = req.json_body();
    if (!body.is_ok()) return Response::error(body.status());
    const std::string state = body->is_object() ? body->value("state", std::string()) : std::string();
    Presence presence;
    if (state == "available") {
      presence = Presence::kAvailable;
    } else if (state == "break") {
      presence = Presence::kBreak;
    } else if (state == "offline") {
      presence = Presence::kOffline;
    } else {
      return Response::error(invalid_argument("state must be available, break or offline", "invalid_state"));
    }
    const std::string reason = body->value("reason", std::string());
    std::unique_lock lock(mu_);
    const OrgId org(org_of(req));
    auto view = engine_.agent(org, AgentId(id));
    if (!view.is_ok()) {
      flush(lock);
      return not_found_response("agent", "agent_not_found");
    }
    if (presence != Presence::kOffline && inactive_agents_.contains({org, AgentId(id)})) {
      flush(lock);
      return Response::error(failed_precondition("the agent's user is deactivated or deleted", "agent_inactive"));
    }
    const auto started = std::chrono::steady_clock::now();
    Status status = engine_.set_presence(org, AgentId(id), presence, reason);
    observe_command(started);
    view = engine_.agent(org, AgentId(id));
    flush(lock);
    if (!status.is_ok()) return Response::error(status);
    return Response::json(200, to_json(*view));
  });

  router.set_body_schema(Method::kPut, "/api/v1/agents/{id}/state", detail::agent_state_body_schema());

  router.add(Method::kGet, "/api/v1/calls/{id}/routing-decisions",
             opts("calls.monitor", "Why a call was routed as it was"), [this](Request& req) {
               const CallId id(req.path_params.at("id"));
               std::lock_guard lock(mu_);
               auto decisions = engine_.decisions(id);
               if (!decisions.is_ok()) return not_found_response("call", "call_not_found");
               // Call ids are global; the call's own organisation (live, else recorded) scopes it.
               auto live_call = engine_.call(id);
               if (live_call.is_ok() && live_call->org.str() != org_of(req)) {
                 return not_found_response("call", "call_not_found");
               }
               json out = json::array();
               for (const auto& d : *decisions) {
                 if (d.org.str() != org_of(req)) return not_found_response("call", "call_not_found");
                 out.push_back(to_json(d));
               }
               json body = {{"call_id", id.str()}, {"decisions", out}};
               if (auto live = engine_.explain_now(id); live.is_ok()) body["now"] = to_json(*live);
               return Response::json(200, body);
             });

  // An organisation's routing rules: its own once PUT, else the configured defaults.
  auto rules_body = [this](const OrgId& org) {
    return json{{"rules", to_json(engine_.rules(org))},
                {"source", engine_.has_own_rules(org) ? "organisation" : "configuration"}};
  };
  router.add(Method::kGet, "/api/v1/routing/rules", opts("queues.read", "The organisation's routing rules"),
             [this, rules_body](Request& req) {
               std::lock_guard lock(mu_);
               return Response::json(200, rules_body(OrgId(org_of(req))));
             });
  router.add(Method::kPut, "/api/v1/routing/rules",
             opts("queues.write", "Replace the organisation's routing rules", detail::routing_rules_body_schema()),
             [this, rules_body](Request& req) {
               auto body = req.json_body();
               if (!body.is_ok()) return Response::error(body.status());
               auto parsed = rules_from_json(*body);
               if (!parsed.is_ok()) return Response::error(parsed.status());
               const OrgId org(org_of(req));
               std::unique_lock lock(mu_);
               auto saved = store_.execute(
                   "INSERT INTO routing_rules (org_id, rules, updated_at_ms) VALUES ($1, $2, $3) "
                   "ON CONFLICT (org_id) DO UPDATE SET rules = excluded.rules, updated_at_ms = excluded.updated_at_ms",
                   {org.str(), to_json(*parsed).dump(), clock_.now_unix_ms()});
               if (!saved.is_ok()) return Response::error(saved.status());
               engine_.set_rules(org, std::move(parsed).value());
               json out = rules_body(org);
               flush(lock);
               return Response::json(200, out);
             });
  router.add(Method::kDelete, "/api/v1/routing/rules",
             opts("queues.write", "Return to the configured default routing rules"), [this](Request& req) {
               const OrgId org(org_of(req));
               std::unique_lock lock(mu_);
               auto done = store_.execute("DELETE FROM routing_rules WHERE org_id = $1", {org.str()});
               if (!done.is_ok()) return Response::error(done.status());
               engine_.clear_rules(org);
               flush(lock);
               return Response::no_content();
             });
}

}  // namespace vontres::routing
