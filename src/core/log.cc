#include "core/log.h"

#include <chrono>
#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace vontres::log {
namespace {

struct State {
  std::mutex mu;
  std::shared_ptr<spdlog::logger> logger;  // GUARDED_BY(mu) for replacement; spdlog itself is thread-safe
  std::string service_name = "vontres";
  bool json = true;
};

State& state() {
  static State s;
  return s;
}

thread_local std::string t_trace_id;

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kTrace: return spdlog::level::trace;
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
    case Level::kCritical: return spdlog::level::critical;
    case Level::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::kTrace: return "trace";
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kCritical: return "critical";
    case Level::kOff: return "off";
  }
  return "info";
}

std::shared_ptr<spdlog::logger> current_logger() {
  auto& s = state();
  std::lock_guard lock(s.mu);
  if (!s.logger) {
    s.logger = std::make_shared<spdlog::logger>("vontres", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    s.logger->set_pattern("%v");
    s.logger->set_level(spdlog::level::info);
  }
  return s.logger;
}

}  // namespace

bool parse_level(std::string_view text, Level& out) {
  static constexpr std::pair<std::string_view, Level> kLevels[] = {
      {"trace", Level::kTrace},  {"debug", Level::kDebug}, {"info", Level::kInfo},         {"warn", Level::kWarn},
      {"warning", Level::kWarn}, {"error", Level::kError}, {"critical", Level::kCritical}, {"off", Level::kOff}};
  for (const auto& [name, level] : kLevels) {
    if (text == name) {
      out = level;
      return true;
    }
  }
  return false;
}

void init(const Options& options) {
  auto& s = state();
  std::vector<spdlog::sink_ptr> sinks;
  if (options.to_stderr) sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto logger = std::make_shared<spdlog::logger>("vontres", sinks.begin(), sinks.end());
  logger->set_pattern("%v");
  logger->set_level(to_spdlog(options.level));
  logger->flush_on(spdlog::level::warn);
  std::lock_guard lock(s.mu);
  s.logger = std::move(logger);
  s.service_name = options.service_name;
  s.json = options.json;
}

void add_sink(std::shared_ptr<spdlog::sinks::sink> sink) {
  sink->set_pattern("%v");
  current_logger()->sinks().push_back(std::move(sink));
}

void remove_sink(const std::shared_ptr<spdlog::sinks::sink>& sink) {
  auto& sinks = current_logger()->sinks();
  std::erase(sinks, sink);
}

void flush() { current_logger()->flush(); }

ScopedTraceId::ScopedTraceId(std::string trace_id) : previous_(std::move(t_trace_id)) {
  t_trace_id = std::move(trace_id);
}
ScopedTraceId::~ScopedTraceId() { t_trace_id = std::move(previous_); }
const std::string& current_trace_id() { return t_trace_id; }

bool Logger::enabled(Level level) const { return current_logger()->should_log(to_spdlog(level)); }

void Logger::write(Level level, std::string_view message, const Fields& fields) const {
  auto logger = current_logger();
  if (!logger->should_log(to_spdlog(level))) return;
  auto& s = state();
  std::string line;
  if (s.json) {
    nlohmann::json j;
    j["@timestamp"] = format_rfc3339(std::chrono::system_clock::now());
    j["log.level"] = level_name(level);
    j["log.logger"] = name_;
    j["message"] = message;
    j["service.name"] = s.service_name;
    if (!t_trace_id.empty()) j["trace.id"] = t_trace_id;
    for (const auto& [key, value] : fields) j[key] = value;
    // Replace invalid UTF-8 instead of throwing: log lines must never take the process down.
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = format_rfc3339(std::chrono::system_clock::now()) + " " + level_name(level) + " [" + name_ + "] " +
           std::string(message);
    for (const auto& [key, value] : fields) {
      line += " " + key + "=" + value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  logger->log(to_spdlog(level), line);
}

}  // namespace vontres::log
