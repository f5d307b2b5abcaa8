// Structured logging: one JSON object per line with Elastic Common Schema field names
// (`@timestamp`, `log.level`, `log.logger`, `message`, `service.name`, `trace.id`, plus
// per-event fields such as `http.request.method`), so lines can be shipped to ELK unchanged.
// Never pass secrets, passwords, tokens or unredacted PII as fields or in the message.
//
// Thread-safety: all functions may be called from any thread after init().
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace spdlog::sinks {
class sink;
}

namespace vontres::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kCritical, kOff };

struct Options {
  std::string service_name = "vontres";
  Level level = Level::kInfo;
  bool json = true;       // false: a compact human-readable line for terminals
  bool to_stderr = true;  // the default sink; tests may disable it and add their own
};

// Parses "trace|debug|info|warn|error|critical|off"; false if unknown.
bool parse_level(std::string_view text, Level& out);

// (Re)configures the process-wide logger. Safe to call again (tests do).
void init(const Options& options);
// Adds a sink (e.g. an ostream sink in tests to capture lines). Returns it for removal.
void add_sink(std::shared_ptr<spdlog::sinks::sink> sink);
void remove_sink(const std::shared_ptr<spdlog::sinks::sink>& sink);
void flush();

using Fields = std::vector<std::pair<std::string, nlohmann::json>>;

// Sets the `trace.id` attached to every line logged by this thread while the scope lives.
class ScopedTraceId {
 public:
  explicit ScopedTraceId(std::string trace_id);
  ~ScopedTraceId();
  ScopedTraceId(const ScopedTraceId&) = delete;
  ScopedTraceId& operator=(const ScopedTraceId&) = delete;

 private:
  std::string previous_;
};
const std::string& current_trace_id();

// A named logger (`log.logger`), cheap to copy. Typical: `log::Logger log_{"http"};`
class Logger {
 public:
  explicit Logger(std::string name) : name_(std::move(name)) {}
  void trace(std::string_view message, const Fields& fields = {}) const { write(Level::kTrace, message, fields); }
  void debug(std::string_view message, const Fields& fields = {}) const { write(Level::kDebug, message, fields); }
  void info(std::string_view message, const Fields& fields = {}) const { write(Level::kInfo, message, fields); }
  void warn(std::string_view message, const Fields& fields = {}) const { write(Level::kWarn, message, fields); }
  void error(std::string_view message, const Fields& fields = {}) const { write(Level::kError, message, fields); }
  void critical(std::string_view message, const Fields& fields = {}) const { write(Level::kCritical, message, fields); }
  bool enabled(Level level) const;
  void write(Level level, std::string_view message, const Fields& fields) const;

 private:
  std::string name_;
};

}  // namespace vontres::log
