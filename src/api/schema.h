// Request-body schemas: a validator for the subset of JSON Schema (as OpenAPI 3.0's Schema Object
// spells it) that the API's bodies need, so that one schema both guards a route (the Dispatcher
// checks it before the handler runs) and documents it (the OpenAPI document publishes it as is).
//
// Supported keywords:
//   type               "object", "array", "string", "integer", "number", "boolean" or "null"
//                      (one name). "integer" accepts only JSON integer literals (1, not 1.0);
//                      "number" accepts both.
//   nullable           true: null is also accepted (OpenAPI 3.0).
//   properties, required, additionalProperties (false, or a schema for every other member),
//   propertyNames      (a string schema for the member names), minProperties, maxProperties
//   items, minItems, maxItems
//   minLength, maxLength   counted in UTF-8 bytes, NOT in code points as JSON Schema specifies:
//                          what is stored, logged and limited everywhere else here is bytes, so a
//                          maxLength of 64 admits 64 ASCII characters or 16 four-byte ones. The
//                          OpenAPI document says so.
//   pattern            an ECMAScript regular expression the string must contain a match of (use
//                      ^...$ to anchor), checked only after maxLength has bounded the string.
//   minimum, maximum   inclusive. Integers are compared exactly (no double rounding), so
//                      2147483648 is above a maximum of 2147483647 and 18446744073709551615 is
//                      not mistaken for -1.
//   enum               the value must equal one of the listed JSON values.
//   description, format, default, example, title, x-*   annotations, ignored.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace vontres::api {

// Why a value does not match its schema.
struct SchemaViolation {
  // Path of the offending value: "priority", "escalation[2].after_ms", "skills.billing"; empty
  // for the body itself.
  std::string field;
  // invalid_argument with code "invalid_field" (a member or element) or "invalid_body" (the body
  // itself), and a message that starts with the field: "priority: must be an integer from 0 to 1000".
  Status status;
};

// The first violation found in `value`, depth first, members in key order (nlohmann::json keeps
// objects sorted); nullopt if it matches.
// REQUIRES: check_schema(schema) is OK (an unknown keyword is otherwise ignored).
std::optional<SchemaViolation> validate(const nlohmann::json& schema, const nlohmann::json& value);

// Whether `schema` is a body schema this validator fully understands and that bounds what it
// accepts: only the keywords above; every string has maxLength, every integer and number both
// minimum and maximum (integers within int64), every array maxItems and items, every object
// "additionalProperties": false or a value schema with maxProperties and propertyNames with a
// maxLength; `required` names declared properties. Errors: invalid_argument "invalid_schema"
// naming the schema path.
Status check_schema(const nlohmann::json& schema);

}  // namespace vontres::api
