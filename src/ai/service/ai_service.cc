#include "ai/service/ai_service.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "ai/intent/classifier.h"
#include "ai/intent/labelled_csv.h"
#include "ai/knowledge/bm25.h"
#include "ai/knowledge/document.h"
#include "ai/llm/assist.h"
#include "ai/llm/openai_client.h"
#include "ai/sentiment/vader.h"
#include "ai/service/call_analyzer.h"
#include "ai/service/desktop_hub.h"
#include "ai/service/knowledge_base.h"
#include "ai/service/settings_routes.h"
#include "ai/stt/engine.h"
#include "ai/stt/live_transcriber.h"
#include "core/ids.h"
#include "core/log.h"
#include "telephony/call_service.h"

namespace vontres::ai::service {
namespace fs = std::filesystem;
using api::Method;
using api::Request;
using api::Response;
using nlohmann::json;

std::string default_share_dir(const std::string& name) {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  for (const fs::path& candidate : {exe.parent_path().parent_path() / "share" / name,
                                    exe.parent_path().parent_path() / "share" / "vontres" / name}) {
    if (fs::is_directory(candidate, ec)) return candidate.string();
  }
  return {};
}

namespace {

constexpr size_t kRecentUtterances = 6;

Side side_of(telephony::rtp::Speaker speaker) {
  return speaker == telephony::rtp::Speaker::kCaller ? Side::kCaller : Side::kAgent;
}

std::string stream_id(std::string_view call_id, Side side) {
  return std::string(call_id) + (side == Side::kCaller ? ":caller" : ":agent");
}

}  // namespace

class AiService::Impl {
 public:
  Impl(Clock& clock, bus::EventBus& bus, store::Store& store, AiServiceOptions options)
      : clock_(clock), bus_(bus), store_(store), options_(std::move(options)) {}

  ~Impl() { stop(); }

  Status init() {
    const AiConfig& ai = options_.ai;
    VONTRES_ASSIGN_OR_RETURN(auto default_redaction, redaction_from_classes(split_list(ai.redact)));
    settings_ = std::make_unique<AiSettings>(store_, clock_, default_redaction, ai.pause_on_card);
    // Knowledge base: the configured folder (shared), then each organisation's saved articles.
    std::vector<knowledge::Document> shared;
    if (!options_.knowledge_dir.empty()) {
      VONTRES_ASSIGN_OR_RETURN(shared, knowledge::load_directory(options_.knowledge_dir));
    }
    VONTRES_RETURN_IF_ERROR(knowledge_.load(std::move(shared)));
    // Intent model, trained at start-up.
    if (!options_.intent_examples_file.empty()) {
      VONTRES_ASSIGN_OR_RETURN(auto examples, intent::read_labelled_csv(options_.intent_examples_file));
      for (const auto& e : examples) grammar_phrases_.push_back(e.text);
      intent::IntentOptions intent_options;
      intent_options.unknown_threshold = ai.intent_threshold;
      VONTRES_ASSIGN_OR_RETURN(auto model, intent::IntentClassifier::train(examples, intent_options));
      intents_ = std::make_unique<intent::IntentClassifier>(std::move(model));
    }
    for (const auto& p : options_.ivr_phrases) grammar_phrases_.push_back(p);
    for (const char* p : {"yes", "no", "agent", "operator", "representative", "help", "sales", "support"}) {
      grammar_phrases_.emplace_back(p);
    }
    // The OpenAI-compatible client: configured only with a key.
    llm::ClientOptions client;
    client.base_url = ai.llm_base_url;
    client.api_key = ai.llm_api_key;
    if (client.api_key.empty() && !ai.llm_api_key_file.empty()) {
      std::ifstream in(ai.llm_api_key_file);
      if (!in) {
        return invalid_argument("cannot read ai.llm_api_key_file " + ai.llm_api_key_file, "llm_key_unreadable");
      }
      std::getline(in, client.api_key);
      while (!client.api_key.empty() && std::isspace(static_cast<unsigned char>(client.api_key.back()))) {
        client.api_key.pop_back();
      }
    }
    client.chat_model = ai.llm_chat_model;
    client.transcription_model = ai.llm_transcription_model;
    client.timeout = ai.llm_timeout;
    client.max_retries = ai.llm_max_retries;
    client.breaker_failures = ai.llm_breaker_failures;
    client.breaker_cooldown = ai.llm_breaker_cooldown;
    llm_ = std::make_unique<llm::OpenAiClient>(client, clock_);
    assistant_ = std::make_unique<llm::SuggestionAssistant>(*llm_, ai.llm_suggestion_budget);
    // Speech-to-text.
    VONTRES_ASSIGN_OR_RETURN(conversation_mode_, stt::parse_mode(ai.stt_conversation_mode));
    if (ai.stt_backend == "pocketsphinx") {
      stt::PocketSphinxOptions ps;
      ps.model_dir = ai.stt_model_dir;
      ps.grammar_phrases = grammar_phrases_;
      VONTRES_ASSIGN_OR_RETURN(engine_, stt::make_pocketsphinx_engine(ps));
    } else if (ai.stt_backend == "openai") {
      if (!llm_->configured()) {
        return invalid_argument("ai.stt_backend openai needs ai.llm_api_key (or llm_api_key_file)",
                                "stt_remote_not_configured");
      }
      llm::OpenAiClient* client_ptr = llm_.get();
      engine_ =
          stt::make_segmenting_engine([client_ptr](std::span<const int16_t> pcm, int rate) -> Result<stt::Hypothesis> {
            VONTRES_ASSIGN_OR_RETURN(auto t, client_ptr->transcribe(pcm, rate));
            stt::Hypothesis h;
            h.text = t.text;
            h.confidence = t.confidence < 0 ? 0.5 : t.confidence;
            h.is_final = true;
            return h;
          });
      conversation_mode_ = stt::Mode::kOpen;
    }
    if (engine_) {
      stt::LiveTranscriberOptions live;
      live.max_streams = ai.stt_max_streams;
      live.workers = ai.stt_workers > 0 ? static_cast<size_t>(ai.stt_workers)
                                        : std::max<size_t>(1, std::thread::hardware_concurrency());
      live.max_lag = ai.stt_max_lag;
      transcriber_ = std::make_unique<stt::LiveTranscriber>(*engine_, live, clock_);
    }
    init_metrics();
    log_.info("ai service ready", {{"knowledge_documents", std::to_string(knowledge_.shared_count())},
                                   {"intents", std::to_string(intents_ ? intents_->intents().size() : 0)},
                                   {"stt_backend", ai.stt_backend},
                                   {"llm_configured", llm_->configured() ? "true" : "false"}});
    return Status::ok();
  }

  void attach(telephony::CallService* calls) { calls_ = calls; }

  Status start() {
    VONTRES_ASSIGN_OR_RETURN(consumer_, bus_.subscribe({options_.call_topic}, "ai-" + options_.node_id));
    running_ = true;
    consumer_thread_ = std::thread([this] { consume_loop(); });
    timer_thread_ = std::thread([this] { timer_loop(); });
    return Status::ok();
  }

  void stop() {
    if (!running_.exchange(false)) return;
    {
      std::lock_guard lock(timer_mutex_);
      timer_cv_.notify_all();
    }
    if (consumer_thread_.joinable()) consumer_thread_.join();
    if (timer_thread_.joinable()) timer_thread_.join();
    std::vector<std::string> ids;
    {
      std::lock_guard lock(calls_mutex_);
      for (const auto& [id, ctx] : calls_by_id_) ids.push_back(id);
    }
    if (transcriber_) {
      for (const auto& id : ids) {
        transcriber_->close(stream_id(id, Side::kCaller));
        transcriber_->close(stream_id(id, Side::kAgent));
      }
    }
    work_.join();
    llm_pool_.join();
    transcriber_.reset();
    hub_.close_all("server shutting down");
  }

  // ---- media tap -------------------------------------------------------------------------

  void on_audio(std::string_view call_id, telephony::rtp::Speaker speaker, std::span<const int16_t> pcm) {
    if (!transcriber_) return;
    const Side side = side_of(speaker);
    const std::string id = stream_id(call_id, side);
    {
      std::lock_guard lock(streams_mutex_);
      if (!open_streams_.contains(id)) {
        if (closed_calls_.contains(std::string(call_id))) return;
        auto ctx = find_or_create(std::string(call_id));
        const stt::Mode mode =
            side == Side::kCaller && ctx->phase.load() == Phase::kIvr ? stt::Mode::kGrammar : conversation_mode_;
        Status opened = transcriber_->open(
            id, mode, 8000, [this, call = std::string(call_id), side](const std::string&, const stt::Hypothesis& h) {
              on_hypothesis(call, side, h);
            });
        if (!opened.is_ok()) return;
        open_streams_.insert(id);
      }
    }
    transcriber_->push(id, pcm);
  }

  void on_dtmf(std::string_view call_id, telephony::rtp::Speaker speaker, char digit) {
    auto ctx = find(std::string(call_id));
    if (!ctx) return;
    boost::asio::post(ctx->strand, [this, ctx, side = side_of(speaker), digit] {
      if (!ctx->analyzer) return;
      publish_all(*ctx, ctx->analyzer->on_dtmf(side, digit));
    });
  }

  // ---- API -------------------------------------------------------------------------------

  void register_routes(api::Router& router);

 private:
  enum class Phase { kIvr, kQueued, kRinging, kConnected, kEnded };

  struct CallCtx {
    explicit CallCtx(boost::asio::thread_pool& pool) : strand(boost::asio::make_strand(pool)) {}
    std::string id;
    std::string org;
    std::atomic<Phase> phase{Phase::kIvr};
    boost::asio::strand<boost::asio::thread_pool::executor_type> strand;
    // Below: only on the strand.
    std::unique_ptr<CallAnalyzer> analyzer;
    std::string agent;
    std::string intent;
    double intent_confidence = 0;
    bool intent_handed = false;
    int64_t seq = 0;
    std::set<std::string> handoff_sent;
    bool transferred = false;
    // What an agent joining the call should see at once: the intent, suggestions, script progress.
    std::vector<std::pair<std::string, json>> context;
  };

  std::shared_ptr<CallCtx> find(const std::string& call_id) {
    std::lock_guard lock(calls_mutex_);
    auto it = calls_by_id_.find(call_id);
    return it == calls_by_id_.end() ? nullptr : it->second;
  }

  std::shared_ptr<CallCtx> find_or_create(const std::string& call_id, const std::string& org = {}) {
    std::lock_guard lock(calls_mutex_);
    auto& slot = calls_by_id_[call_id];
    if (!slot) {
      slot = std::make_shared<CallCtx>(work_);
      slot->id = call_id;
      slot->org = org;
      boost::asio::post(slot->strand, [this, ctx = slot] { ensure_analyzer(*ctx); });
    }
    return slot;
  }

  // On the strand.
  void ensure_analyzer(CallCtx& ctx) {
    if (ctx.analyzer) return;
    AnalyzerOptions options;
    options.redaction = settings_->redaction_for(ctx.org);
    options.pause_on_card = settings_->pause_on_card_for(ctx.org);
    options.sentiment.alert_threshold = options_.ai.sentiment_alert_threshold;
    options.sentiment.alert_duration = options_.ai.sentiment_alert_after;
    options.suggester.max_suggestions = options_.ai.suggestions_max;
    options.suggester.min_interval =
        std::chrono::duration_cast<std::chrono::seconds>(options_.ai.suggestion_min_interval);
    // Suggestions come from the call's organisation's articles only.
    auto analyzer = CallAnalyzer::create(ctx.id, {vader_, knowledge_.index_for(ctx.org), clock_}, options);
    if (!analyzer.is_ok()) {
      log_.error("call analyzer not created", {{"call_id", ctx.id}, {"error", analyzer.status().to_string()}});
      return;
    }
    ctx.analyzer = std::move(*analyzer);
  }

  // Recogniser worker thread.
  void on_hypothesis(const std::string& call_id, Side side, const stt::Hypothesis& h) {
    if (h.is_final) utterances_->Increment();
    auto ctx = find(call_id);
    if (!ctx) return;
    Heard heard;
    heard.text = h.text;
    heard.confidence = h.confidence;
    heard.start_ms = h.start.count();
    heard.end_ms = h.end.count();
    heard.is_final = h.is_final;
    boost::asio::post(ctx->strand, [this, ctx, side, heard = std::move(heard)] { analyse(*ctx, side, heard); });
  }

  // On the call's strand.
  void analyse(CallCtx& ctx, Side side, const Heard& heard) {
    ensure_analyzer(ctx);
    if (!ctx.analyzer) return;
    auto events = ctx.analyzer->on_heard(side, heard);
    std::vector<json> kb_suggestions;
    for (const auto& e : events) {
      if (e.type == "ai.transcript" && heard.is_final && !e.data.value("protected", false)) {
        store_line(ctx, side, e.data);
      }
      if (e.type == "ai.suggestion") kb_suggestions.push_back(e.data);
    }
    publish_all(ctx, events);
    if (!heard.is_final || ctx.analyzer->protection_paused()) return;
    const auto& lines = ctx.analyzer->transcript();
    if (lines.empty() || lines.back().end_ms != heard.end_ms || lines.back().side != side) return;
    const std::string& redacted = lines.back().text;
    if (side == Side::kCaller && ctx.phase.load() == Phase::kIvr && !ctx.intent_handed) detect_intent(ctx, redacted);
    if (!kb_suggestions.empty() && options_.ai.llm_suggestions && llm_->configured()) {
      ask_llm_for_suggestion(ctx, kb_suggestions);
    }
  }

  void detect_intent(CallCtx& ctx, const std::string& text) {
    std::string intent_name;
    double confidence = 0;
    bool known = false;
    json alternatives = json::array();
    std::string source = "embedded";
    if (options_.ai.intent_backend == "openai" && llm_->configured() && intents_) {
      auto answer = llm::classify_intent(*llm_, text, intents_->intents());
      if (answer.is_ok()) {
        intent_name = answer->intent;
        confidence = answer->confidence;
        known = intent_name != "unknown" && confidence >= options_.ai.intent_threshold;
        source = "llm";
      } else {
        log_.warn("remote intent failed, using the embedded model",
                  {{"call_id", ctx.id}, {"code", std::string(answer.status().code())}});
      }
    }
    if (source == "embedded" && intents_) {
      const intent::Prediction p = intents_->predict(text);
      intent_name = p.intent;
      confidence = p.confidence;
      known = p.known;
      for (const auto& a : p.alternatives) alternatives.push_back({{"intent", a.intent}, {"confidence", a.confidence}});
    }
    if (intents_ || source == "llm") {
      ctx.intent = known ? intent_name : "";
      ctx.intent_confidence = confidence;
      publish(ctx, "ai.intent",
              {{"call_id", ctx.id},
               {"intent", intent_name},
               {"confidence", confidence},
               {"known", known},
               {"alternatives", alternatives},
               {"source", source},
               {"text", text}});
    }
    // The flow matches menu phrases itself; a known intent picks an option or goes to the ACD.
    if (calls_ != nullptr) {
      ctx.intent_handed = known;
      calls_->on_speech(CallId(ctx.id), text, known ? intent_name : std::string());
    }
  }

  void ask_llm_for_suggestion(CallCtx& ctx, const std::vector<json>& kb) {
    std::vector<knowledge::Suggestion> suggestions;
    for (const auto& s : kb) {
      knowledge::Suggestion k;
      k.document_id = s.value("document_id", "");
      k.title = s.value("title", "");
      k.heading = s.value("heading", "");
      k.passage = s.value("passage", "");
      k.score = s.value("score", 0.0);
      suggestions.push_back(std::move(k));
    }
    auto recent = ctx.analyzer->recent(kRecentUtterances);
    auto self = find(ctx.id);
    boost::asio::post(llm_pool_, [this, self, recent = std::move(recent), suggestions = std::move(suggestions)] {
      llm::SuggestionOutput out = assistant_->suggest(recent, suggestions);
      if (!out.from_llm) {
        llm_fallbacks_->Increment();
        return;  // the knowledge-base suggestion is already on the desktop
      }
      boost::asio::post(self->strand, [this, self, out = std::move(out)] {
        publish(*self, "ai.suggestion",
                {{"call_id", self->id},
                 {"source", "llm"},
                 {"document_id", out.article_id},
                 {"title", out.title},
                 {"text", out.text}});
      });
    });
  }

  void store_line(CallCtx& ctx, Side side, const json& data) {
    auto written = store_.execute(
        "INSERT INTO ai_transcripts (call_id, org_id, seq, speaker, start_ms, end_ms, text, confidence, "
        "created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        {ctx.id, ctx.org, ++ctx.seq, std::string(side_name(side)), data.value("start_ms", int64_t{0}),
         data.value("end_ms", int64_t{0}), data.value("text", std::string()), data.value("confidence", 0.0),
         static_cast<int64_t>(
             std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch()).count())});
    if (!written.is_ok()) {
      log_.warn("transcript line not stored", {{"call_id", ctx.id}, {"error", written.status().to_string()}});
    }
  }

  void publish_all(CallCtx& ctx, const std::vector<AnalyzerEvent>& events) {
    for (const auto& e : events) {
      if (e.type == "ai.protection_paused" || e.type == "ai.protection_resumed") {
        if (calls_ != nullptr) calls_->set_recording_paused(CallId(ctx.id), e.type == "ai.protection_paused");
      }
      publish(ctx, e.type, e.data);
    }
  }

  void publish(CallCtx& ctx, const std::string& type, json data) {
    data["at"] = format_rfc3339(clock_.now());
    if (!ctx.org.empty()) data["org_id"] = ctx.org;
    bus::Event event;
    event.topic = options_.topic;
    event.key = ctx.id;
    event.type = type;
    if (!ctx.org.empty()) event.headers["org_id"] = ctx.org;
    event.payload = data.dump();
    auto published = bus_.publish(event, std::chrono::milliseconds(200));
    if (!published.is_ok()) {
      publish_failures_->Increment();
      log_.warn("ai event not published",
                {{"call_id", ctx.id}, {"type", type}, {"code", std::string(published.status().code())}});
    }
    events_published_->Increment();
    if (type == "ai.intent" || type == "ai.suggestion" || type == "ai.script_progress") {
      if (ctx.context.size() >= 32) ctx.context.erase(ctx.context.begin());
      ctx.context.emplace_back(type, data);
    }
    fan_out(ctx, type, data);
  }

  // On the strand, when an agent answers: what was found before they joined (in the IVR or the
  // queue), to that agent's desktop only, marked as a replay.
  void replay_context(const CallCtx& ctx) {
    for (const auto& [type, data] : ctx.context) {
      json copy = data;
      copy["for_agent"] = ctx.agent;
      copy["replay"] = true;
      fan_out(ctx, type, copy, true);
    }
  }

  // `agents_only`: only subscribers following an agent (a replay supervisors have already seen).
  void fan_out(const CallCtx& ctx, const std::string& type, const json& data, bool agents_only = false) {
    hub_.fan_out(HubCall{ctx.id, ctx.org, ctx.agent}, type, data, agents_only);
  }

  // ---- call events -----------------------------------------------------------------------

  void consume_loop() {
    while (running_) {
      auto batch = consumer_->poll(64, std::chrono::milliseconds(200));
      if (!batch.is_ok()) {
        log_.warn("call events not polled", {{"error", batch.status().to_string()}});
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      for (const auto& delivery : *batch) {
        handle_call_event(delivery.event);
        (void)consumer_->ack(delivery);
      }
    }
  }

  std::string agent_of(const std::string& call_id) {
    if (calls_ == nullptr) return {};
    for (const auto& snap : calls_->live_calls()) {
      if (snap.id.str() == call_id) return snap.agent.str();
    }
    return {};
  }

  void handle_call_event(const bus::Event& event) {
    json data = json::parse(event.payload, nullptr, false);
    if (data.is_discarded()) return;
    const std::string call_id = data.value("call_id", event.key);
    if (call_id.empty()) return;
    const std::string& type = event.type;
    if (type == "call.started") {
      {
        std::lock_guard lock(streams_mutex_);
        closed_calls_.erase(call_id);
      }
      auto ctx = find_or_create(call_id, data.value("org_id", std::string()));
      if (ctx->org.empty()) ctx->org = data.value("org_id", std::string());
      return;
    }
    auto ctx = find(call_id);
    if (!ctx) return;
    if (type == "call.queued") {
      ctx->phase = Phase::kQueued;
      boost::asio::post(ctx->strand, [ctx, intent = data.value("intent", std::string())] {
        if (!intent.empty()) ctx->intent = intent;
        ctx->intent_handed = true;
      });
    } else if (type == "call.ringing" || type == "call.consult_started") {
      const bool consult = type == "call.consult_started";
      if (!consult) ctx->phase = Phase::kRinging;
      // Call events name the agent "agent"; older producers wrote "agent_id" / "to_agent".
      std::string agent = data.value("to_agent", data.value("agent_id", std::string()));
      if (agent.empty()) agent = data.value(consult ? "consult_agent" : "agent", std::string());
      if (agent.empty()) agent = agent_of(call_id);
      boost::asio::post(ctx->strand, [this, ctx, agent, consult] {
        if (!consult) ctx->agent = agent;
        if ((ctx->transferred || consult) && !agent.empty() && !ctx->handoff_sent.contains(agent)) {
          ctx->handoff_sent.insert(agent);
          send_summary(ctx, "handoff", agent);
        }
      });
    } else if (type == "call.answered") {
      ctx->phase = Phase::kConnected;
      std::string agent = data.value("agent", data.value("agent_id", std::string()));
      if (agent.empty()) agent = agent_of(call_id);
      boost::asio::post(ctx->strand, [this, ctx, agent] {
        if (agent.empty()) return;
        ctx->agent = agent;
        replay_context(*ctx);
      });
      if (transcriber_) transcriber_->set_mode(stream_id(call_id, Side::kCaller), conversation_mode_);
    } else if (type == "call.transferred") {
      const std::string to_agent = data.value("to_agent", std::string());
      boost::asio::post(ctx->strand, [this, ctx, to_agent] {
        ctx->transferred = true;
        if (!to_agent.empty() && !ctx->handoff_sent.contains(to_agent)) {
          ctx->handoff_sent.insert(to_agent);
          send_summary(ctx, "handoff", to_agent);
        }
      });
    } else if (type == "call.ended") {
      ctx->phase = Phase::kEnded;
      {
        std::lock_guard lock(streams_mutex_);
        closed_calls_.insert(call_id);
        open_streams_.erase(stream_id(call_id, Side::kCaller));
        open_streams_.erase(stream_id(call_id, Side::kAgent));
        if (closed_calls_.size() > 10'000) closed_calls_.clear();
      }
      if (transcriber_) {
        // Flushes: the last finals are posted to the strand before the summary below.
        transcriber_->close(stream_id(call_id, Side::kCaller));
        transcriber_->close(stream_id(call_id, Side::kAgent));
      }
      const std::string disposition = data.value("reason", std::string("ended"));
      boost::asio::post(ctx->strand, [this, ctx, disposition] {
        send_summary(ctx, "post_call", {}, disposition);
        std::lock_guard lock(calls_mutex_);
        calls_by_id_.erase(ctx->id);
      });
    }
  }

  // On the strand. Extractive summary at once; with an LLM, its summary follows (or replaces it for
  // the post-call record).
  void send_summary(const std::shared_ptr<CallCtx>& ctx, const std::string& kind, const std::string& for_agent,
                    const std::string& disposition = {}) {
    ensure_analyzer(*ctx);
    if (!ctx->analyzer) return;
    std::vector<llm::TranscriptLine> lines;
    for (const auto& l : ctx->analyzer->transcript()) {
      lines.push_back({std::string(side_name(l.side)), l.text, l.sentiment});
    }
    const llm::ExtractiveSummary extractive = llm::extractive_summary(lines, ctx->intent, disposition);
    json summary = {{"call_id", ctx->id},
                    {"kind", kind},
                    {"source", "extractive"},
                    {"intent", ctx->intent},
                    {"key_sentences", extractive.key_sentences},
                    {"sentiment_arc", extractive.sentiment_arc},
                    {"text", extractive.text}};
    if (auto rolling = ctx->analyzer->rolling_score(Side::kCaller)) summary["caller_sentiment"] = *rolling;
    if (!disposition.empty()) summary["disposition"] = disposition;
    if (!for_agent.empty()) summary["for_agent"] = for_agent;
    if (kind == "post_call") store_summary(*ctx, summary);
    publish(*ctx, "ai.summary", summary);
    if (!llm_->configured() || !options_.ai.llm_summaries || lines.empty()) return;
    const llm::SummaryKind llm_kind = kind == "handoff" ? llm::SummaryKind::kHandoff : llm::SummaryKind::kPostCall;
    boost::asio::post(llm_pool_, [this, ctx, llm_kind, lines = std::move(lines), summary]() mutable {
      auto text = llm::summarize_call(*llm_, llm_kind, lines, ctx->intent);
      if (!text.is_ok()) {
        llm_fallbacks_->Increment();
        return;
      }
      summary["source"] = "llm";
      summary["text"] = *text;
      if (summary["kind"] == "post_call") store_summary(*ctx, summary);
      publish(*ctx, "ai.summary", summary);
    });
  }

  void store_summary(const CallCtx& ctx, const json& summary) {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch()).count();
    auto written = store_.transaction([&](store::Session& s) -> Status {
      VONTRES_RETURN_IF_ERROR(s.execute("DELETE FROM ai_summaries WHERE call_id = $1", {ctx.id}).status());
      return s
          .execute("INSERT INTO ai_summaries (call_id, org_id, summary, created_at_ms) VALUES ($1, $2, $3, $4)",
                   {ctx.id, ctx.org, summary.dump(), now})
          .status();
    });
    if (!written.is_ok()) log_.warn("summary not stored", {{"call_id", ctx.id}, {"error", written.to_string()}});
  }

  void timer_loop() {
    while (running_) {
      {
        std::unique_lock lock(timer_mutex_);
        timer_cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return !running_; });
      }
      if (!running_) break;
      std::vector<std::shared_ptr<CallCtx>> all;
      {
        std::lock_guard lock(calls_mutex_);
        for (const auto& [id, ctx] : calls_by_id_) all.push_back(ctx);
      }
      for (const auto& ctx : all) {
        boost::asio::post(ctx->strand, [this, ctx] {
          if (ctx->analyzer) publish_all(*ctx, ctx->analyzer->poll());
        });
      }
      if (transcriber_) {
        const stt::LiveStats s = transcriber_->stats();
        stt_active_->Set(static_cast<double>(s.streams_active));
        stt_waiting_->Set(static_cast<double>(s.streams_waiting));
        stt_dropped_->Set(static_cast<double>(s.frames_dropped));
        stt_skipped_->Set(static_cast<double>(s.streams_skipped));
        if (s.audio_seconds > 0) stt_rtf_->Set(s.decode_seconds / s.audio_seconds);
      }
    }
  }

  void init_metrics() {
    if (options_.metrics == nullptr) {
      own_metrics_ = std::make_unique<prometheus::Registry>();
      options_.metrics = own_metrics_.get();
    }
    auto& registry = *options_.metrics;
    auto& gauges = prometheus::BuildGauge().Name("vontres_ai_stt").Help("Live speech recognition").Register(registry);
    stt_active_ = &gauges.Add({{"state", "active_streams"}});
    stt_waiting_ = &gauges.Add({{"state", "waiting_streams"}});
    stt_dropped_ = &gauges.Add({{"state", "frames_dropped"}});
    stt_skipped_ = &gauges.Add({{"state", "streams_skipped"}});
    stt_rtf_ = &gauges.Add({{"state", "real_time_factor"}});
    auto& counters =
        prometheus::BuildCounter().Name("vontres_ai_events_total").Help("AI service outputs").Register(registry);
    events_published_ = &counters.Add({{"outcome", "published"}});
    publish_failures_ = &counters.Add({{"outcome", "publish_failed"}});
    utterances_ = &counters.Add({{"outcome", "utterance"}});
    llm_fallbacks_ = &counters.Add({{"outcome", "llm_fallback"}});
  }

  friend class AiService;

  Clock& clock_;
  bus::EventBus& bus_;
  store::Store& store_;
  AiServiceOptions options_;
  log::Logger log_{"ai"};
  telephony::CallService* calls_ = nullptr;

  sentiment::SentimentAnalyzer vader_;
  KnowledgeBase knowledge_{store_, clock_, options_.audit};
  std::unique_ptr<intent::IntentClassifier> intents_;
  std::vector<std::string> grammar_phrases_;
  std::unique_ptr<AiSettings> settings_;  // set by init()
  std::unique_ptr<llm::OpenAiClient> llm_;
  std::unique_ptr<llm::SuggestionAssistant> assistant_;
  std::unique_ptr<stt::Engine> engine_;
  std::unique_ptr<stt::LiveTranscriber> transcriber_;
  stt::Mode conversation_mode_ = stt::Mode::kOpen;

  boost::asio::thread_pool work_{2};
  boost::asio::thread_pool llm_pool_{4};
  std::unique_ptr<bus::Consumer> consumer_;
  std::atomic<bool> running_{false};
  std::thread consumer_thread_;
  std::thread timer_thread_;
  std::mutex timer_mutex_;
  std::condition_variable timer_cv_;

  std::mutex calls_mutex_;
  std::map<std::string, std::shared_ptr<CallCtx>> calls_by_id_;  // GUARDED_BY(calls_mutex_)
  std::mutex streams_mutex_;
  std::set<std::string> open_streams_;  // GUARDED_BY(streams_mutex_)
  std::set<std::string> closed_calls_;  // GUARDED_BY(streams_mutex_)

  DesktopHub hub_;

  std::unique_ptr<prometheus::Registry> own_metrics_;
  prometheus::Gauge* stt_active_ = nullptr;
  prometheus::Gauge* stt_waiting_ = nullptr;
  prometheus::Gauge* stt_dropped_ = nullptr;
  prometheus::Gauge* stt_skipped_ = nullptr;
  prometheus::Gauge* stt_rtf_ = nullptr;
  prometheus::Counter* events_published_ = nullptr;
  prometheus::Counter* publish_failures_ = nullptr;
  prometheus::Counter* utterances_ = nullptr;
  prometheus::Counter* llm_fallbacks_ = nullptr;
};

// ---- routes ------------------------------------------------------------------------------

void AiService::Impl::register_routes(api::Router& router) {
  auto opts = [](std::string permission, std::string summary) {
    return api::route_options("ai", std::move(permission), std::move(summary));
  };

  hub_.register_routes(router);

  router.add(Method::kGet, "/api/v1/calls/{id}/transcript", opts("calls.read", "Redacted transcript of a call"),
             [this](Request& req) {
               auto rows = store_.query(
                   "SELECT seq, speaker, start_ms, end_ms, text, confidence FROM ai_transcripts WHERE call_id = $1 "
                   "AND org_id = $2 ORDER BY seq",
                   {req.path_params.at("id"), req.principal->org_id});
               if (!rows.is_ok()) return Response::error(rows.status());
               if (rows->rows.empty()) {
                 // Nothing stored: a live call of the organisation has an empty transcript so far;
                 // any other id (another organisation's call, no call at all) is not found.
                 auto ctx = find(req.path_params.at("id"));
                 if (!ctx || ctx->org != req.principal->org_id) {
                   return Response::error(not_found("no call " + req.path_params.at("id"), "call_not_found"));
                 }
               }
               json lines = json::array();
               for (const auto& r : rows->rows) {
                 lines.push_back({{"seq", r.get_int(0)},
                                  {"speaker", r.get_string(1)},
                                  {"start_ms", r.get_int(2)},
                                  {"end_ms", r.get_int(3)},
                                  {"text", r.get_string(4)},
                                  {"confidence", r.get_double(5)}});
               }
               return Response::json(200, {{"call_id", req.path_params.at("id")}, {"lines", lines}});
             });
  router.add(
      Method::kGet, "/api/v1/calls/{id}/summary", opts("calls.read", "Post-call summary of a call"),
      [this](Request& req) {
        auto rows = store_.query("SELECT summary FROM ai_summaries WHERE call_id = $1 AND org_id = $2",
                                 {req.path_params.at("id"), req.principal->org_id});
        if (!rows.is_ok()) return Response::error(rows.status());
        if (rows->empty()) {
          return Response::error(not_found("no summary for call " + req.path_params.at("id"), "summary_not_found"));
        }
        return Response::json(200, json::parse((*rows)[0].get_string(0), nullptr, false));
      });

  settings_->register_routes(router, {llm_->configured(), options_.ai.stt_backend});
  knowledge_.register_routes(router);
}

// ---- AiService -----------------------------------------------------------------------------

AiService::AiService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AiService::~AiService() = default;

Result<std::unique_ptr<AiService>> AiService::create(Clock& clock, bus::EventBus& bus, store::Store& store,
                                                     AiServiceOptions options) {
  auto impl = std::make_unique<Impl>(clock, bus, store, std::move(options));
  VONTRES_RETURN_IF_ERROR(impl->init());
  return std::unique_ptr<AiService>(new AiService(std::move(impl)));  // NOLINT(cppcoreguidelines-owning-memory)
}

std::vector<store::Migration> AiService::migrations() {
  return {{"ai", 1, "transcripts, summaries, settings, knowledge articles",
           // Millisecond times are BIGINT (PostgreSQL's INTEGER is 32-bit) and the confidence DOUBLE
           // PRECISION (its REAL is 32-bit); SQLite gives both the same affinity as before.
           "CREATE TABLE ai_transcripts (call_id TEXT NOT NULL, org_id TEXT NOT NULL, seq INTEGER NOT NULL, "
           "speaker TEXT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, text TEXT NOT NULL, "
           "confidence DOUBLE PRECISION NOT NULL, created_at_ms BIGINT NOT NULL, PRIMARY KEY (call_id, seq));"
           "CREATE TABLE ai_summaries (call_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, summary TEXT NOT NULL, "
           "created_at_ms BIGINT NOT NULL);"
           "CREATE TABLE ai_settings (org_id TEXT PRIMARY KEY, settings TEXT NOT NULL, updated_at_ms BIGINT NOT NULL);"
           "CREATE TABLE kb_articles (id TEXT PRIMARY KEY, markdown TEXT NOT NULL, deleted INTEGER NOT NULL, "
           "updated_at_ms BIGINT NOT NULL)"},
          KnowledgeBase::migration()};
}

void AiService::attach(telephony::CallService* calls) { impl_->attach(calls); }
Status AiService::start() { return impl_->start(); }
void AiService::stop() { impl_->stop(); }
void AiService::register_routes(api::Router& router) { impl_->register_routes(router); }

void AiService::on_audio(std::string_view leg_id, telephony::rtp::Speaker speaker, std::span<const int16_t> pcm,
                         TimePoint /*timestamp*/) {
  impl_->on_audio(leg_id, speaker, pcm);
}

void AiService::on_dtmf(std::string_view leg_id, telephony::rtp::Speaker speaker, char digit, TimePoint /*timestamp*/) {
  impl_->on_dtmf(leg_id, speaker, digit);
}

}  // namespace vontres::ai::service
