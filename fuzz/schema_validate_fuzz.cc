// Feeds arbitrary bytes to the body-schema validator (api/schema.h), two ways: as a request body
// checked against a schema that uses every keyword (what the Dispatcher does for every request),
// and, after a NUL byte, as "schema\0value" where the schema itself comes from the input and is
// validated only if check_schema() accepts it. validate() must never throw, every violation must
// name its field at the start of its message, and an accepted value must really be within bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/schema.h"

namespace {

using nlohmann::json;

const json& body_schema() {
  static const json schema = [] {
    json item = {{"type", "object"},
                 {"properties",
                  {{"skill", {{"type", "string"}, {"minLength", 1}, {"maxLength", 8}, {"pattern", "^[a-z]+$"}}},
                   {"level", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10}}}}},
                 {"required", {"skill"}},
                 {"additionalProperties", false}};
    json out = {{"type", "object"},
                {"properties",
                 {{"name", {{"type", "string"}, {"maxLength", 16}, {"nullable", true}}},
                  {"priority", {{"type", "integer"}, {"minimum", -2147483648LL}, {"maximum", 2147483647}}},
                  {"size", {{"type", "integer"}, {"minimum", 0}, {"maximum", 9223372036854775807LL}}},
                  {"target", {{"type", "number"}, {"minimum", -1}, {"maximum", 1}}},
                  {"mode", {{"type", "string"}, {"enum", {"a", "b"}}}},
                  {"on", {{"type", "boolean"}}},
                  {"items", {{"type", "array"}, {"maxItems", 4}, {"items", item}}},
                  {"boost",
                   {{"type", "object"},
                    {"additionalProperties", {{"type", "integer"}, {"minimum", -100}, {"maximum", 100}}},
                    {"propertyNames", {{"type", "string"}, {"minLength", 1}, {"maxLength", 8}}},
                    {"maxProperties", 4}}}}},
                {"required", {"priority"}},
                {"additionalProperties", false}};
    if (!vontres::api::check_schema(out).is_ok()) std::abort();
    return out;
  }();
  return schema;
}

void check(const json& schema, const json& value) {
  std::optional<vontres::api::SchemaViolation> violation;
  try {
    violation = vontres::api::validate(schema, value);
  } catch (...) {
    std::abort();  // the Dispatcher relies on validate() never throwing
  }
  if (violation) {
    const std::string& message = violation->status.message();
    const std::string prefix = (violation->field.empty() ? std::string("body") : violation->field) + ": ";
    if (message.compare(0, prefix.size(), prefix) != 0) std::abort();
    if (violation->status.code() != "invalid_field" && violation->status.code() != "invalid_body") std::abort();
    return;
  }
  if (&schema != &body_schema()) return;
  // Accepted by the fixed schema: the bounds really hold.
  if (!value.is_object() || !value.contains("priority") || !value["priority"].is_number_integer()) std::abort();
  if (value["priority"].is_number_unsigned() && value["priority"].get<uint64_t>() > 2147483647ULL) std::abort();
  if (!value["priority"].is_number_unsigned() && value["priority"].get<int64_t>() < -2147483648LL) std::abort();
  if (value.contains("size") &&
      (!value["size"].is_number_integer() ||
       (!value["size"].is_number_unsigned() && value["size"].get<int64_t>() < 0) ||
       (value["size"].is_number_unsigned() && value["size"].get<uint64_t>() > 9223372036854775807ULL))) {
    std::abort();
  }
  if (value.contains("items") && value["items"].size() > 4) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 1024) return 0;  // deep nesting in nlohmann's own recursive parser is not what we test
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  if (nul == std::string_view::npos) {
    json value = json::parse(input, nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) check(body_schema(), value);
    return 0;
  }
  json schema = json::parse(input.substr(0, nul), nullptr, false);
  json value = json::parse(input.substr(nul + 1), nullptr, false);
  if (schema.is_discarded() || value.is_discarded()) return 0;
  // A fuzzed regular expression would test std::regex, not us; real patterns are fixed in code.
  if (schema.dump().find("\"pattern\"") != std::string::npos) return 0;
  if (!vontres::api::check_schema(schema).is_ok()) return 0;
  check(schema, value);
  return 0;
}
