#include "ai/llm/openai_client.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include "ai/llm/detail/http_transport.h"
#include "ai/llm/sse.h"
#include "core/log.h"

namespace vontres::ai::llm {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;

void put_le(std::string& out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFU));
}

std::string replace_all(std::string text, std::string_view needle, std::string_view replacement) {
  if (needle.empty()) return text;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + replacement.size())) {
    text.replace(at, needle.size(), replacement);
  }
  return text;
}

// The server's error message: {"error": {"message": ...}} when present, else the start of the body.
std::string error_message(const detail::HttpResponse& response) {
  const auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_object()) {
    const auto error = json.find("error");
    if (error != json.end() && error->is_object()) {
      const auto message = error->find("message");
      if (message != error->end() && message->is_string()) return message->get<std::string>();
    }
  }
  std::string text = response.body.substr(0, 200);
  return text.empty() ? "HTTP " + std::to_string(response.status) : text;
}

// Maps a non-2xx response to an error; sets `retry_after` from the header on 429/503.
Status status_for(const detail::HttpResponse& response, TimePoint now, std::optional<milliseconds>& retry_after) {
  const std::string prefix = "HTTP " + std::to_string(response.status) + ": ";
  if (response.status == 429 || response.status == 503) {
    if (const auto header = response.headers.find("retry-after"); header != response.headers.end()) {
      retry_after = parse_retry_after(header->second, now);
    }
  }
  if (response.status == 429) return resource_exhausted(prefix + error_message(response), "llm_rate_limited");
  if (response.status >= 500 || response.status == 408) {
    return unavailable(prefix + error_message(response), "llm_unavailable");
  }
  if (response.status >= 400) return failed_precondition(prefix + error_message(response), "llm_rejected");
  return invalid_argument(prefix + "unexpected status", "llm_bad_response");
}

bool is_success(int status) { return status >= 200 && status < 300; }

}  // namespace

nlohmann::json build_chat_body(const ChatRequest& request, std::string_view model, bool stream) {
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& message : request.messages) {
    messages.push_back({{"role", message.role}, {"content", message.content}});
  }
  nlohmann::json body = {{"model", model},
                         {"messages", std::move(messages)},
                         {"temperature", request.temperature},
                         {"max_tokens", request.max_tokens}};
  if (request.json_schema) {
    body["response_format"] = {
        {"type", "json_schema"},
        {"json_schema", {{"name", request.schema_name}, {"schema", *request.json_schema}, {"strict", true}}}};
  }
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  return body;
}

std::string encode_wav(std::span<const int16_t> pcm, int sample_rate) {
  const auto data_bytes = static_cast<uint32_t>(pcm.size() * 2);
  std::string out;
  out.reserve(44 + data_bytes);
  out.append("RIFF");
  put_le(out, 36 + data_bytes, 4);
  out.append("WAVEfmt ");
  put_le(out, 16, 4);                                      // fmt chunk size
  put_le(out, 1, 2);                                       // PCM
  put_le(out, 1, 2);                                       // mono
  put_le(out, static_cast<uint32_t>(sample_rate), 4);      // sample rate
  put_le(out, static_cast<uint32_t>(sample_rate) * 2, 4);  // byte rate
  put_le(out, 2, 2);                                       // block align
  put_le(out, 16, 2);                                      // bits per sample
  out.append("data");
  put_le(out, data_bytes, 4);
  for (const int16_t sample : pcm) put_le(out, static_cast<uint16_t>(sample), 2);
  return out;
}

std::string build_transcription_form(std::string_view boundary, std::string_view wav, std::string_view model,
                                     std::string_view language, std::string_view response_format) {
  std::string out;
  const auto field = [&](std::string_view name, std::string_view value) {
    out.append("--").append(boundary).append("\r\n");
    out.append("Content-Disposition: form-data; name=\"").append(name).append("\"\r\n\r\n");
    out.append(value).append("\r\n");
  };
  out.append("--").append(boundary).append("\r\n");
  out.append("Content-Disposition: form-data; name=\"file\"; filename=\"audio.wav\"\r\n");
  out.append("Content-Type: audio/wav\r\n\r\n");
  out.append(wav).append("\r\n");
  field("model", model);
  if (!language.empty()) field("language", language);
  field("response_format", response_format);
  out.append("--").append(boundary).append("--\r\n");
  return out;
}

Result<ChatResult> parse_chat_response(std::string_view body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return invalid_argument("response is not JSON", "llm_bad_response");
  const auto choices = json.find("choices");
  if (choices == json.end() || !choices->is_array() || choices->empty() || !choices->front().is_object()) {
    return invalid_argument("response without choices", "llm_bad_response");
  }
  const auto& choice = choices->front();
  const auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) {
    return invalid_argument("choice without a message", "llm_bad_response");
  }
  ChatResult result;
  const auto content = message->find("content");
  if (content != message->end() && content->is_string()) {
    result.content = content->get<std::string>();
  } else {
    const auto refusal = message->find("refusal");
    if (refusal != message->end() && refusal->is_string()) {
      return failed_precondition("model refused: " + refusal->get<std::string>(), "llm_rejected");
    }
    return invalid_argument("message without string content", "llm_bad_response");
  }
  if (const auto finish = choice.find("finish_reason"); finish != choice.end() && finish->is_string()) {
    result.finish_reason = finish->get<std::string>();
  }
  if (const auto usage = json.find("usage"); usage != json.end() && usage->is_object()) {
    result.prompt_tokens = usage->value("prompt_tokens", 0);
    result.completion_tokens = usage->value("completion_tokens", 0);
  }
  return result;
}

Result<Transcription> parse_transcription_response(std::string_view body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return invalid_argument("response is not JSON", "llm_bad_response");
  const auto text = json.find("text");
  if (text == json.end() || !text->is_string()) return invalid_argument("response without text", "llm_bad_response");
  Transcription result;
  result.text = text->get<std::string>();
  if (const auto segments = json.find("segments"); segments != json.end() && segments->is_array()) {
    double sum = 0;
    int count = 0;
    for (const auto& segment : *segments) {
      if (!segment.is_object()) continue;
      const auto logprob = segment.find("avg_logprob");
      if (logprob != segment.end() && logprob->is_number()) {
        sum += logprob->get<double>();
        ++count;
      }
    }
    if (count > 0) result.confidence = std::clamp(std::exp(sum / count), 0.0, 1.0);
  }
  return result;
}

struct OpenAiClient::Impl {
  Impl(ClientOptions options_in, const Clock& clock_in)
      : options(std::move(options_in)),
        clock(clock_in),
        breaker(clock_in, options.breaker_failures, options.breaker_cooldown),
        rng(options.jitter_seed) {
    if (!options.sleep) options.sleep = [](milliseconds delay) { std::this_thread::sleep_for(delay); };
    if (options.api_key.empty()) return;  // not configured: never touch the network
    auto parsed = detail::parse_base_url(options.base_url);
    if (!parsed) {
      setup_error = parsed.status();
      return;
    }
    endpoint = std::move(parsed).value();
    if (endpoint.tls) {
      auto context = detail::TlsContext::create(options.ca_file);
      if (!context) {
        setup_error = context.status();
        return;
      }
      tls = std::move(context).value();
    }
  }

  Status scrub(const Status& status) const {
    if (status.is_ok() || options.api_key.empty() || status.message().find(options.api_key) == std::string::npos) {
      return status;
    }
    return {status.kind(), std::string(status.code()), replace_all(status.message(), options.api_key, "[redacted]")};
  }

  std::vector<std::pair<std::string, std::string>> headers(std::string_view content_type,
                                                           std::string_view accept) const {
    return {{"Authorization", "Bearer " + options.api_key},
            {"Content-Type", std::string(content_type)},
            {"Accept", std::string(accept)},
            {"User-Agent", options.user_agent}};
  }

  // A fresh multipart boundary per request (hex of the jitter generator's next draw).
  std::string next_boundary() {
    const std::lock_guard lock(rng_mutex);
    uint64_t draw = 0;
    for (int i = 0; i < 4; ++i) {
      draw = (draw << 16U) ^
             static_cast<uint64_t>(backoff_delay(0, milliseconds(65535), milliseconds(65535), rng).count());
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string boundary = "vontres-boundary-";
    for (int shift = 60; shift >= 0; shift -= 4)
      boundary.push_back(kHex[(draw >> static_cast<unsigned>(shift)) & 0xFU]);
    return boundary;
  }

  milliseconds jittered_backoff(int attempt) {
    const std::lock_guard lock(rng_mutex);
    return backoff_delay(attempt, options.backoff_base, options.backoff_max, rng);
  }

  // One attempt: performs the exchange and decodes it. `retry_after` is set from a 429/503 header.
  template <typename T>
  using AttemptFn = std::function<Result<T>(SteadyTime deadline, std::optional<milliseconds>& retry_after)>;

  // Runs `attempt` with retries and the circuit breaker. `budget_end`, when set, bounds everything;
  // `may_retry` can veto a retry (a stream that already delivered text).
  template <typename T>
  Result<T> run(std::string_view operation, std::optional<SteadyTime> budget_end, const AttemptFn<T>& attempt,
                const std::function<bool()>& may_retry) {
    if (options.api_key.empty()) return failed_precondition("no LLM API key configured", "llm_not_configured");
    if (!setup_error.is_ok()) return setup_error;
    if (!breaker.allow()) return unavailable("LLM circuit breaker is open", "llm_circuit_open");
    Status last;
    for (int retry = 0;; ++retry) {
      SteadyTime deadline = std::chrono::steady_clock::now() + options.timeout;
      if (budget_end) deadline = std::min(deadline, *budget_end);
      std::optional<milliseconds> retry_after;
      attempts.fetch_add(1);
      Result<T> result = attempt(deadline, retry_after);
      if (result) {
        breaker.record_success();
        return result;
      }
      last = scrub(result.status());
      const bool retryable = last.code() == "llm_rate_limited" || last.code() == "llm_unavailable";
      if (!retryable || retry >= options.max_retries || (may_retry && !may_retry())) break;
      milliseconds delay = retry_after ? std::min(*retry_after, options.backoff_max) : jittered_backoff(retry);
      if (budget_end && std::chrono::steady_clock::now() + delay >= *budget_end) break;
      log.warn("LLM request failed; retrying", {{"llm.operation", std::string(operation)},
                                                {"error.code", std::string(last.code())},
                                                {"error.message", last.message()},
                                                {"llm.retry", retry + 1},
                                                {"llm.delay_ms", delay.count()}});
      options.sleep(delay);
    }
    // A refusal of this one request says nothing about the service's health.
    if (last.code() == "llm_rejected") {
      breaker.record_success();
    } else {
      breaker.record_failure();
    }
    log.warn("LLM request failed", {{"llm.operation", std::string(operation)},
                                    {"error.code", std::string(last.code())},
                                    {"error.message", last.message()}});
    return last;
  }

  ClientOptions options;
  const Clock& clock;
  CircuitBreaker breaker;
  std::mutex rng_mutex;
  uint64_t rng;  // GUARDED_BY(rng_mutex)
  detail::Endpoint endpoint;
  std::shared_ptr<detail::TlsContext> tls;
  Status setup_error;
  std::atomic<uint64_t> attempts{0};
  log::Logger log{"llm"};
};

OpenAiClient::OpenAiClient(ClientOptions options, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), clock)) {}

OpenAiClient::~OpenAiClient() = default;

bool OpenAiClient::configured() const { return !impl_->options.api_key.empty() && impl_->setup_error.is_ok(); }

BreakerState OpenAiClient::breaker_state() const { return impl_->breaker.state(); }

uint64_t OpenAiClient::attempts() const { return impl_->attempts.load(); }

Result<ChatResult> OpenAiClient::chat(const ChatRequest& request) {
  Impl& impl = *impl_;
  const Impl::AttemptFn<ChatResult> attempt = [&](SteadyTime deadline, std::optional<milliseconds>& retry_after) {
    detail::HttpRequest http;
    http.target = impl.endpoint.base_path + "/chat/completions";
    http.headers = impl.headers("application/json", "application/json");
    http.body = build_chat_body(request, impl.options.chat_model, false).dump();
    auto response = detail::perform_http(impl.endpoint, http, deadline, impl.tls.get(), {});
    if (!response) return Result<ChatResult>(response.status());
    if (!is_success(response->status)) return Result<ChatResult>(status_for(*response, impl.clock.now(), retry_after));
    return parse_chat_response(response->body);
  };
  return impl.run<ChatResult>("chat", std::nullopt, attempt, {});
}

Result<ChatResult> OpenAiClient::chat_stream(const ChatRequest& request,
                                             const std::function<void(std::string_view delta)>& on_delta,
                                             std::chrono::milliseconds budget) {
  Impl& impl = *impl_;
  const SteadyTime budget_end = std::chrono::steady_clock::now() + budget;
  bool delivered = false;
  const Impl::AttemptFn<ChatResult> attempt = [&](SteadyTime deadline, std::optional<milliseconds>& retry_after) {
    detail::HttpRequest http;
    http.target = impl.endpoint.base_path + "/chat/completions";
    http.headers = impl.headers("application/json", "text/event-stream");
    http.body = build_chat_body(request, impl.options.chat_model, true).dump();
    SseParser parser;
    std::vector<SseEvent> events;
    ChatResult result;
    Status stream_error;
    bool done = false;
    bool plain_json = false;  // a server that ignored "stream": true and answered in one JSON body
    std::string json_body;
    const auto on_body = [&](const detail::HttpResponse& head, std::string_view bytes) {
      if (const auto type = head.headers.find("content-type");
          type != head.headers.end() && type->second.starts_with("application/json")) {
        plain_json = true;
        json_body.append(bytes);
        return true;
      }
      events.clear();
      parser.feed(bytes, events);
      if (parser.overflowed()) {
        stream_error = invalid_argument("SSE event too large", "llm_bad_response");
        return false;
      }
      for (const auto& event : events) {
        if (is_done_marker(event.data)) {
          done = true;
          return false;
        }
        auto chunk = parse_chat_chunk(event.data);
        if (!chunk) {
          stream_error = chunk.status();
          return false;
        }
        if (!chunk->content.empty()) {
          result.content += chunk->content;
          delivered = true;
          if (on_delta) on_delta(chunk->content);
        }
        if (!chunk->finish_reason.empty()) result.finish_reason = chunk->finish_reason;
        if (chunk->has_usage) {
          result.prompt_tokens = chunk->prompt_tokens;
          result.completion_tokens = chunk->completion_tokens;
        }
      }
      return true;
    };
    auto response = detail::perform_http(impl.endpoint, http, deadline, impl.tls.get(), on_body);
    if (!stream_error.is_ok()) return Result<ChatResult>(stream_error);
    if (!response) {
      if (response.status().code() == "llm_timeout" && deadline >= budget_end) {
        return Result<ChatResult>(deadline_exceeded("no complete answer within the latency budget", "llm_timeout"));
      }
      return Result<ChatResult>(response.status());
    }
    if (!is_success(response->status)) return Result<ChatResult>(status_for(*response, impl.clock.now(), retry_after));
    if (plain_json) {
      auto whole = parse_chat_response(json_body);
      if (whole && !whole->content.empty()) {
        delivered = true;
        if (on_delta) on_delta(whole->content);
      }
      return whole;
    }
    if (!done && result.finish_reason.empty()) {
      return Result<ChatResult>(unavailable("stream ended before [DONE]", "llm_unavailable"));
    }
    return Result<ChatResult>(std::move(result));
  };
  return impl.run<ChatResult>("chat_stream", budget_end, attempt, [&delivered] { return !delivered; });
}

Result<Transcription> OpenAiClient::transcribe(std::span<const int16_t> pcm, int sample_rate,
                                               std::string_view language) {
  Impl& impl = *impl_;
  if (sample_rate <= 0) return invalid_argument("sample rate must be positive", "invalid_argument");
  const std::string wav = encode_wav(pcm, sample_rate);
  const Impl::AttemptFn<Transcription> attempt = [&](SteadyTime deadline, std::optional<milliseconds>& retry_after) {
    const std::string boundary = impl.next_boundary();
    detail::HttpRequest http;
    http.target = impl.endpoint.base_path + "/audio/transcriptions";
    http.headers = impl.headers("multipart/form-data; boundary=" + boundary, "application/json");
    http.body = build_transcription_form(boundary, wav, impl.options.transcription_model, language, "verbose_json");
    auto response = detail::perform_http(impl.endpoint, http, deadline, impl.tls.get(), {});
    if (!response) return Result<Transcription>(response.status());
    if (!is_success(response->status)) {
      return Result<Transcription>(status_for(*response, impl.clock.now(), retry_after));
    }
    return parse_transcription_response(response->body);
  };
  return impl.run<Transcription>("transcribe", std::nullopt, attempt, {});
}

}  // namespace vontres::ai::llm
