#include "api/schema.h"

#include <array>
#include <cstdint>
#include <limits>
#include <regex>
#include <set>
#include <string_view>

namespace vontres::api {
namespace {

using nlohmann::json;

constexpr size_t kMaxNameInPath = 64;  // member names come from the client: keep error paths short

std::string member_path(const std::string& parent, std::string_view name) {
  if (name.size() > kMaxNameInPath) name = name.substr(0, kMaxNameInPath);
  if (parent.empty()) return std::string(name);
  std::string path = parent;
  path += '.';
  path += name;
  return path;
}

std::string index_path(const std::string& parent, size_t index) { return parent + "[" + std::to_string(index) + "]"; }

bool is_negative(const json& integer) { return !integer.is_number_unsigned() && integer.get<int64_t>() < 0; }

// -1, 0 or 1. Two JSON integers (each signed or unsigned 64-bit) compare exactly; anything else
// compares as double.
int compare_numbers(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    const bool a_negative = is_negative(a);
    const bool b_negative = is_negative(b);
    if (a_negative != b_negative) return a_negative ? -1 : 1;
    if (a_negative) {
      const auto x = a.get<int64_t>();
      const auto y = b.get<int64_t>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const auto x = a.get<uint64_t>();
    const auto y = b.get<uint64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const auto x = a.get<double>();
  const auto y = b.get<double>();
  return x < y ? -1 : (x > y ? 1 : 0);
}

std::string number_text(const json& number) { return number.dump(); }

std::string type_of(const json& schema) {
  auto it = schema.find("type");
  return it != schema.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool nullable(const json& schema) {
  auto it = schema.find("nullable");
  return it != schema.end() && it->is_boolean() && it->get<bool>();
}

// "a string of at most 64 bytes", "an integer from 0 to 1000", "one of a, b": what a valid
// value looks like, for messages.
std::string describe(const json& schema) {
  std::string out;
  if (auto it = schema.find("enum"); it != schema.end() && it->is_array()) {
    out = "one of ";
    bool first = true;
    for (const auto& option : *it) {
      if (!first) out += ", ";
      first = false;
      out += option.is_string() ? option.get<std::string>() : option.dump();
    }
  } else {
    const std::string type = type_of(schema);
    auto min = schema.find("minimum");
    auto max = schema.find("maximum");
    auto range = [&](std::string noun) {
      if (min != schema.end() && max != schema.end())
        return noun + " from " + number_text(*min) + " to " + number_text(*max);
      if (min != schema.end()) return noun + " of at least " + number_text(*min);
      if (max != schema.end()) return noun + " of at most " + number_text(*max);
      return noun;
    };
    if (type == "string") {
      auto min_length = schema.find("minLength");
      auto max_length = schema.find("maxLength");
      out = "a string";
      if (min_length != schema.end() && max_length != schema.end()) {
        out += " of " + number_text(*min_length) + " to " + number_text(*max_length) + " bytes";
      } else if (max_length != schema.end()) {
        out += " of at most " + number_text(*max_length) + " bytes";
      } else if (min_length != schema.end()) {
        out += " of at least " + number_text(*min_length) + " bytes";
      }
      if (auto pattern = schema.find("pattern"); pattern != schema.end()) {
        out += " matching " + pattern->get<std::string>();
      }
    } else if (type == "integer") {
      out = range("an integer");
    } else if (type == "number") {
      out = range("a number");
    } else if (type == "boolean") {
      out = "true or false";
    } else if (type == "object") {
      out = "a JSON object";
    } else if (type == "array") {
      out = "an array";
    } else if (type == "null") {
      out = "null";
    } else {
      out = "a valid value";
    }
  }
  if (nullable(schema)) out += ", or null";
  return out;
}

SchemaViolation violation(const std::string& field, const std::string& what) {
  const std::string shown = field.empty() ? std::string("body") : field;
  return {field, invalid_argument(shown + ": " + what, field.empty() ? "invalid_body" : "invalid_field")};
}

SchemaViolation mismatch(const std::string& field, const json& schema) {
  return violation(field, "must be " + describe(schema));
}

bool type_matches(const std::string& type, const json& value) {
  if (type.empty()) return true;
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  return false;
}

std::optional<SchemaViolation> validate_at(const json& schema, const json& value, const std::string& field);

std::optional<SchemaViolation> validate_object(const json& schema, const json& value, const std::string& field) {
  const auto properties = schema.find("properties");
  const auto additional = schema.find("additionalProperties");
  if (auto it = schema.find("maxProperties"); it != schema.end() && value.size() > it->get<size_t>()) {
    return violation(field, "must have at most " + it->dump() + " members");
  }
  if (auto it = schema.find("minProperties"); it != schema.end() && value.size() < it->get<size_t>()) {
    return violation(field, "must have at least " + it->dump() + " members");
  }
  if (auto required = schema.find("required"); required != schema.end()) {
    for (const auto& name : *required) {
      if (!value.contains(name.get<std::string>()))
        return violation(member_path(field, name.get<std::string>()), "is required");
    }
  }
  const auto names = schema.find("propertyNames");
  for (const auto& [name, member] : value.items()) {
    const std::string path = member_path(field, name);
    if (properties != schema.end()) {
      if (auto declared = properties->find(name); declared != properties->end()) {
        if (auto bad = validate_at(*declared, member, path)) return bad;
        continue;
      }
    }
    if (additional == schema.end() || additional->is_boolean()) {
      if (additional != schema.end() && !additional->get<bool>()) return violation(path, "unknown field");
      continue;
    }
    if (names != schema.end()) {
      if (auto bad = validate_at(*names, json(name), path)) {
        return violation(path, "member names must be " + describe(*names));
      }
    }
    if (auto bad = validate_at(*additional, member, path)) return bad;
  }
  return std::nullopt;
}

std::optional<SchemaViolation> validate_at(const json& schema, const json& value, const std::string& field) {
  if (value.is_null() && nullable(schema)) return std::nullopt;
  const std::string type = type_of(schema);
  if (!type_matches(type, value)) return mismatch(field, schema);
  if (auto options = schema.find("enum"); options != schema.end()) {
    bool found = false;
    for (const auto& option : *options) found = found || option == value;
    if (!found) return mismatch(field, schema);
  }
  if (value.is_string()) {
    const size_t length = value.get_ref<const std::string&>().size();  // bytes: see schema.h
    auto min_length = schema.find("minLength");
    auto max_length = schema.find("maxLength");
    if ((min_length != schema.end() && length < min_length->get<size_t>()) ||
        (max_length != schema.end() && length > max_length->get<size_t>())) {
      return mismatch(field, schema);
    }
    // After the length check, so the regular expression only ever sees a bounded string.
    if (auto pattern = schema.find("pattern"); pattern != schema.end()) {
      const std::regex expression(pattern->get<std::string>(), std::regex::ECMAScript);
      if (!std::regex_search(value.get_ref<const std::string&>(), expression)) return mismatch(field, schema);
    }
  } else if (value.is_number()) {
    auto min = schema.find("minimum");
    auto max = schema.find("maximum");
    if ((min != schema.end() && compare_numbers(value, *min) < 0) ||
        (max != schema.end() && compare_numbers(value, *max) > 0)) {
      return mismatch(field, schema);
    }
  } else if (value.is_array()) {
    if (auto it = schema.find("maxItems"); it != schema.end() && value.size() > it->get<size_t>()) {
      return violation(field, "must have at most " + it->dump() + " items");
    }
    if (auto it = schema.find("minItems"); it != schema.end() && value.size() < it->get<size_t>()) {
      return violation(field, "must have at least " + it->dump() + " items");
    }
    if (auto items = schema.find("items"); items != schema.end()) {
      for (size_t i = 0; i < value.size(); ++i) {
        if (auto bad = validate_at(*items, value[i], index_path(field, i))) return bad;
      }
    }
  } else if (value.is_object()) {
    return validate_object(schema, value, field);
  }
  return std::nullopt;
}

// ---- check_schema ----

const std::set<std::string>& known_keywords() {
  static const std::set<std::string> keywords = {
      "type",          "nullable",      "properties",    "required", "additionalProperties",
      "propertyNames", "minProperties", "maxProperties", "items",    "minItems",
      "maxItems",      "minLength",     "maxLength",     "pattern",  "minimum",
      "maximum",       "enum",          "description",   "format",   "default",
      "example",       "title"};
  return keywords;
}

Status bad_schema(const std::string& path, const std::string& why) {
  return invalid_argument("schema " + (path.empty() ? std::string("(root)") : path) + ": " + why, "invalid_schema");
}

bool is_count(const json& value) {
  return value.is_number_unsigned() || (value.is_number_integer() && !is_negative(value));
}

bool fits_int64(const json& value) {
  return value.is_number_integer() &&
         (!value.is_number_unsigned() ||
          value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
}

Status check_at(const json& schema, const std::string& path) {
  if (!schema.is_object()) return bad_schema(path, "must be a JSON object");
  for (const auto& [keyword, value] : schema.items()) {
    if (!known_keywords().contains(keyword) && keyword.rfind("x-", 0) != 0) {
      return bad_schema(path, "unsupported keyword '" + keyword + "'");
    }
  }
  static const std::set<std::string> kTypes = {"object", "array", "string", "integer", "number", "boolean", "null"};
  const auto type_it = schema.find("type");
  if (type_it == schema.end() || !type_it->is_string() || !kTypes.contains(type_it->get<std::string>())) {
    return bad_schema(path, "needs a type (one of object, array, string, integer, number, boolean, null)");
  }
  const std::string type = type_it->get<std::string>();
  if (auto it = schema.find("nullable"); it != schema.end() && !it->is_boolean()) {
    return bad_schema(path, "nullable must be true or false");
  }
  for (const char* count : {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"}) {
    if (auto it = schema.find(count); it != schema.end() && !is_count(*it)) {
      return bad_schema(path, std::string(count) + " must be a non-negative integer");
    }
  }
  if (auto it = schema.find("enum"); it != schema.end()) {
    if (!it->is_array() || it->empty()) return bad_schema(path, "enum must be a non-empty array");
    for (const auto& option : *it) {
      if (!type_matches(type, option)) return bad_schema(path, "enum value " + option.dump() + " is not a " + type);
    }
  }
  if (auto it = schema.find("pattern"); it != schema.end()) {
    if (type != "string" || !it->is_string()) return bad_schema(path, "pattern must be a string, on a string");
    try {
      const std::regex compiled(it->get<std::string>(), std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      return bad_schema(path, "pattern is not an ECMAScript regular expression");
    }
  }
  const bool has_enum = schema.contains("enum");
  if (type == "string" && !schema.contains("maxLength") && !has_enum) {
    return bad_schema(path, "a string needs maxLength");
  }
  if (type == "integer" || type == "number") {
    for (const char* bound : {"minimum", "maximum"}) {
      auto it = schema.find(bound);
      if (it == schema.end()) {
        if (!has_enum) return bad_schema(path, std::string("a number needs ") + bound);
        continue;
      }
      if (!it->is_number()) return bad_schema(path, std::string(bound) + " must be a number");
      if (type == "integer" && !fits_int64(*it))
        return bad_schema(path, std::string(bound) + " must be an int64 integer");
    }
  }
  if (type == "array") {
    if (!schema.contains("maxItems")) return bad_schema(path, "an array needs maxItems");
    auto items = schema.find("items");
    if (items == schema.end()) return bad_schema(path, "an array needs items");
    VONTRES_RETURN_IF_ERROR(check_at(*items, path + "[]"));
  }
  if (type == "object") {
    const auto properties = schema.find("properties");
    if (properties != schema.end()) {
      if (!properties->is_object()) return bad_schema(path, "properties must be an object");
      for (const auto& [name, member] : properties->items())
        VONTRES_RETURN_IF_ERROR(check_at(member, member_path(path, name)));
    }
    if (auto required = schema.find("required"); required != schema.end()) {
      if (!required->is_array()) return bad_schema(path, "required must be an array");
      for (const auto& name : *required) {
        if (!name.is_string() || properties == schema.end() || !properties->contains(name.get<std::string>())) {
          return bad_schema(path, "required names " + name.dump() + ", which is not a declared property");
        }
      }
    }
    auto additional = schema.find("additionalProperties");
    if (additional == schema.end()) {
      return bad_schema(path, "an object needs additionalProperties (false, or a schema with maxProperties)");
    }
    if (additional->is_boolean()) {
      if (additional->get<bool>()) return bad_schema(path, "additionalProperties true accepts anything");
    } else {
      VONTRES_RETURN_IF_ERROR(check_at(*additional, path + ".*"));
      if (!schema.contains("maxProperties"))
        return bad_schema(path, "a map (additionalProperties schema) needs maxProperties");
      auto names = schema.find("propertyNames");
      if (names == schema.end()) return bad_schema(path, "a map (additionalProperties schema) needs propertyNames");
      VONTRES_RETURN_IF_ERROR(check_at(*names, path + ".(names)"));
      if (type_of(*names) != "string") return bad_schema(path, "propertyNames must be a string schema");
    }
  } else {
    for (const char* keyword : {"properties", "required", "additionalProperties", "propertyNames"}) {
      if (schema.contains(keyword)) return bad_schema(path, std::string(keyword) + " only applies to objects");
    }
  }
  return Status::ok();
}

}  // namespace

std::optional<SchemaViolation> validate(const nlohmann::json& schema, const nlohmann::json& value) {
  return validate_at(schema, value, "");
}

Status check_schema(const nlohmann::json& schema) { return check_at(schema, ""); }

}  // namespace vontres::api
