#include "telephony/call_service.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <future>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "core/log.h"
#include "state/in_process_state_store.h"
#include "telephony/call_records.h"
#include "telephony/node_sweeper.h"
#include "telephony/numbers.h"
#include "telephony/registrar/accounts.h"
#include "telephony/registrar/digest.h"
#include "telephony/registrar/registrar.h"
#include "telephony/rtp/audio_source.h"
#include "telephony/rtp/media_session.h"
#include "telephony/rtp/port_allocator.h"
#include "telephony/rtp/recorder.h"
#include "telephony/sdp/offer_answer.h"
#include "telephony/sdp/session_description.h"
#include "telephony/ua/dialog.h"
#include "telephony/ua/source_limits.h"
#include "users/events.h"

namespace vontres::telephony {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::chrono::seconds kApiWait{5};

// "sip:user@host" -> "user".
std::string user_of(std::string_view uri) {
  auto parsed = sip::parse_uri(uri);
  return parsed.is_ok() ? parsed->user : std::string();
}

ua::TransportKind transport_of(std::string_view name) {
  ua::TransportKind kind = ua::TransportKind::kUdp;
  ua::parse_transport(name, kind);
  return kind;
}

rtp::G711Law law_of(sdp::AudioCodec codec) {
  return codec == sdp::AudioCodec::kPcma ? rtp::G711Law::kALaw : rtp::G711Law::kMuLaw;
}

}  // namespace

std::string default_prompts_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  for (const fs::path& candidate : {exe.parent_path().parent_path() / "share" / "prompts",
                                    exe.parent_path().parent_path() / "share" / "vontres" / "prompts"}) {
    if (fs::is_directory(candidate, ec)) return candidate.string();
  }
  return {};
}

// ---------------------------------------------------------------------------------------------

class CallService::Impl final : public CallActions {
  struct LegState;
  struct CallState;

 public:
  Impl(Clock& clock, bus::EventBus& bus, store::Store& store, routing::AcdClient& acd, CallServiceOptions options)
      : clock_(clock),
        bus_(bus),
        acd_(acd),
        options_(std::move(options)),
        ids_(clock),
        strand_(boost::asio::make_strand(io_)),
        ports_(static_cast<uint16_t>(options_.telephony.rtp_port_min),
               static_cast<uint16_t>(options_.telephony.rtp_port_max)),
        flow_(clock, *this, call_flow_options_from_config(options_.telephony)),
        accounts_(store, clock),
        numbers_(store, clock),
        records_(store, clock),
        accounts_api_(accounts_, options_.telephony.realm, [this](const std::string& username) {
          // A deleted or disabled account's phone is unreachable at once, not at its expiry.
          if (registrar_) registrar_->remove_user(username);
        }) {
    if (options_.metrics != nullptr) {
      auto& active =
          prometheus::BuildGauge().Name("vontres_calls_active").Help("Live calls").Register(*options_.metrics);
      active_gauge_ = &active.Add({});
      ended_family_ = &prometheus::BuildCounter()
                           .Name("vontres_calls_ended_total")
                           .Help("Calls ended, by reason")
                           .Register(*options_.metrics);
      rejected_ = &prometheus::BuildCounter()
                       .Name("vontres_calls_rejected_total")
                       .Help("Inbound INVITEs refused (overload, bad SDP, no media ports)")
                       .Register(*options_.metrics)
                       .Add({});
    }
  }

  ~Impl() override { stop(); }

  Status start() {
    const auto& t = options_.telephony;
    VONTRES_RETURN_IF_ERROR(numbers_.load());
    if (options_.state == nullptr) {
      own_state_ = std::make_unique<state::InProcessStateStore>(clock_);
      options_.state = own_state_.get();
    }
    NodeSweeperOptions sweeper_options;
    sweeper_options.node_id = options_.node_id;
    sweeper_options.heartbeat_ttl = t.node_timeout;
    sweeper_options.sweep_others = options_.state_shared;
    sweeper_options.topic = options_.topic;
    sweeper_ = std::make_unique<NodeSweeper>(*options_.state, records_, bus_, &acd_, sweeper_options);
    // This node holds no call yet: any open record it owns is from before a crash or kill.
    count_lost(sweeper_->close_own());
    Status beat = sweeper_->heartbeat();
    if (!beat.is_ok()) return beat;
    registrar::DigestServerOptions digest_options;
    digest_options.realm = t.realm;
    digest_options.secret = registrar::random_bytes(32);
    digest_options.offer_sha256 = t.digest_sha256;
    auto digest = registrar::DigestServer::create(digest_options, clock_);
    if (!digest.is_ok()) return digest.status();
    digest_ = std::move(digest).value();
    auto trusted = ua::AddressSet::parse(t.sip_trusted_sources);
    if (!trusted.is_ok()) return trusted.status();
    trusted_ = *trusted;
    ua::SourceCallLimits call_limits;
    call_limits.max_concurrent = t.max_calls_per_source;
    call_limits.invites_per_second = t.invites_per_second_per_source;
    call_limits.burst = 2 * t.invites_per_second_per_source;
    source_limiter_.emplace(clock_, call_limits, trusted_);
    registrar::RegistrarOptions registrar_options;
    registrar_options.lockout.max_failures_per_account = t.register_max_failures_per_account;
    registrar_options.lockout.max_failures_per_source = t.register_max_failures_per_source;
    registrar_options.lockout.failure_window = t.register_failure_window;
    registrar_options.lockout.lockout_base = t.register_lockout_base;
    registrar_options.lockout.lockout_max = t.register_lockout_max;
    registrar::CredentialStore* credentials = &accounts_;
    if (options_.agents != nullptr) {
      gated_accounts_ = std::make_unique<registrar::AgentGatedCredentialStore>(accounts_, *options_.agents);
      credentials = gated_accounts_.get();
    }
    registrar_ = std::make_unique<registrar::Registrar>(clock_, *digest_, *credentials, registrar_options);
    registrar_->add_listener([this](const registrar::BindingEvent& e) { on_binding(e); });

    ua::SipStackConfig config;
    auto add_listener = [&](const std::string& address, ua::TransportKind kind) -> Status {
      if (address.empty()) return Status::ok();
      auto parsed = parse_listen_address(address);
      if (!parsed.is_ok()) return parsed.status();
      config.transport.listeners.push_back({kind, parsed->host, parsed->port});
      if (config.public_address.empty()) config.public_address = t.public_host.empty() ? parsed->host : t.public_host;
      return Status::ok();
    };
    VONTRES_RETURN_IF_ERROR(add_listener(t.sip_udp, ua::TransportKind::kUdp));
    VONTRES_RETURN_IF_ERROR(add_listener(t.sip_tcp, ua::TransportKind::kTcp));
    VONTRES_RETURN_IF_ERROR(add_listener(t.sip_tls, ua::TransportKind::kTls));
    config.transport.tls_certificate_file = t.tls_cert_file;
    config.transport.tls_private_key_file = t.tls_key_file;
    config.transport.max_connections = t.sip_tcp_max_connections;
    config.transport.max_connections_per_source = t.sip_tcp_max_connections_per_source;
    config.transport.idle_timeout = t.sip_tcp_idle_timeout;
    config.transport.trusted_sources = trusted_;
    config.timers.t1 = t.sip_t1;
    config.timers.t2 = t.sip_t2;
    config.timers.t4 = t.sip_t4;
    config.user_agent = "Vontres";
    config.allow = {"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "REGISTER", "UPDATE", "NOTIFY"};
    stack_ = std::make_unique<ua::SipStack>(io_, config, clock_);
    ua::SipStackHandlers handlers;
    handlers.on_request = [this](const ua::ServerTransactionHandle& tx) {
      // Out-of-dialog OPTIONS (health probes from Kamailio's dispatcher) are the stack's to answer.
      const sip::Message& request = tx.request();
      if (request.method() == "OPTIONS" && ua::tag_of(request.header("To").value_or("")).empty()) return false;
      boost::asio::post(strand_, [this, tx] { on_request(tx); });
      return true;
    };
    handlers.on_cancel = [this](const ua::ServerTransactionHandle& invite) {
      boost::asio::post(strand_, [this, invite] { on_cancel(invite); });
    };
    handlers.on_ack = [](const sip::Message&, const ua::Peer&) {};
    stack_->set_handlers(std::move(handlers));

    auto consumer =
        bus_.subscribe({"routing.events", std::string(users::events::kTopic)}, "telephony-" + options_.node_id);
    if (!consumer.is_ok()) return consumer.status();
    consumer_ = std::move(consumer).value();

    work_.emplace(io_.get_executor());
    const int threads = std::max(1, options_.io_threads);
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
    Status started = stack_->start();
    if (!started.is_ok()) {
      stop();
      return started;
    }
    running_ = true;
    consumer_thread_ = std::thread([this] { consume_routing_events(); });
    schedule_timer();
    schedule_heartbeat();
    log_.info("SIP listening",
              {{"udp", stack_->port(ua::TransportKind::kUdp)}, {"tcp", stack_->port(ua::TransportKind::kTcp)}});
    return Status::ok();
  }

  void stop() {
    if (stopped_.exchange(true)) return;
    if (running_) {
      // Hang up what is still live so peers are not left with dead calls.
      run_on_strand([this] {
        for (const auto& call : flow_.calls()) (void)flow_.hang_up(call.id);
        return 0;
      });
    }
    running_ = false;
    if (consumer_thread_.joinable()) consumer_thread_.join();
    consumer_.reset();
    if (stack_) stack_->stop();
    run_on_strand([this] {
      for (auto& [id, state] : calls_) stop_media(state);
      calls_.clear();
      return 0;
    });
    work_.reset();
    io_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
    if (sweeper_) (void)sweeper_->withdraw();  // a clean stop: nothing left to sweep
  }

  // ---- API support ----
  template <typename F>
  auto run_on_strand(F&& f) -> std::optional<decltype(f())> {
    using R = decltype(f());
    if (threads_.empty() || io_.stopped()) return std::nullopt;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    auto future = task->get_future();
    boost::asio::post(strand_, [task] { (*task)(); });
    if (future.wait_for(kApiWait) != std::future_status::ready) return std::nullopt;
    return future.get();
  }

  uint16_t sip_port(ua::TransportKind kind) const { return stack_ ? stack_->port(kind) : 0; }
  std::vector<CallSnapshot> live_calls() {
    return run_on_strand([this] { return flow_.calls(); }).value_or(std::vector<CallSnapshot>{});
  }

  static json counters_json(const std::shared_ptr<rtp::MediaSession>& media) {
    if (!media) return nullptr;
    const auto c = media->counters();
    return {{"packets_sent", c.packets_sent}, {"packets_received", c.packets_received},
            {"packets_lost", c.packets_lost}, {"jitter_ms", c.jitter_ms},
            {"dtmf_events", c.dtmf_events},   {"malformed", c.malformed},
            {"withheld", c.withheld}};
  }

  json media_counters(const CallId& id) {
    return run_on_strand([this, id] {
             json out = json::object();
             auto it = calls_.find(id);
             if (it == calls_.end()) return out;
             out["caller"] = counters_json(it->second.caller.media);
             out["agent"] = counters_json(it->second.agent.media);
             if (it->second.consult.media) out["consult"] = counters_json(it->second.consult.media);
             return out;
           })
        .value_or(json::object());
  }

  void set_recording_paused(const CallId& id, bool paused) {
    boost::asio::post(strand_, [this, id, paused] {
      CallState* state = find(id);
      if (state == nullptr || !state->recorder) return;
      if (paused) {
        state->recorder->pause();
      } else {
        state->recorder->resume();
      }
    });
  }

  void on_speech(const CallId& id, const std::string& text, const std::string& intent) {
    boost::asio::post(strand_, [this, id, text, intent] { flow_.on_speech(id, Leg::kCaller, text, intent); });
  }

  void set_tap(rtp::MediaTap* tap) { tap_ = tap; }
  void register_routes(api::Router& router);

  // ---- CallActions (on the strand, called by the flow) ----
  void answer_caller(const CallId& id) override {
    CallState* state = find(id);
    if (state == nullptr || !state->caller.invite) return;
    sip::Message ok = ua::make_response(state->caller.invite->request(), 200, "OK", state->caller.invite->local_tag());
    ok.set_header("Contact", stack_->contact(state->caller.transport));
    ok.set_body(state->caller.pending_answer, "application/sdp");
    state->caller.answered = true;
    state->caller.invite->respond_reliably(std::move(ok), [this, id](bool acked) {
      boost::asio::post(strand_, [this, id, acked] { on_caller_ack(id, acked); });
    });
  }

  // The caller's ACK for our 2xx came (media may flow now), or never came within 64*T1: then the
  // leg's RTP port is freed at once and the call ends (issue 11, finding 11).
  void on_caller_ack(const CallId& id, bool acked) {
    CallState* state = find(id);
    if (state == nullptr) return;
    if (acked) {
      if (state->caller.media) state->caller.media->allow_sending();
      return;
    }
    log_.info("caller never ACKed the 2xx: media freed", {{"call_id", id.str()}, {"source.ip", state->source}});
    if (state->caller.media) {
      state->caller.media->stop();
      state->caller.media.reset();
    }
    flow_.on_hangup(id, Leg::kCaller);
  }

  void play(const CallId& id, Leg leg, const std::string& prompt, bool loop) override {
    CallState* state = find(id);
    if (state == nullptr) return;
    LegState& l = leg_of(*state, leg);
    if (!l.media) return;
    auto audio = load_prompt(prompt);
    if (!audio) {
      // A missing prompt must not stall the call: carry on as if it had been played.
      boost::asio::post(strand_, [this, id, leg, prompt] { flow_.on_prompt_finished(id, leg, prompt); });
      return;
    }
    auto player = std::make_shared<rtp::PromptPlayer>(
        audio, loop ? rtp::PromptPlayer::Mode::kLoop : rtp::PromptPlayer::Mode::kOnce, [this, id, leg, prompt] {
          boost::asio::post(strand_, [this, id, leg, prompt] { flow_.on_prompt_finished(id, leg, prompt); });
        });
    l.media->set_source(std::move(player));
  }

  void stop_playing(const CallId& id, Leg leg) override {
    CallState* state = find(id);
    if (state == nullptr) return;
    LegState& l = leg_of(*state, leg);
    if (l.media) l.media->set_source(nullptr);
  }

  void enqueue(const CallId& id, const QueueId& queue, const std::string& intent) override {
    CallState* state = find(id);
    if (state == nullptr) return;
    routing::CallRequest request;
    request.id = id;
    request.org = state->org;
    if (!queue.empty()) request.queue = queue;
    request.intent = intent;
    Status placed = acd_.enqueue(request);
    if (!placed.is_ok()) {
      const std::string reason(placed.code());
      boost::asio::post(strand_, [this, id, reason] { flow_.on_routing_exit(id, reason); });
    }
  }

  void ring_agent(const CallId& id, const AgentId& agent) override {
    ring(id, agent, Leg::kAgent, [this, id](int status) {
      boost::asio::post(strand_, [this, id, status] { flow_.on_agent_failed(id, status); });
    });
  }

  // An agent directly by name, on the consult leg: the ACD has no "reserve this agent" command
  // and a consultation is the agent's choice of colleague, so the phone's own answer (486 when busy)
  // decides. A queue consultation goes through the ACD instead (enqueue_consult).
  void ring_consult(const CallId& id, const AgentId& agent) override {
    ring(id, agent, Leg::kConsult, [this, id](int status) {
      boost::asio::post(strand_, [this, id, status] {
        if (CallState* state = find(id); state != nullptr && state->consult.media) state->consult.media->stop();
        flow_.on_consult_failed(id, status);
      });
    });
  }

  void enqueue_consult(const CallId& id, const QueueId& queue, const std::string& intent) override {
    CallState* state = find(id);
    if (state == nullptr) return;
    routing::CallRequest request;
    request.id = consult_acd_id(id);
    request.org = state->org;
    request.queue = queue;
    request.intent = intent;
    Status placed = acd_.enqueue(request);
    if (!placed.is_ok()) {
      const std::string reason(placed.code());
      boost::asio::post(strand_, [this, id, reason] { flow_.on_consult_routing_exit(id, reason); });
    }
  }

  void withdraw_from_acd(const CallId& acd_call, const std::string& reason) override {
    acd_result("cancel", acd_call, acd_.cancel(org_of_acd_call(acd_call), acd_call, reason));
  }

  // The organisation of a call this node holds, by its id or its consultation's ACD id.
  OrgId org_of_acd_call(const CallId& acd_call) {
    if (CallState* state = find(acd_call)) return state->org;
    if (auto call = call_of_consult_acd_id(acd_call)) {
      if (CallState* state = find(*call)) return state->org;
    }
    return {};
  }

  void acd_result(const char* command, const CallId& call, const Status& s) {
    if (!s.is_ok()) {
      log_.warn("ACD command not applied",
                {{"command", command}, {"call_id", call.str()}, {"code", std::string(s.code())}});
    }
  }

  void ring(const CallId& id, const AgentId& agent, Leg leg, const std::function<void(int)>& fail) {
    CallState* state = find(id);
    if (state == nullptr) return;
    std::optional<registrar::Binding> binding;
    // Agent ids are an organisation's own: the call's organisation picks the phone.
    if (auto user = agent_users_.find({state->org.str(), agent.str()}); user != agent_users_.end()) {
      auto bindings = registrar_->lookup(user->second);
      if (!bindings.empty()) binding = bindings.front();
    }
    if (!binding) {
      fail(480);  // the agent's phone is not registered
      return;
    }
    ua::Destination to{transport_of(binding->flow.transport), binding->flow.ip, binding->flow.port};
    invite_leg(*state, leg, binding->contact_uri, to, "sip:" + binding->username + "@" + options_.telephony.realm,
               fail);
  }

  void dial_destination(const CallId& id, const std::string& destination) override {
    CallState* state = find(id);
    if (state == nullptr) return;
    auto fail = [this, id](int status) {
      boost::asio::post(strand_, [this, id, status] { flow_.on_destination_failed(id, status); });
    };
    auto to = ua::destination_for_uri(destination);
    if (!to.is_ok()) {
      fail(404);
      return;
    }
    invite_leg(*state, Leg::kCaller, destination, *to, destination, fail);
  }

  void cancel_ringing(const CallId& id, Leg leg) override {
    CallState* state = find(id);
    if (state == nullptr) return;
    LegState& l = leg_of(*state, leg);
    if (!l.branch.empty() && !l.answered) {
      stack_->cancel(l.branch);
      l.cancelled = true;
      if (leg == Leg::kConsult && l.media) l.media->stop();
    }
  }

  void bridge(const CallId& id) override {
    CallState* state = find(id);
    if (state == nullptr) return;
    bridge_legs(*state, state->caller, state->agent);
    if (state->bridged && options_.telephony.record_calls && !state->recorder) start_recording(*state);
  }

  // Agent A with agent B during a consultation; the caller hears music meanwhile.
  void bridge_consult(const CallId& id) override {
    CallState* state = find(id);
    if (state == nullptr) return;
    bridge_legs(*state, state->agent, state->consult);
  }

  // Attended transfer completed: B's leg takes the agent's place (A's was hung up or is gone).
  void promote_consult(const CallId& id) override {
    CallState* state = find(id);
    if (state == nullptr || !state->consult.media) return;
    unbridge(id);
    LegState& old = state->agent;
    if (old.media) {
      if (old.record_listener != 0) old.media->remove_frame_listener(old.record_listener);
      state->previous_agents.push_back(counters_json(old.media));
      old.media->stop();
    }
    if (!old.sip_call_id.empty()) by_sip_call_id_.erase(old.sip_call_id);
    state->agent = std::move(state->consult);
    state->consult = LegState{};
    if (!state->agent.sip_call_id.empty()) by_sip_call_id_[state->agent.sip_call_id] = {id, Leg::kAgent};
    if (state->recorder) add_record_listener(*state, state->agent);
  }

  void bridge_legs(CallState& state, LegState& a, LegState& b) {
    if (!a.media || !b.media || state.bridged) return;
    auto link = [](const std::shared_ptr<rtp::MediaSession>& from, const std::shared_ptr<rtp::MediaSession>& to) {
      std::weak_ptr<rtp::MediaSession> target = to;
      return from->add_frame_listener([target](const rtp::AudioFrame& frame) {
        if (frame.kind != rtp::FrameKind::kAudio || frame.payload.empty()) return;
        if (auto peer = target.lock())
          peer->relay(std::vector<uint8_t>(frame.payload.begin(), frame.payload.end()), frame.law);
      });
    };
    a.media->set_source(nullptr);
    b.media->set_source(nullptr);
    a.media->set_bridged(true);
    b.media->set_bridged(true);
    a.bridge_listener = link(a.media, b.media);
    b.bridge_listener = link(b.media, a.media);
    state.bridged = true;
  }

  // Records both sides of a connected call to <data_dir>/recordings/<call id>.wav (stereo: caller
  // left, agent right) until the call ends.
  void start_recording(CallState& state) {
    std::error_code ec;
    const fs::path dir = fs::path(options_.data_dir) / "recordings";
    fs::create_directories(dir, ec);
    auto recorder = rtp::Recorder::open((dir / (state.id.str() + ".wav")).string());
    if (!recorder.is_ok()) {
      log_.error("recording not started", {{"call_id", state.id.str()}, {"error", recorder.status().to_string()}});
      return;
    }
    state.recorder = *recorder;
    for (LegState* l : {&state.caller, &state.agent}) add_record_listener(state, *l);
  }

  static void add_record_listener(CallState& state, LegState& l) {
    if (!l.media) return;
    std::weak_ptr<rtp::Recorder> weak = state.recorder;
    const std::string leg_id = l.media->leg_id();
    const rtp::Speaker speaker = l.media->speaker();
    l.record_listener = l.media->add_frame_listener([weak, leg_id, speaker](const rtp::AudioFrame& frame) {
      if (auto r = weak.lock()) r->on_audio(leg_id, speaker, frame.pcm, frame.time);
    });
  }

  void stop_recording(CallState& state) {
    if (!state.recorder) return;
    for (LegState* l : {&state.caller, &state.agent, &state.consult}) {
      if (l->media && l->record_listener != 0) l->media->remove_frame_listener(l->record_listener);
      l->record_listener = 0;
    }
    Status closed = state.recorder->close();
    if (!closed.is_ok())
      log_.error("recording not finalised", {{"call_id", state.id.str()}, {"error", closed.to_string()}});
    state.recorder.reset();
  }

  void unbridge(const CallId& id) override {
    CallState* state = find(id);
    if (state == nullptr || !state->bridged) return;
    for (LegState* l : {&state->caller, &state->agent, &state->consult}) {
      if (l->media) {
        if (l->bridge_listener != 0) l->media->remove_frame_listener(l->bridge_listener);
        l->media->set_bridged(false);
      }
      l->bridge_listener = 0;
    }
    state->bridged = false;
  }

  void hang_up(const CallId& id, Leg leg) override {
    CallState* state = find(id);
    if (state == nullptr) return;
    LegState& l = leg_of(*state, leg);
    if (l.dialog && l.answered && !l.bye_sent) {
      sip::Message bye = l.dialog->make_request("BYE");
      (void)stack_->send_request(std::move(bye), l.destination, [](const sip::Message&) {});
      l.bye_sent = true;
    } else if (l.invite && !l.answered) {
      l.invite->respond(480, "Temporarily Unavailable");
    }
    if (l.media) l.media->set_source(nullptr);
    // A consult leg that ends is never reused: free its port (and its inactivity timer) now.
    if (leg == Leg::kConsult && l.media) l.media->stop();
  }

  void accept_offer(const CallId& id, const AgentId& agent) override {
    acd_result("accept_offer", id, acd_.accept_offer(org_of_acd_call(id), id, agent));
  }
  void decline_offer(const CallId& id, const AgentId& agent, const std::string& reason) override {
    acd_result("decline_offer", id, acd_.decline_offer(org_of_acd_call(id), id, agent, reason));
  }
  void call_ended_in_acd(const CallId& id) override {
    acd_result("call_ended", id, acd_.call_ended(org_of_acd_call(id), id));
  }

  void publish(const CallId& id, const std::string& type, json data) override {
    if (type == "call.ended") {
      // The call's final record, written here (CallFlow::end publishes call.ended just before
      // finished()). It decides: a call another node already ended (node_lost, while this node
      // was unreachable) keeps that end, and its second call.ended is not published.
      if (auto snap = flow_.snapshot(id); snap && !write_record(*snap, media_json(id))) return;
    }
    data["call_id"] = id.str();
    data["at"] = format_rfc3339(clock_.now());
    bus::Event event;
    event.topic = options_.topic;
    event.key = id.str();
    event.type = type;
    if (CallState* state = find(id)) {
      if (!state->org.empty()) {
        event.headers["org_id"] = state->org.str();
        data["org_id"] = state->org.str();
      }
    }
    event.payload = data.dump();
    auto published = bus_.publish(std::move(event), std::chrono::milliseconds(200));
    if (!published.is_ok()) {
      log_.warn("call event not published",
                {{"call_id", id.str()}, {"type", type}, {"code", std::string(published.status().code())}});
    }
    // The record follows the call from its first second.
    if (records_phase_change(type)) {
      if (auto snap = flow_.snapshot(id)) write_record(*snap, json::object());
    }
  }

  static bool records_phase_change(std::string_view type) {
    static constexpr std::array<std::string_view, 10> kTypes = {
        "call.started",     "call.ivr_choice", "call.queued",          "call.ringing", "call.answered",
        "call.transferred", "call.not_routed", "call.agent_connected", "call.held",    "call.resumed"};
    return std::find(kTypes.begin(), kTypes.end(), type) != kTypes.end();
  }

  // Returns false only when another node had already ended the record.
  bool write_record(const CallSnapshot& call, const json& media) {
    auto written = records_.write(call, media, options_.node_id);
    if (!written.is_ok()) {
      log_.error("call record not stored", {{"call_id", call.id.str()}, {"error", written.status().to_string()}});
      return true;
    }
    if (!*written) {
      log_.warn("call record already closed by another node; this end not recorded",
                {{"call_id", call.id.str()}, {"phase", std::string(call_phase_name(call.phase))}});
    }
    return *written;
  }

  json media_json(const CallId& id) {
    json media = json::object();
    CallState* state = find(id);
    if (state == nullptr) return media;
    media["caller"] = counters_json(state->caller.media);
    media["agent"] = counters_json(state->agent.media);
    if (state->consult.media) media["consult"] = counters_json(state->consult.media);
    if (!state->previous_agents.empty()) media["previous_agents"] = state->previous_agents;
    return media;
  }

  void count_lost(const Result<int>& closed) {
    if (!closed.is_ok()) {
      log_.error("lost calls not closed", {{"error", closed.status().to_string()}});
      return;
    }
    if (ended_family_ != nullptr && *closed > 0) ended_family_->Add({{"reason", "node_lost"}}).Increment(*closed);
  }

  // Heartbeat and sweep on the I/O threads, off the call strand: Store and state round trips
  // never hold up call handling.
  void schedule_heartbeat() {
    auto timer = std::make_shared<boost::asio::steady_timer>(io_);
    timer->expires_after(options_.telephony.node_heartbeat_interval);
    timer->async_wait([this, timer](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      Status beat = sweeper_->heartbeat();
      if (!beat.is_ok()) log_.error("node heartbeat not written", {{"error", beat.to_string()}});
      count_lost(sweeper_->sweep());
      schedule_heartbeat();
    });
  }

  void finished(const CallSnapshot& call) override {
    if (ended_family_ != nullptr && call.end_reason) {
      ended_family_->Add({{"reason", std::string(end_reason_name(*call.end_reason))}}).Increment();
    }
    auto it = calls_.find(call.id);
    if (it == calls_.end()) return;
    unbridge(call.id);
    stop_recording(it->second);
    stop_media(it->second);
    release_source(it->second);
    for (const auto& key :
         {it->second.caller.sip_call_id, it->second.agent.sip_call_id, it->second.consult.sip_call_id}) {
      if (!key.empty()) by_sip_call_id_.erase(key);
    }
    calls_.erase(it);
    if (active_gauge_ != nullptr) active_gauge_->Set(static_cast<double>(calls_.size()));
  }

 private:
  struct LegState {
    std::shared_ptr<rtp::MediaSession> media;
    std::unique_ptr<sdp::OfferAnswer> sdp;
    std::optional<ua::Dialog> dialog;
    std::optional<ua::ServerTransactionHandle> invite;  // inbound leg: the INVITE to answer
    std::string pending_answer;                         // inbound leg: our SDP answer
    sip::Message request;                               // outbound leg: the INVITE sent
    std::string branch;                                 // outbound leg: for CANCEL
    std::string sip_call_id;
    ua::Destination destination;  // where in-dialog requests go
    ua::TransportKind transport = ua::TransportKind::kUdp;
    bool answered = false;
    bool cancelled = false;
    bool bye_sent = false;
    uint64_t bridge_listener = 0;
    uint64_t record_listener = 0;
  };
  struct CallState {
    CallId id;
    OrgId org;
    LegState caller;
    LegState agent;
    LegState consult;                   // attended transfer: agent B's leg until it replaces the agent leg
    std::vector<json> previous_agents;  // RTP counters of agent legs replaced by a transfer
    bool bridged = false;
    std::shared_ptr<rtp::Recorder> recorder;  // when telephony.record_calls
    std::string source;                       // inbound: the address the INVITE came from
    bool source_held = false;                 // counted by source_limiter_ until the call ends
  };

  void release_source(CallState& state) {
    if (state.source_held && source_limiter_) source_limiter_->released(state.source);
    state.source_held = false;
  }

  CallState* find(const CallId& id) {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : &it->second;
  }
  static LegState& leg_of(CallState& state, Leg leg) {
    switch (leg) {
      case Leg::kCaller: return state.caller;
      case Leg::kAgent: return state.agent;
      case Leg::kConsult: return state.consult;
    }
    return state.agent;
  }

  std::shared_ptr<const rtp::WavAudio> load_prompt(const std::string& id) {
    if (auto it = prompts_.find(id); it != prompts_.end()) return it->second;
    if (options_.prompts_dir.empty()) return nullptr;
    auto loaded = rtp::load_prompt((fs::path(options_.prompts_dir) / (id + ".wav")).string());
    if (!loaded.is_ok()) {
      log_.warn("prompt not loaded", {{"prompt", id}, {"error", loaded.status().to_string()}});
      return nullptr;
    }
    prompts_[id] = *loaded;
    return *loaded;
  }

  Result<std::shared_ptr<rtp::MediaSession>> new_media(const CallId& id, Leg leg) {
    rtp::MediaSessionOptions media;
    // The consult leg is agent B: the tap and the recording hear it as the agent of this call.
    media.leg_id = id.str() + ":" + std::string(leg_name(leg));
    media.speaker = leg == Leg::kCaller ? rtp::Speaker::kCaller : rtp::Speaker::kAgent;
    media.local_address = options_.telephony.rtp_host;
    media.ports = &ports_;
    media.inactivity_timeout = options_.telephony.rtp_inactivity_timeout;
    media.max_send_without_receive = options_.telephony.rtp_send_without_receive;
    VONTRES_ASSIGN_OR_RETURN(auto session, rtp::MediaSession::create(io_, clock_, media));
    session->set_dtmf_handler([this, id, leg](const rtp::DtmfEvent& e) {
      if (e.phase != rtp::DtmfEvent::Phase::kEnd) return;
      if (rtp::MediaTap* tap = tap_; tap != nullptr) {
        tap->on_dtmf(id.str(), leg == Leg::kCaller ? rtp::Speaker::kCaller : rtp::Speaker::kAgent, e.digit,
                     clock_.now());
      }
      boost::asio::post(strand_, [this, id, leg, digit = e.digit] { flow_.on_dtmf(id, leg, digit); });
    });
    session->set_inactivity_handler(
        [this, id, leg] { boost::asio::post(strand_, [this, id, leg] { flow_.on_media_timeout(id, leg); }); });
    if (tap_ != nullptr) {
      rtp::MediaTap* tap = tap_;
      const std::string& call_id = id.str();
      const rtp::Speaker speaker = media.speaker;
      session->add_frame_listener([tap, call_id, speaker](const rtp::AudioFrame& frame) {
        if (frame.kind == rtp::FrameKind::kAudio) tap->on_audio(call_id, speaker, frame.pcm, frame.time);
      });
    }
    return session;
  }

  sdp::LocalMedia local_media(const rtp::MediaSession& media) const {
    sdp::LocalMedia local;
    local.address =
        options_.telephony.public_host.empty() ? options_.telephony.rtp_host : options_.telephony.public_host;
    local.rtp_port = media.rtp_port();
    if (media.rtcp_port() != media.rtp_port() + 1) local.rtcp_port = media.rtcp_port();
    return local;
  }

  static void apply(rtp::MediaSession& media, const sdp::NegotiatedAudio& audio) {
    media.set_codec(law_of(audio.codec), static_cast<uint8_t>(audio.payload_type),
                    audio.telephone_event_payload_type
                        ? std::optional<uint8_t>(static_cast<uint8_t>(*audio.telephone_event_payload_type))
                        : std::nullopt);
    if (audio.remote_address != "0.0.0.0" && audio.remote_rtp_port != 0) {
      media.set_remote(audio.remote_address, audio.remote_rtp_port,
                       audio.remote_rtcp_port != 0 ? audio.remote_rtcp_port : audio.remote_rtp_port + 1);
    }
  }

  void stop_media(CallState& state) {
    for (LegState* l : {&state.caller, &state.agent, &state.consult}) {
      if (l->media) {
        l->media->stop();
        l->media.reset();
      }
    }
  }

  // ---- SIP in ----
  void on_request(const ua::ServerTransactionHandle& tx) {
    const sip::Message& request = tx.request();
    const std::string& method = request.method();
    if (method == "REGISTER") {
      const ua::Peer& peer = tx.source();
      auto outcome = registrar_->handle(
          request, registrar::Flow{peer.address, peer.port, std::string(ua::transport_name(peer.transport)),
                                   trusted_.contains(peer.address)});
      tx.respond(std::move(outcome.response));
      return;
    }
    const auto call_id_header = request.header("Call-ID");
    const std::string sip_call_id = call_id_header ? std::string(*call_id_header) : std::string();
    const bool in_dialog = !ua::tag_of(request.header("To").value_or("")).empty();
    if (in_dialog) {
      on_in_dialog_request(tx, sip_call_id);
      return;
    }
    if (method == "INVITE") {
      on_inbound_invite(tx, sip_call_id);
      return;
    }
    tx.respond(method == "BYE" || method == "INFO" ? 481 : 405,
               method == "BYE" || method == "INFO" ? "Call/Transaction Does Not Exist" : "Method Not Allowed");
  }

  void reject(const ua::ServerTransactionHandle& tx, int status, std::string_view reason, const char* why,
              int retry_after = 5) {
    sip::Message response = ua::make_response(tx.request(), status, reason, tx.local_tag());
    if (status == 503) response.set_header("Retry-After", std::to_string(retry_after));
    tx.respond(std::move(response));
    if (rejected_ != nullptr) rejected_->Increment();
    log_.info("INVITE refused", {{"status", status}, {"why", why}, {"source.ip", tx.source().address}});
  }

  void on_inbound_invite(const ua::ServerTransactionHandle& tx, const std::string& sip_call_id) {
    const sip::Message& request = tx.request();
    if (by_sip_call_id_.contains(sip_call_id)) {
      reject(tx, 482, "Loop Detected", "duplicate call id");
      return;
    }
    if (calls_.size() >= options_.telephony.max_calls) {
      reject(tx, 503, "Service Unavailable", "max_calls");
      return;
    }
    if (request.body().empty()) {
      reject(tx, 488, "Not Acceptable Here", "no SDP offer");
      return;
    }
    auto offer = sdp::parse(request.body());
    if (!offer.is_ok()) {
      reject(tx, 488, "Not Acceptable Here", "malformed SDP");
      return;
    }
    // One source may not hold more than its share of calls (and so of RTP ports) nor open them
    // faster than its rate; trusted trunks are exempt (issue 11, finding 11).
    const ua::Peer& peer = tx.source();
    const auto verdict = source_limiter_->admit(peer.address);
    if (verdict != ua::SourceCallLimiter::Verdict::kAdmit) {
      reject(tx, 503, "Service Unavailable",
             verdict == ua::SourceCallLimiter::Verdict::kTooFast ? "source_invite_rate" : "source_max_calls",
             source_limiter_->retry_after_seconds(verdict));
      return;
    }
    auto refuse = [&](int status, std::string_view reason, const char* why) {
      source_limiter_->released(peer.address);
      reject(tx, status, reason, why);
    };
    const InboundTarget target = target_for_inbound(request);
    if (target.org.empty()) {
      // Nobody owns the dialled number: answering would store a call that no organisation sees.
      log_.warn("inbound call refused: no organisation owns the dialled number",
                {{"vontres.dialled", user_of(request.request_uri())},
                 {"source.address", peer.address},
                 {"vontres.sip.call_id", sip_call_id}});
      refuse(404, "Not Found", "no organisation for the dialled number");
      return;
    }
    const CallId id(ids_.next());
    auto media = new_media(id, Leg::kCaller);
    if (!media.is_ok()) {
      refuse(503, "Service Unavailable", "no media ports");
      return;
    }
    auto negotiator = std::make_unique<sdp::OfferAnswer>(local_media(**media), session_ids_++);
    auto answer = negotiator->answer(*offer);
    if (!answer.is_ok()) {
      (*media)->stop();
      refuse(488, "Not Acceptable Here", "no common codec");
      return;
    }
    apply(**media, answer->audio);
    auto dialog = ua::Dialog::from_uas(request, tx.local_tag(), stack_->contact(peer.transport));
    if (!dialog.is_ok()) {
      (*media)->stop();
      refuse(400, "Bad Request", "no dialog");
      return;
    }
    CallState& state = calls_[id];
    state.id = id;
    state.source = peer.address;
    state.source_held = true;
    state.org = target.org;
    LegState& caller = state.caller;
    caller.media = *media;
    caller.sdp = std::move(negotiator);
    caller.dialog = std::move(dialog).value();
    caller.invite = tx;
    caller.pending_answer = sdp::serialize(answer->description);
    caller.sip_call_id = sip_call_id;
    caller.transport = peer.transport;
    caller.destination = destination_of(*caller.dialog, peer);
    by_sip_call_id_[sip_call_id] = {id, Leg::kCaller};
    caller.media->start();
    if (active_gauge_ != nullptr) active_gauge_->Set(static_cast<double>(calls_.size()));

    InboundCall inbound;
    inbound.id = id;
    inbound.org = state.org;
    inbound.sip_call_id = sip_call_id;
    inbound.from = std::string(request.header("From").value_or(""));
    inbound.to = std::string(request.header("To").value_or(""));
    inbound.dialled = user_of(request.request_uri());
    inbound.queue = target.queue;
    flow_.on_inbound(inbound);
  }

  // Who an inbound call belongs to: the organisation that claimed the dialled number (and its
  // queue), else the default organisation with the configured numbers and IVR. An empty org: nobody.
  struct InboundTarget {
    OrgId org;
    std::optional<QueueId> queue;
  };
  InboundTarget target_for_inbound(const sip::Message& request) {
    if (auto claimed = numbers_.resolve(user_of(request.request_uri()))) return {claimed->org, claimed->queue};
    return {default_org(), std::nullopt};
  }

  // On the strand. telephony.default_org (an id or a name), else the only organisation; resolved
  // through the users service at most every few seconds (organisations come and go rarely).
  OrgId default_org() {
    constexpr auto kRecheck = std::chrono::seconds(5);
    const TimePoint now = clock_.now();
    if (default_org_ && now - default_org_checked_ < kRecheck) return *default_org_;
    default_org_checked_ = now;
    default_org_ = OrgId();
    if (!options_.organisations) return *default_org_;
    auto orgs = options_.organisations();
    if (!orgs.is_ok()) {
      log_.error("organisations not readable", {{"error", orgs.status().to_string()}});
      default_org_.reset();
      return OrgId();
    }
    const std::string& wanted = options_.telephony.default_org;
    if (wanted.empty()) {
      if (orgs->size() == 1) default_org_ = OrgId(orgs->front().id);
      return *default_org_;
    }
    for (const auto& org : *orgs) {
      if (org.id == wanted || org.name == wanted) default_org_ = OrgId(org.id);
    }
    if (default_org_->empty()) {
      log_.warn("telephony.default_org names no organisation", {{"vontres.default_org", wanted}});
    }
    return *default_org_;
  }

  static ua::Destination destination_of(const ua::Dialog& dialog, const ua::Peer& fallback) {
    auto to = ua::destination_for_uri(dialog.next_hop());
    if (to.is_ok()) return *to;
    return ua::Destination{fallback.transport, fallback.address, fallback.port};
  }

  void on_in_dialog_request(const ua::ServerTransactionHandle& tx, const std::string& sip_call_id) {
    const sip::Message& request = tx.request();
    auto found = by_sip_call_id_.find(sip_call_id);
    CallState* state = found == by_sip_call_id_.end() ? nullptr : find(found->second.first);
    if (state == nullptr) {
      tx.respond(481, "Call/Transaction Does Not Exist");
      return;
    }
    const Leg leg = found->second.second;
    LegState& l = leg_of(*state, leg);
    if (l.dialog) {
      switch (l.dialog->accepts(request)) {
        case ua::Dialog::Verdict::kAccept: break;
        case ua::Dialog::Verdict::kCSeqTooLow: tx.respond(500, "Server Internal Error"); return;
        case ua::Dialog::Verdict::kNotThisDialog: tx.respond(481, "Call/Transaction Does Not Exist"); return;
      }
    }
    const std::string& method = request.method();
    const CallId id = state->id;
    if (method == "BYE") {
      tx.respond(200, "OK");
      l.bye_sent = true;  // the dialog is over; never send our own BYE
      flow_.on_hangup(id, leg);
      if (leg == Leg::kConsult && l.media) l.media->stop();  // a consult leg is never reused
    } else if (method == "INVITE") {
      on_reinvite(tx, *state, leg);
    } else if (method == "INFO") {
      tx.respond(200, "OK");
      // application/dtmf-relay: "Signal=5\r\nDuration=160"
      const std::string& body = request.body();
      if (auto at = body.find("Signal="); at != std::string::npos && at + 7 < body.size()) {
        flow_.on_dtmf(id, leg, body[at + 7]);
      }
    } else if (method == "OPTIONS" || method == "UPDATE" || method == "NOTIFY") {
      tx.respond(200, "OK");
    } else {
      tx.respond(501, "Not Implemented");
    }
  }

  void on_reinvite(const ua::ServerTransactionHandle& tx, CallState& state, Leg leg) {
    LegState& l = leg_of(state, leg);
    if (!l.sdp || !l.media) {
      tx.respond(488, "Not Acceptable Here");
      return;
    }
    if (tx.request().body().empty()) {
      tx.respond(488, "Not Acceptable Here");  // late-offer re-INVITE: not supported
      return;
    }
    auto offer = sdp::parse(tx.request().body());
    if (!offer.is_ok()) {
      tx.respond(488, "Not Acceptable Here");
      return;
    }
    auto answer = l.sdp->answer(*offer);
    if (!answer.is_ok()) {
      tx.respond(488, "Not Acceptable Here");
      return;
    }
    apply(*l.media, answer->audio);
    if (l.dialog) l.dialog->update_remote_target(tx.request());
    sip::Message ok = ua::make_response(tx.request(), 200, "OK", tx.local_tag());
    ok.set_header("Contact", stack_->contact(l.transport));
    ok.set_body(sdp::serialize(answer->description), "application/sdp");
    tx.respond_reliably(std::move(ok));
    flow_.on_remote_hold(state.id, leg, answer->audio.remote_hold);
  }

  void on_cancel(const ua::ServerTransactionHandle& invite) {
    const auto header = invite.request().header("Call-ID");
    auto found = by_sip_call_id_.find(header ? std::string(*header) : std::string());
    if (found == by_sip_call_id_.end()) return;
    flow_.on_hangup(found->second.first, found->second.second);
  }

  // ---- SIP out ----
  void invite_leg(CallState& state, Leg leg, const std::string& request_uri, const ua::Destination& to,
                  const std::string& to_uri, const std::function<void(int)>& fail) {
    const CallId id = state.id;
    auto media = new_media(id, leg);
    if (!media.is_ok()) {
      fail(503);
      return;
    }
    LegState& l = leg_of(state, leg);
    // A leg rung again (next agent, another consultation) forgets the last attempt's Call-ID and
    // port; a late answer to that attempt is told apart by its Call-ID in on_leg_response.
    if (!l.sip_call_id.empty()) by_sip_call_id_.erase(l.sip_call_id);
    if (l.media) l.media->stop();
    l = LegState{};
    l.media = *media;
    l.sdp = std::make_unique<sdp::OfferAnswer>(local_media(**media), session_ids_++);
    l.transport = to.transport;
    l.destination = to;
    const std::string from_uri = "sip:vontres@" + options_.telephony.realm;
    sip::Message invite = stack_->new_request("INVITE", request_uri, from_uri, to_uri, to.transport);
    invite.set_body(sdp::serialize(l.sdp->offer()), "application/sdp");
    l.sip_call_id = std::string(invite.header("Call-ID").value_or(""));
    l.request = invite;
    by_sip_call_id_[l.sip_call_id] = {id, leg};
    auto branch = stack_->send_request(std::move(invite), to, [this, id, leg, fail](const sip::Message& response) {
      boost::asio::post(strand_, [this, id, leg, fail, response] { on_leg_response(id, leg, response, fail); });
    });
    if (!branch.is_ok()) {
      fail(503);
      return;
    }
    l.branch = *branch;
  }

  void on_leg_response(const CallId& id, Leg leg, const sip::Message& response, const std::function<void(int)>& fail) {
    const int status = response.status();
    if (status < 200) return;
    CallState* state = find(id);
    LegState* l = state == nullptr ? nullptr : &leg_of(*state, leg);
    if (l != nullptr && response.header("Call-ID").value_or("") != l->sip_call_id) l = nullptr;  // an older attempt
    if (status >= 300) {
      if (l != nullptr && !l->cancelled && !l->answered) fail(status);
      return;
    }
    // 2xx: confirm the dialog and ACK it, even when we no longer want the leg (then BYE it).
    auto dialog = ua::Dialog::from_uac(l != nullptr ? l->request : sip::Message::request("INVITE", ""), response);
    if (!dialog.is_ok()) return;
    ua::Destination to = l != nullptr ? l->destination : ua::Destination{};
    if (auto hop = ua::destination_for_uri(dialog->next_hop()); hop.is_ok() && (leg == Leg::kCaller || l == nullptr))
      to = *hop;
    (void)stack_->send_ack(dialog->make_request("ACK"), to);
    if (l == nullptr || l->cancelled || l->answered) {
      if (l == nullptr || l->cancelled)
        (void)stack_->send_request(dialog->make_request("BYE"), to, [](const sip::Message&) {});
      return;
    }
    l->dialog = std::move(dialog).value();
    l->destination = to;
    l->answered = true;
    auto agreed = sdp::parse(response.body());
    if (agreed.is_ok()) {
      auto audio = l->sdp->accept_answer(*agreed);
      if (audio.is_ok()) apply(*l->media, *audio);
    }
    l->media->allow_sending();  // the peer answered our offer: its address is confirmed
    l->media->start();
    switch (leg) {
      case Leg::kAgent: flow_.on_agent_answered(id); break;
      case Leg::kConsult: flow_.on_consult_answered(id); break;
      case Leg::kCaller: flow_.on_destination_answered(id); break;
    }
  }

  // ---- routing events ----
  void consume_routing_events() {
    while (running_) {
      auto deliveries = consumer_->poll(64, std::chrono::milliseconds(100));
      if (!deliveries.is_ok()) continue;
      for (const auto& delivery : *deliveries) {
        if (delivery.event.topic == users::events::kTopic) {
          handle_user_event(delivery.event);
        } else {
          handle_routing_event(delivery.event);
        }
        (void)consumer_->ack(delivery);
      }
    }
  }

  // A deactivated or deleted user's phones are unregistered at once (and a deleted user's SIP
  // accounts disabled); the registrar's AgentDirectory check refuses them from then on.
  void handle_user_event(const bus::Event& event) {
    const auto change = users::events::parse_user_lifecycle(event);
    if (!change || change->type == users::events::kUserReactivated) return;
    Status revoked =
        accounts_api_.revoke_agent(change->org_id, change->user_id, change->type == users::events::kUserDeleted);
    if (!revoked.is_ok()) {
      log_.error("SIP accounts of a removed user not revoked",
                 {{"user.id", change->user_id}, {"organization.id", change->org_id}, {"error.code", revoked.code()}});
    }
  }

  void handle_routing_event(const bus::Event& event) {
    json j = json::parse(event.payload, nullptr, false);
    if (j.is_discarded() || !j.contains("call_id")) return;
    const CallId id(j.value("call_id", ""));
    const std::string type = j.value("type", event.type);
    const AgentId agent(j.value("agent_id", ""));
    if (auto call = call_of_consult_acd_id(id)) {
      handle_consult_routing_event(*call, type, agent, j.value("reason", type));
      return;
    }
    boost::asio::post(strand_,
                      [this, id, type, agent, reason = j.value("reason", type), queue = j.value("queue_id", "")] {
                        if (!calls_.contains(id)) return;  // another node's call
                        if (type == "route.offered") {
                          flow_.on_offered(id, agent);
                        } else if (type == "route.timeout" || type == "route.rescinded") {
                          flow_.on_offer_withdrawn(id, agent);
                        } else if (type == "route.queued" || type == "route.overflowed" || type == "route.escalated") {
                          if (!queue.empty()) flow_.on_queued(id, QueueId(queue));
                        } else if (type == "route.rejected" || type == "route.exited" || type == "route.voicemail") {
                          flow_.on_routing_exit(id, reason);
                        }
                      });
  }

  // The ACD's answers about a call's consultation to a queue (its id is consult_acd_id(call)).
  void handle_consult_routing_event(const CallId& id, const std::string& type, const AgentId& agent,
                                    const std::string& reason) {
    boost::asio::post(strand_, [this, id, type, agent, reason] {
      if (!calls_.contains(id)) return;
      if (type == "route.offered") {
        flow_.on_consult_offered(id, agent);
      } else if (type == "route.timeout" || type == "route.rescinded") {
        flow_.on_consult_offer_withdrawn(id, agent);
      } else if (type == "route.rejected" || type == "route.exited" || type == "route.voicemail") {
        flow_.on_consult_routing_exit(id, reason);
      }
    });
  }

  void on_binding(const registrar::BindingEvent& e) {
    boost::asio::post(strand_, [this, e] {
      if (!e.agent_id.empty()) agent_users_[{e.org_id, e.agent_id}] = e.username;
    });
    if (!options_.telephony.ready_on_register || e.agent_id.empty()) return;
    const AgentId agent(e.agent_id);
    const OrgId org(e.org_id);
    const bool reachable = e.remaining_bindings > 0;
    Status s = acd_.agent_phone(org, agent, reachable);
    if (!s.is_ok()) {
      log_.info("agent presence not changed", {{"agent_id", e.agent_id}, {"code", std::string(s.code())}});
    }
  }

  // ---- timers ----
  void schedule_timer() {
    auto timer = std::make_shared<boost::asio::steady_timer>(strand_);
    timer->expires_after(std::chrono::milliseconds(100));
    timer->async_wait([this, timer](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      flow_.on_timer();
      if (registrar_) registrar_->expire();
      schedule_timer();
    });
  }

 public:
  Result<json> history(const std::string& org, int64_t limit) { return records_.history(org, limit); }

  // Runs a flow command for a call of `org` on the strand.
  Status command(const CallId& id, const std::string& org, const std::function<Status(CallFlow&)>& body) {
    auto result = run_on_strand([&]() -> Status {
      auto snap = flow_.snapshot(id);
      if (!snap || snap->org.str() != org) return not_found("no live call " + id.str(), "call_not_found");
      return body(flow_);
    });
    return result.value_or(unavailable("the call service did not answer in time", "telephony_busy"));
  }

  bool queue_exists(const OrgId& org, const QueueId& queue) {
    auto exists = acd_.queue_exists(org, queue);
    return exists.is_ok() && *exists;
  }

  // An agent id names one of `org`'s agents when the ACD knows it there or one of the
  // organisation's SIP accounts is bound to it. Errors: not_found "agent_not_found".
  Status check_agent(const std::string& org, const AgentId& agent) {
    if (agent.empty()) return not_found("no agent", "agent_not_found");
    if (auto known = acd_.agent_exists(OrgId(org), agent); known.is_ok() && *known) return Status::ok();
    VONTRES_ASSIGN_OR_RETURN(auto accounts, accounts_.list(org));
    for (const auto& account : accounts) {
      if (account.agent_id == agent.str()) return Status::ok();
    }
    return not_found("no agent " + agent.str(), "agent_not_found");
  }
  Status check_queue(const std::string& org, const QueueId& queue) {
    if (queue_exists(OrgId(org), queue)) return Status::ok();
    return not_found("no queue " + queue.str(), "queue_not_found");
  }

  Result<CallId> originate(const std::string& org, const AgentId& agent, const std::string& destination) {
    VONTRES_RETURN_IF_ERROR(check_agent(org, agent));
    auto to = ua::destination_for_uri(destination);
    if (!to.is_ok())
      return invalid_argument("destination must be a SIP URI with a numeric host", "invalid_destination");
    const CallId id(ids_.next());
    auto result = run_on_strand([&]() -> Status {
      CallState& state = calls_[id];
      state.id = id;
      state.org = OrgId(org);
      Status s = flow_.originate(id, OrgId(org), agent, destination);
      if (!s.is_ok()) calls_.erase(id);
      return s;
    });
    Status s = result.value_or(unavailable("the call service did not answer in time", "telephony_busy"));
    if (!s.is_ok()) return s;
    return id;
  }

  std::optional<CallSnapshot> snapshot(const CallId& id) {
    return run_on_strand([&] { return flow_.snapshot(id); }).value_or(std::nullopt);
  }

  registrar::SipAccountsApi& accounts_api() { return accounts_api_; }

 private:
  Clock& clock_;
  bus::EventBus& bus_;
  routing::AcdClient& acd_;
  CallServiceOptions options_;
  IdGenerator ids_;
  boost::asio::io_context io_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopped_{false};
  rtp::PortAllocator ports_;
  CallFlow flow_;  // on strand_
  registrar::StoreCredentialStore accounts_;
  NumberDirectory numbers_;
  CallRecords records_;
  std::unique_ptr<state::InProcessStateStore> own_state_;  // when options_.state is null
  std::unique_ptr<NodeSweeper> sweeper_;                   // set in start()
  registrar::SipAccountsApi accounts_api_;
  std::unique_ptr<registrar::AgentGatedCredentialStore> gated_accounts_;  // when options_.agents is set
  std::unique_ptr<registrar::DigestServer> digest_;
  std::unique_ptr<registrar::Registrar> registrar_;
  ua::AddressSet trusted_;                               // set in start(), then read-only
  std::optional<ua::SourceCallLimiter> source_limiter_;  // on strand_
  std::unique_ptr<ua::SipStack> stack_;
  std::unique_ptr<bus::Consumer> consumer_;
  std::thread consumer_thread_;
  rtp::MediaTap* tap_ = nullptr;
  log::Logger log_{"telephony"};
  // Strand-only state.
  std::map<CallId, CallState> calls_;
  std::map<std::string, std::pair<CallId, Leg>> by_sip_call_id_;
  std::map<std::pair<std::string, std::string>, std::string> agent_users_;  // (org, agent id) -> SIP username
  std::map<std::string, std::shared_ptr<const rtp::WavAudio>> prompts_;
  uint64_t session_ids_ = 1;
  std::optional<OrgId> default_org_;  // strand-only: the last resolution, re-checked after a while
  TimePoint default_org_checked_{};   // strand-only
  prometheus::Gauge* active_gauge_ = nullptr;
  prometheus::Family<prometheus::Counter>* ended_family_ = nullptr;
  prometheus::Counter* rejected_ = nullptr;
};

// ---- routes ----------------------------------------------------------------------------------

void CallService::Impl::register_routes(api::Router& router) {
  using api::Method;
  using api::Request;
  using api::Response;
  auto opts = [](std::string permission, std::string summary) {
    return api::route_options("calls", std::move(permission), std::move(summary));
  };
  // Call actions that read no body (hangup, hold, ...): whatever is sent is ignored.
  auto action_opts = [opts](std::string permission, std::string summary) {
    api::RouteOptions o = opts(std::move(permission), std::move(summary));
    o.body_ignored = true;
    return o;
  };
  auto org_of = [](const Request& req) { return req.principal->org_id; };

  // Live calls of every node: this node's from its call flow (fresh), the others' from their
  // records in the shared Store (written at every phase change), so every node answers alike.
  router.add(Method::kGet, "/api/v1/calls", opts("calls.read", "List live calls"), [this, org_of](Request& req) {
    const std::string org = org_of(req);
    json out = json::array();
    std::set<std::string> local;
    for (const auto& call : live_calls()) {
      if (call.org.str() != org) continue;
      json j = call.to_json();
      j["owner_node"] = options_.node_id;
      out.push_back(std::move(j));
      local.insert(call.id.str());
    }
    auto others = records_.open_calls_of_org(org);
    if (!others.is_ok()) return Response::error(others.status());
    for (auto& call : *others) {
      if (call.owner != options_.node_id && !local.contains(call.id)) out.push_back(std::move(call.record));
    }
    return Response::json(200, {{"calls", out}});
  });
  router.add(Method::kGet, "/api/v1/calls/history", opts("calls.read", "Ended calls, newest first"),
             [this, org_of](Request& req) {
               int64_t limit = 100;
               if (auto it = req.query.find("limit"); it != req.query.end()) {
                 try {
                   limit = std::clamp<int64_t>(std::stoll(it->second), 1, 1000);
                 } catch (const std::exception&) {
                   return Response::error(invalid_argument("limit must be a number 1..1000", "invalid_limit"));
                 }
               }
               auto records = history(org_of(req), limit);
               if (!records.is_ok()) return Response::error(records.status());
               return Response::json(200, {{"calls", *records}});
             });
  router.add(Method::kGet, "/api/v1/calls/{id}", opts("calls.read", "One live call with its media counters"),
             [this, org_of](Request& req) {
               const CallId id(req.path_params.at("id"));
               auto snap = snapshot(id);
               if (!snap || snap->org.str() != org_of(req)) {
                 // Another node's live call: its record, as of its last phase change.
                 auto record = records_.find(org_of(req), id.str());
                 if (record.is_ok() && record->value("ended_at", json()).is_null() &&
                     record->value("owner_node", "") != options_.node_id) {
                   return Response::json(200, *record);
                 }
                 return Response::error(not_found("no live call " + id.str(), "call_not_found"));
               }
               json out = snap->to_json();
               out["media"] = media_counters(id);
               return Response::json(200, out);
             });
  // `target`: the agent or queue the command names, checked against the caller's organisation.
  auto action = [this, org_of](Request& req, const std::function<Status(CallFlow&, const CallId&)>& body,
                               const AgentId& agent = {}, const QueueId& queue = {}) {
    const CallId id(req.path_params.at("id"));
    Status target = Status::ok();
    if (!agent.empty()) target = check_agent(org_of(req), agent);
    if (!queue.empty()) target = check_queue(org_of(req), queue);
    if (!target.is_ok()) return Response::error(target);
    Status s = command(id, org_of(req), [&](CallFlow& flow) { return body(flow, id); });
    if (!s.is_ok()) return Response::error(s);
    return Response::json(202, {{"call_id", id.str()}, {"accepted", true}});
  };
  router.add(
      Method::kPost, "/api/v1/calls/{id}/hangup", action_opts("calls.handle", "Hang up a call"),
      [action](Request& req) { return action(req, [](CallFlow& f, const CallId& id) { return f.hang_up(id); }); });
  router.add(
      Method::kPost, "/api/v1/calls/{id}/hold", action_opts("calls.handle", "Put the caller on hold (music)"),
      [action](Request& req) { return action(req, [](CallFlow& f, const CallId& id) { return f.hold(id, true); }); });
  router.add(
      Method::kPost, "/api/v1/calls/{id}/resume", action_opts("calls.handle", "Take the caller off hold"),
      [action](Request& req) { return action(req, [](CallFlow& f, const CallId& id) { return f.hold(id, false); }); });
  router.add(Method::kPost, "/api/v1/calls/{id}/transfer",
             opts("calls.handle", "Blind transfer to a queue ({queue_id}) or an agent ({agent_id})"),
             [action](Request& req) {
               auto body = req.json_body();
               if (!body.is_ok()) return Response::error(body.status());
               const bool to_queue = body->contains("queue_id") && (*body)["queue_id"].is_string();
               const bool to_agent = body->contains("agent_id") && (*body)["agent_id"].is_string();
               if (to_queue == to_agent) {
                 return Response::error(
                     invalid_argument("exactly one of queue_id or agent_id (string) is required", "invalid_transfer"));
               }
               if (to_agent) {
                 const AgentId agent((*body)["agent_id"].get<std::string>());
                 return action(
                     req, [agent](CallFlow& f, const CallId& id) { return f.transfer_to_agent(id, agent); }, agent);
               }
               const QueueId queue((*body)["queue_id"].get<std::string>());
               return action(
                   req, [queue](CallFlow& f, const CallId& id) { return f.transfer_to_queue(id, queue); }, {}, queue);
             });
  router.add(
      Method::kPost, "/api/v1/calls/{id}/consult",
      opts("calls.handle",
           "Attended transfer: hold the caller and consult an agent ({agent_id}) or a queue's agent ({queue_id})"),
      [action](Request& req) {
        auto body = req.json_body();
        if (!body.is_ok()) return Response::error(body.status());
        ConsultTarget target;
        if (body->contains("agent_id") && (*body)["agent_id"].is_string()) {
          target.agent = AgentId((*body)["agent_id"].get<std::string>());
        }
        if (body->contains("queue_id") && (*body)["queue_id"].is_string()) {
          target.queue = QueueId((*body)["queue_id"].get<std::string>());
        }
        if (target.agent.empty() == target.queue.empty()) {
          return Response::error(
              invalid_argument("exactly one of queue_id or agent_id (string) is required", "invalid_consult"));
        }
        return action(
            req, [target](CallFlow& f, const CallId& id) { return f.consult(id, target); }, target.agent, target.queue);
      });
  router.add(Method::kPost, "/api/v1/calls/{id}/consult/complete",
             action_opts("calls.handle", "Complete an attended transfer: the caller to the consulted agent"),
             [action](Request& req) {
               return action(req, [](CallFlow& f, const CallId& id) { return f.complete_consult(id); });
             });
  router.add(Method::kPost, "/api/v1/calls/{id}/consult/cancel",
             action_opts("calls.handle", "Cancel a consultation: the caller back to the agent"),
             [action](Request& req) {
               return action(req, [](CallFlow& f, const CallId& id) { return f.cancel_consult(id); });
             });
  router.add(Method::kPost, "/api/v1/calls",
             opts("calls.handle", "Originate (click-to-call): ring an agent, then dial"), [this, org_of](Request& req) {
               auto body = req.json_body();
               if (!body.is_ok()) return Response::error(body.status());
               if (!body->contains("agent_id") || !(*body)["agent_id"].is_string() || !body->contains("destination") ||
                   !(*body)["destination"].is_string()) {
                 return Response::error(
                     invalid_argument("agent_id and destination (strings) are required", "invalid_originate"));
               }
               auto id = originate(org_of(req), AgentId((*body)["agent_id"].get<std::string>()),
                                   (*body)["destination"].get<std::string>());
               if (!id.is_ok()) return Response::error(id.status());
               return Response::json(201, {{"call_id", id->str()}});
             });
  // The bodies of the routes above, checked by the Dispatcher before their handlers run.
  const json id_schema = {{"type", "string"}, {"minLength", 1}, {"maxLength", 128}};
  // Exactly one of the two ids is the handlers' check: the schema subset has no oneOf.
  const json target_schema = {{"type", "object"},
                              {"properties", {{"queue_id", id_schema}, {"agent_id", id_schema}}},
                              {"additionalProperties", false}};
  router.set_body_schema(Method::kPost, "/api/v1/calls/{id}/transfer", target_schema);
  router.set_body_schema(Method::kPost, "/api/v1/calls/{id}/consult", target_schema);
  router.set_body_schema(
      Method::kPost, "/api/v1/calls",
      {{"type", "object"},
       {"properties",
        {{"agent_id", id_schema}, {"destination", {{"type", "string"}, {"minLength", 1}, {"maxLength", 256}}}}},
       {"required", {"agent_id", "destination"}},
       {"additionalProperties", false}});
  accounts_api_.register_routes(router);
  numbers_.register_routes(router, [this](const OrgId& org, const QueueId& queue) { return queue_exists(org, queue); });
}

// ---- CallService -----------------------------------------------------------------------------

CallService::CallService(Clock& clock, bus::EventBus& bus, store::Store& store, routing::AcdClient& acd,
                         CallServiceOptions options)
    : impl_(std::make_unique<Impl>(clock, bus, store, acd, std::move(options))) {}

CallService::~CallService() { stop(); }

std::vector<store::Migration> CallService::migrations() {
  std::vector<store::Migration> out = registrar::StoreCredentialStore::migrations();
  for (auto& m : NumberDirectory::migrations()) out.push_back(std::move(m));
  for (auto& m : CallRecords::migrations()) out.push_back(std::move(m));
  return out;
}

Status CallService::start() { return impl_->start(); }
void CallService::stop() {
  if (impl_) impl_->stop();
}
void CallService::register_routes(api::Router& router) { impl_->register_routes(router); }
void CallService::set_media_tap(rtp::MediaTap* tap) { impl_->set_tap(tap); }
void CallService::set_recording_paused(const CallId& call, bool paused) { impl_->set_recording_paused(call, paused); }

void CallService::on_speech(const CallId& call, const std::string& text, const std::string& intent) {
  impl_->on_speech(call, text, intent);
}
uint16_t CallService::sip_port(ua::TransportKind transport) const { return impl_->sip_port(transport); }
std::vector<CallSnapshot> CallService::live_calls() { return impl_->live_calls(); }
nlohmann::json CallService::media_counters(const CallId& call) { return impl_->media_counters(call); }

}  // namespace vontres::telephony
