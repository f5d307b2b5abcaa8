// Client for an OpenAI-compatible HTTP API: Chat Completions (plain, JSON-schema, and streamed as
// server-sent events) and audio transcriptions. Each call retries 429/5xx/connection failures with
// exponential back-off (honouring Retry-After) and goes through a circuit breaker. Without an API
// key nothing is ever sent: every call returns "llm_not_configured".
//
// Error codes (stable): llm_not_configured, llm_timeout, llm_rate_limited, llm_unavailable,
// llm_circuit_open, llm_bad_response, llm_rejected (other 4xx, with the server's message; the key is
// scrubbed from every message and log line), invalid_base_url, llm_tls_setup.
//
// Requires: the clock outlives the client. Thread-safety: all methods may be called from any
// thread concurrently; calls block (run them off the media/strand threads).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ai/llm/resilience.h"
#include "core/clock.h"
#include "core/status.h"

namespace vontres::ai::llm {

struct ClientOptions {
  std::string base_url = "https://api.openai.com/v1";  // http:// or https:// (TLS verified, SNI)
  std::string api_key;                                 // empty: not configured, no network I/O at all
  std::string chat_model = "gpt-4o-mini";
  std::string transcription_model = "whisper-1";
  std::chrono::milliseconds timeout{15000};  // per attempt (connect + request + response)
  int max_retries = 2;                       // on 429/5xx/connection errors
  std::chrono::milliseconds backoff_base{250}, backoff_max{5000};
  int breaker_failures = 5;  // consecutive failed calls open the circuit
  std::chrono::milliseconds breaker_cooldown{30000};
  // Extra CA certificates (PEM) trusted besides the system store (private gateways, tests).
  std::string ca_file;
  std::string user_agent = "vontres/0.1.0";
  // How the client waits between retries; default std::this_thread::sleep_for. Tests inject one that
  // records the delay and advances a ManualClock.
  std::function<void(std::chrono::milliseconds)> sleep;
  uint64_t jitter_seed = 0x5EED;
};

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

struct ChatRequest {
  std::vector<ChatMessage> messages;
  std::optional<nlohmann::json> json_schema;  // set: response_format json_schema (strict)
  std::string schema_name = "result";
  double temperature = 0.2;
  int max_tokens = 300;
};

struct ChatResult {
  std::string content;
  std::string finish_reason;
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

struct Transcription {
  std::string text;
  double confidence = -1.0;  // -1: unknown; else exp(mean segment avg_logprob) from verbose_json
};

// Pure request builders (exposed for tests and for reuse).
nlohmann::json build_chat_body(const ChatRequest& request, std::string_view model, bool stream);
// A mono 16-bit PCM RIFF/WAVE file.
std::string encode_wav(std::span<const int16_t> pcm, int sample_rate);
// multipart/form-data body with parts file (audio.wav, audio/wav), model, language, response_format.
std::string build_transcription_form(std::string_view boundary, std::string_view wav, std::string_view model,
                                     std::string_view language, std::string_view response_format);
// Decoders of the non-streamed responses. Errors: llm_bad_response.
Result<ChatResult> parse_chat_response(std::string_view body);
Result<Transcription> parse_transcription_response(std::string_view body);

class OpenAiClient {
 public:
  OpenAiClient(ClientOptions options, const Clock& clock);
  ~OpenAiClient();
  OpenAiClient(const OpenAiClient&) = delete;
  OpenAiClient& operator=(const OpenAiClient&) = delete;

  bool configured() const;

  Result<ChatResult> chat(const ChatRequest& request);
  // Streams the answer: `on_delta` gets each content delta in order. Gives up at `budget` (measured
  // from the call, real time) with "llm_timeout"; deltas already delivered stay delivered. Retries
  // happen only while the budget lasts and never after a delta was delivered.
  Result<ChatResult> chat_stream(const ChatRequest& request,
                                 const std::function<void(std::string_view delta)>& on_delta,
                                 std::chrono::milliseconds budget);
  // Sends `pcm` as a WAV in multipart/form-data to POST {base}/audio/transcriptions.
  Result<Transcription> transcribe(std::span<const int16_t> pcm, int sample_rate, std::string_view language = "en");

  BreakerState breaker_state() const;
  // Network exchanges attempted so far (tests check that nothing goes out without a key).
  uint64_t attempts() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vontres::ai::llm
