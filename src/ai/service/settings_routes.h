// AiSettings: each organisation's AI settings (redaction classes, card protection) over the
// deployment's defaults, stored in table ai_settings, and their REST routes: GET /api/v1/ai/settings
// (calls.read) and PUT /api/v1/ai/settings (settings.write; body {"redact": [class...],
// "pause_on_card": bool}, both optional; a PUT replaces the organisation's stored settings).
// Redaction classes: card, cvv, expiry, ssn, email, phone (error "invalid_redaction_class").
//
// Thread-safety: every method may be called from any thread (each reads the Store afresh).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ai/redaction/redactor.h"
#include "api/http.h"
#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace vontres::ai::service {

// The options for a list of class names. Errors: invalid_argument "invalid_redaction_class".
Result<redaction::RedactionOptions> redaction_from_classes(const std::vector<std::string>& classes);
// The class names an options value turns on, in the canonical order.
std::vector<std::string> classes_of(const redaction::RedactionOptions& options);

// What GET /api/v1/ai/settings reports about the node besides the organisation's settings.
struct AiSettingsInfo {
  bool llm_configured = false;
  std::string stt_backend;
};

class AiSettings {
 public:
  // `store` and `clock` must outlive the settings.
  AiSettings(store::Store& store, const Clock& clock, redaction::RedactionOptions default_redaction,
             bool default_pause_on_card);

  // The organisation's redaction classes, else the default.
  redaction::RedactionOptions redaction_for(const std::string& org) const;
  // Whether recording and transcript storage pause while a card number is given, else the default.
  bool pause_on_card_for(const std::string& org) const;

  void register_routes(api::Router& router, AiSettingsInfo info);

 private:
  std::optional<nlohmann::json> org_settings(const std::string& org) const;

  store::Store& store_;
  const Clock& clock_;
  redaction::RedactionOptions default_redaction_;
  bool default_pause_on_card_;
};

}  // namespace vontres::ai::service
