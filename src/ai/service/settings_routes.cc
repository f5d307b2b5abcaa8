#include "ai/service/settings_routes.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace vontres::ai::service {

using api::Method;
using api::Request;
using api::Response;
using nlohmann::json;

Result<redaction::RedactionOptions> redaction_from_classes(const std::vector<std::string>& classes) {
  redaction::RedactionOptions options;
  options.cards = options.cvv = options.expiry = options.ssn = options.email = options.phone = false;
  for (const auto& c : classes) {
    if (c == "card") {
      options.cards = true;
    } else if (c == "cvv") {
      options.cvv = true;
    } else if (c == "expiry") {
      options.expiry = true;
    } else if (c == "ssn") {
      options.ssn = true;
    } else if (c == "email") {
      options.email = true;
    } else if (c == "phone") {
      options.phone = true;
    } else {
      return invalid_argument("unknown redaction class '" + c + "' (card, cvv, expiry, ssn, email, phone)",
                              "invalid_redaction_class");
    }
  }
  return options;
}

std::vector<std::string> classes_of(const redaction::RedactionOptions& o) {
  std::vector<std::string> out;
  if (o.cards) out.emplace_back("card");
  if (o.cvv) out.emplace_back("cvv");
  if (o.expiry) out.emplace_back("expiry");
  if (o.ssn) out.emplace_back("ssn");
  if (o.email) out.emplace_back("email");
  if (o.phone) out.emplace_back("phone");
  return out;
}

AiSettings::AiSettings(store::Store& store, const Clock& clock, redaction::RedactionOptions default_redaction,
                       bool default_pause_on_card)
    : store_(store),
      clock_(clock),
      default_redaction_(std::move(default_redaction)),
      default_pause_on_card_(default_pause_on_card) {}

redaction::RedactionOptions AiSettings::redaction_for(const std::string& org) const {
  auto settings = org_settings(org);
  if (settings && settings->contains("redact")) {
    auto parsed = redaction_from_classes((*settings)["redact"].get<std::vector<std::string>>());
    if (parsed.is_ok()) return *parsed;
  }
  return default_redaction_;
}

bool AiSettings::pause_on_card_for(const std::string& org) const {
  auto settings = org_settings(org);
  if (settings && settings->contains("pause_on_card")) return (*settings)["pause_on_card"].get<bool>();
  return default_pause_on_card_;
}

std::optional<json> AiSettings::org_settings(const std::string& org) const {
  if (org.empty()) return std::nullopt;
  auto rows = store_.query("SELECT settings FROM ai_settings WHERE org_id = $1", {org});
  if (!rows.is_ok() || rows->empty()) return std::nullopt;
  json parsed = json::parse((*rows)[0].get_string(0), nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

void AiSettings::register_routes(api::Router& router, AiSettingsInfo info) {
  auto opts = [](std::string permission, std::string summary) {
    return api::route_options("ai", std::move(permission), std::move(summary));
  };
  router.add(Method::kGet, "/api/v1/ai/settings", opts("calls.read", "The organisation's AI settings"),
             [this, info](Request& req) {
               const std::string& org = req.principal->org_id;
               return Response::json(200, {{"redact", classes_of(redaction_for(org))},
                                           {"pause_on_card", pause_on_card_for(org)},
                                           {"llm_configured", info.llm_configured},
                                           {"stt_backend", info.stt_backend}});
             });
  router.add(Method::kPut, "/api/v1/ai/settings",
             opts("settings.write", "Set redaction classes and card protection for the organisation"),
             [this](Request& req) {
               auto body = req.json_body();
               if (!body.is_ok()) return Response::error(body.status());
               json settings = json::object();
               if (body->contains("redact")) {
                 const json& r = (*body)["redact"];
                 if (!r.is_array() || !std::all_of(r.begin(), r.end(), [](const json& x) { return x.is_string(); })) {
                   return Response::error(invalid_argument("redact must be a list of strings", "invalid_redact"));
                 }
                 auto parsed = redaction_from_classes(r.get<std::vector<std::string>>());
                 if (!parsed.is_ok()) return Response::error(parsed.status());
                 settings["redact"] = classes_of(*parsed);
               }
               if (body->contains("pause_on_card")) {
                 if (!(*body)["pause_on_card"].is_boolean()) {
                   return Response::error(invalid_argument("pause_on_card must be a boolean", "invalid_pause_on_card"));
                 }
                 settings["pause_on_card"] = (*body)["pause_on_card"];
               }
               const int64_t now =
                   std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch()).count();
               const std::string& org = req.principal->org_id;
               Status written = store_.transaction([&](store::Session& s) -> Status {
                 VONTRES_RETURN_IF_ERROR(s.execute("DELETE FROM ai_settings WHERE org_id = $1", {org}).status());
                 return s
                     .execute("INSERT INTO ai_settings (org_id, settings, updated_at_ms) VALUES ($1, $2, $3)",
                              {org, settings.dump(), now})
                     .status();
               });
               if (!written.is_ok()) return Response::error(written);
               return Response::json(
                   200, {{"redact", classes_of(redaction_for(org))}, {"pause_on_card", pause_on_card_for(org)}});
             });

  router.set_body_schema(
      Method::kPut, "/api/v1/ai/settings",
      {{"type", "object"},
       {"properties",
        {{"redact", {{"type", "array"}, {"maxItems", 32}, {"items", {{"type", "string"}, {"maxLength", 64}}}}},
         {"pause_on_card", {{"type", "boolean"}}}}},
       {"additionalProperties", false}});
}

}  // namespace vontres::ai::service
