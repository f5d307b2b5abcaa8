// AiService: the AI shell of one `vontres serve` node. It is the call service's MediaTap: the
// decoded audio of both sides of every call goes to a bounded pool of live speech recognisers
// (stt::LiveTranscriber); each result is redacted and analysed per call (CallAnalyzer: sentiment,
// knowledge-base suggestions, script steps, in-call card protection); while the caller is in the
// IVR, what they say is classified (intent) and handed to the call flow (CallService::on_speech),
// which picks the menu option or passes the intent to the ACD. With an OpenAI-compatible endpoint
// configured, suggestions, summaries and (optionally) intent and transcription use it, always
// with the embedded result as the fallback. Nothing leaves the machine without a key.
//
// Outputs: events on the bus (topic "ai.events", key = call id): ai.transcript, ai.sentiment,
// ai.sentiment_alert, ai.intent, ai.suggestion, ai.script_progress, ai.protection_paused/resumed,
// ai.summary (kind handoff | post_call); the same messages to WebSocket clients of
// /api/v1/ai/stream (the agent desktop; ai/service/desktop_hub.h); redacted transcripts and
// summaries in the Store. Routes: the stream, GET /api/v1/calls/{id}/transcript and /summary, the
// organisation's AI settings (ai/service/settings_routes.h) and knowledge base
// (ai/service/knowledge_base.h).
//
// Threading: on_audio/on_dtmf run on media strands and never block (they hand PCM to the
// recogniser pool). Call events come from a bus consumer thread; per-call analysis runs on a
// per-call strand of a small worker pool; LLM requests on a separate pool. Public methods are
// thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "api/http.h"
#include "bus/event_bus.h"
#include "core/audit.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"
#include "store/store.h"
#include "telephony/rtp/media_tap.h"

namespace vontres::telephony {
class CallService;
}

namespace vontres::ai::service {

struct AiServiceOptions {
  AiConfig ai;
  // Words the IVR expects (menu phrases); with the intent examples they make the recogniser's grammar.
  std::vector<std::string> ivr_phrases;
  std::string knowledge_dir;         // resolved (see default_share_dir)
  std::string intent_examples_file;  // resolved; empty: no intent model (speech only matches IVR phrases)
  std::string node_id = "node-1";
  std::string topic = "ai.events";
  std::string call_topic = "call.events";
  prometheus::Registry* metrics = nullptr;
  AuditSink* audit = nullptr;  // knowledge-base changes; may be null. Must outlive the service.
};

// <dir of the executable>/../share/<name> (build tree) or <prefix>/share/vontres/<name>
// (installed), whichever exists; empty if neither.
std::string default_share_dir(const std::string& name);

class AiService final : public telephony::rtp::MediaTap {
 public:
  // Loads the knowledge base, trains the intent model and loads the recogniser (a few seconds).
  // Errors: the knowledge base's parse errors, intent training errors, stt_* errors, or
  // "llm_key_unreadable" when llm_api_key_file cannot be read.
  static Result<std::unique_ptr<AiService>> create(Clock& clock, bus::EventBus& bus, store::Store& store,
                                                   AiServiceOptions options);
  ~AiService() override;  // stop()
  AiService(const AiService&) = delete;
  AiService& operator=(const AiService&) = delete;

  static std::vector<store::Migration> migrations();

  // The call service whose calls are analysed (for IVR speech, live call lookups and pausing the
  // recording). Set before start(); it must outlive this service.
  void attach(telephony::CallService* calls);
  // Joins the call-event consumer group and starts the worker threads.
  Status start();
  // Flushes the recognisers, stops the threads. Idempotent.
  void stop();

  void register_routes(api::Router& router);

  void on_audio(std::string_view leg_id, telephony::rtp::Speaker speaker, std::span<const int16_t> pcm,
                TimePoint timestamp) override;
  void on_dtmf(std::string_view leg_id, telephony::rtp::Speaker speaker, char digit, TimePoint timestamp) override;

  class Impl;

 private:
  explicit AiService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vontres::ai::service
