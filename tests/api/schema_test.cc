// The body-schema validator (api/schema.h): each keyword, the exact integer bounds that keep
// 2147483648 out of an int field and -1 out of a size, UTF-8 bytes for string lengths, field
// paths in messages, and check_schema's insistence that every schema bounds what it accepts.
#include "api/schema.h"

#include <gtest/gtest.h>

#include <random>

namespace vontres::api {
namespace {

using nlohmann::json;

json queue_schema() {
  return {{"type", "object"},
          {"properties",
           {{"name", {{"type", "string"}, {"minLength", 1}, {"maxLength", 8}}},
            {"priority", {{"type", "integer"}, {"minimum", 0}, {"maximum", 1000}}},
            {"max_length", {{"type", "integer"}, {"minimum", 0}, {"maximum", 2147483647}}},
            {"target", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}}},
            {"strategy", {{"type", "string"}, {"enum", {"ring_all", "random"}}}},
            {"enabled", {{"type", "boolean"}}},
            {"note", {{"type", "string"}, {"maxLength", 4}, {"nullable", true}}},
            {"tags", {{"type", "array"}, {"maxItems", 2}, {"items", {{"type", "string"}, {"maxLength", 3}}}}},
            {"steps",
             {{"type", "array"},
              {"maxItems", 5},
              {"items",
               {{"type", "object"},
                {"properties", {{"after_ms", {{"type", "integer"}, {"minimum", 0}, {"maximum", 60000}}}}},
                {"required", {"after_ms"}},
                {"additionalProperties", false}}}}},
            {"skills",
             {{"type", "object"},
              {"additionalProperties", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10}}},
              {"propertyNames", {{"type", "string"}, {"minLength", 1}, {"maxLength", 6}}},
              {"maxProperties", 2}}}}},
          {"required", {"name"}},
          {"additionalProperties", false}};
}

// The violation for `body`, or a "matched" marker so a failing EXPECT shows what happened.
SchemaViolation check(const json& body, const json& schema = queue_schema()) {
  auto violation = validate(schema, body);
  if (!violation) return {"<matched>", Status::ok()};
  return *violation;
}

TEST(SchemaTest, AValidBodyMatches) {
  EXPECT_FALSE(validate(queue_schema(), json{{"name", "support"},
                                             {"priority", 1000},
                                             {"max_length", 0},
                                             {"target", 0.8},
                                             {"strategy", "random"},
                                             {"enabled", true},
                                             {"note", nullptr},
                                             {"tags", {"a", "b"}},
                                             {"steps", {{{"after_ms", 5}}}},
                                             {"skills", {{"fr", 3}}}}));
}

TEST(SchemaTest, WrongTypesNameTheFieldAndSayWhatIsExpected) {
  auto v = check({{"name", "x"}, {"priority", "high"}});
  EXPECT_EQ(v.field, "priority");
  EXPECT_EQ(v.status.code(), "invalid_field");
  EXPECT_EQ(v.status.kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(v.status.message(), "priority: must be an integer from 0 to 1000");
  EXPECT_EQ(check({{"name", 7}}).field, "name");
  EXPECT_EQ(check({{"name", "x"}, {"enabled", "yes"}}).status.message(), "enabled: must be true or false");
  EXPECT_EQ(check({{"name", "x"}, {"tags", "a"}}).field, "tags");
  EXPECT_EQ(check({{"name", "x"}, {"note", 1}}).status.message(), "note: must be a string of at most 4 bytes, or null");
}

TEST(SchemaTest, TheBodyItselfIsInvalidBody) {
  for (const json& body : {json::array(), json("text"), json(1), json(nullptr)}) {
    auto v = check(body);
    EXPECT_EQ(v.field, "") << body.dump();
    EXPECT_EQ(v.status.code(), "invalid_body") << body.dump();
    EXPECT_EQ(v.status.message(), "body: must be a JSON object") << body.dump();
  }
}

TEST(SchemaTest, IntegersOutsideTheirRangeAreRejectedExactly) {
  const json int32 = {{"type", "integer"}, {"minimum", -2147483648LL}, {"maximum", 2147483647}};
  EXPECT_FALSE(validate(int32, json::parse("2147483647")));
  EXPECT_FALSE(validate(int32, json::parse("-2147483648")));
  EXPECT_TRUE(validate(int32, json::parse("2147483648")));
  EXPECT_TRUE(validate(int32, json::parse("-2147483649")));
  EXPECT_TRUE(validate(int32, json::parse("18446744073709551615")));  // uint64 max: not -1
  EXPECT_TRUE(validate(int32, json::parse("-9223372036854775808")));
  EXPECT_TRUE(validate(int32, json::parse("99999999999999999999999")));  // beyond uint64: a double
  EXPECT_TRUE(validate(int32, json::parse("1.5")));
  EXPECT_TRUE(validate(int32, json::parse("1.0")));  // integers are integer literals
  EXPECT_TRUE(validate(int32, json::parse("1e3")));

  EXPECT_EQ(check({{"name", "x"}, {"priority", 2147483648LL}}).status.message(),
            "priority: must be an integer from 0 to 1000");
  EXPECT_EQ(check({{"name", "x"}, {"max_length", -1}}).field, "max_length");
  EXPECT_EQ(check(json::parse(R"({"name":"x","max_length":18446744073709551615})")).field, "max_length");
  EXPECT_EQ(check({{"name", "x"}, {"max_length", 2147483647}}).field, "<matched>");
}

TEST(SchemaTest, Int64BoundsCompareWithoutRounding) {
  const json int64 = {{"type", "integer"},
                      {"minimum", std::numeric_limits<int64_t>::min()},
                      {"maximum", std::numeric_limits<int64_t>::max()}};
  EXPECT_FALSE(validate(int64, json::parse("9223372036854775807")));
  EXPECT_TRUE(validate(int64, json::parse("9223372036854775808")));  // a double would call these equal
  EXPECT_FALSE(validate(int64, json::parse("-9223372036854775808")));
}

TEST(SchemaTest, NumbersAcceptIntegersAndFractionsWithinRange) {
  EXPECT_EQ(check({{"name", "x"}, {"target", 1}}).field, "<matched>");
  EXPECT_EQ(check({{"name", "x"}, {"target", 0.25}}).field, "<matched>");
  EXPECT_EQ(check({{"name", "x"}, {"target", 1.0001}}).status.message(), "target: must be a number from 0 to 1");
  EXPECT_EQ(check({{"name", "x"}, {"target", -1}}).field, "target");
  EXPECT_EQ(check({{"name", "x"}, {"target", "1"}}).field, "target");
}

TEST(SchemaTest, StringLengthsCountUtf8Bytes) {
  EXPECT_EQ(check({{"name", "12345678"}}).field, "<matched>");
  EXPECT_EQ(check({{"name", "123456789"}}).status.message(), "name: must be a string of 1 to 8 bytes");
  EXPECT_EQ(check({{"name", ""}}).field, "name");
  // Bytes, not characters: what is stored and what every other limit here counts.
  EXPECT_EQ(check({{"name", "éééé"}}).field, "<matched>");                // 8 bytes
  EXPECT_EQ(check({{"name", "ééééé"}}).field, "name");                    // 10 bytes
  EXPECT_EQ(check({{"name", "😀😀"}}).field, "<matched>");                  // 8 bytes
  EXPECT_EQ(check({{"name", "😀😀😀"}}).field, "name");                      // 12 bytes
  EXPECT_EQ(check({{"name", std::string(1 << 20, 'x')}}).field, "name");  // 1 MB
}

TEST(SchemaTest, EnumsListTheChoices) {
  EXPECT_EQ(check({{"name", "x"}, {"strategy", "telepathy"}}).status.message(),
            "strategy: must be one of ring_all, random");
  EXPECT_EQ(check({{"name", "x"}, {"strategy", 1}}).field, "strategy");
}

TEST(SchemaTest, RequiredAndUnknownMembersAreNamed) {
  auto missing = check(json::object());
  EXPECT_EQ(missing.field, "name");
  EXPECT_EQ(missing.status.message(), "name: is required");
  auto unknown = check({{"name", "x"}, {"colour", "red"}});
  EXPECT_EQ(unknown.field, "colour");
  EXPECT_EQ(unknown.status.message(), "colour: unknown field");
  // A client-chosen name is cut short in the path.
  EXPECT_EQ(check({{"name", "x"}, {std::string(1000, 'k'), 1}}).field, std::string(64, 'k'));
}

TEST(SchemaTest, NestedPathsUseDotsAndIndexes) {
  EXPECT_EQ(check({{"name", "x"}, {"steps", {{{"after_ms", 1}}, {{"after_ms", -5}}}}}).field, "steps[1].after_ms");
  EXPECT_EQ(check({{"name", "x"}, {"steps", {json::object()}}}).field, "steps[0].after_ms");
  EXPECT_EQ(check({{"name", "x"}, {"steps", {{{"after_ms", 1}, {"x", 1}}}}}).field, "steps[0].x");
  EXPECT_EQ(check({{"name", "x"}, {"tags", {"a", "long"}}}).field, "tags[1]");
  EXPECT_EQ(check({{"name", "x"}, {"skills", {{"fr", 11}}}}).field, "skills.fr");
}

TEST(SchemaTest, ArrayAndMapSizesAreBounded) {
  EXPECT_EQ(check({{"name", "x"}, {"tags", {"a", "b", "c"}}}).status.message(), "tags: must have at most 2 items");
  EXPECT_EQ(check({{"name", "x"}, {"skills", {{"a", 1}, {"b", 1}, {"c", 1}}}}).status.message(),
            "skills: must have at most 2 members");
  auto long_key = check({{"name", "x"}, {"skills", {{"toolongname", 1}}}});
  EXPECT_EQ(long_key.field, "skills.toolongname");
  EXPECT_EQ(long_key.status.message(), "skills.toolongname: member names must be a string of 1 to 6 bytes");
}

TEST(SchemaTest, PatternsApplyAfterTheLengthBound) {
  const json name = {{"type", "string"}, {"maxLength", 8}, {"pattern", "^[a-z]+$"}};
  EXPECT_FALSE(validate(name, json("abc")));
  EXPECT_TRUE(validate(name, json("ABC")));
  EXPECT_EQ(validate(name, json("ABC"))->status.message(),
            "body: must be a string of at most 8 bytes matching ^[a-z]+$");
  EXPECT_TRUE(validate(name, json(std::string(100000, 'a'))));
}

TEST(SchemaTest, TextBodiesAreStringSchemas) {
  const json markdown = {{"type", "string"}, {"maxLength", 10}};
  EXPECT_FALSE(validate(markdown, json("# Title")));
  EXPECT_EQ(validate(markdown, json("# A long title"))->status.code(), "invalid_body");
}

// ---- check_schema ----

TEST(SchemaCheckTest, TheExampleSchemaIsAccepted) { EXPECT_TRUE(check_schema(queue_schema()).is_ok()); }

TEST(SchemaCheckTest, UnboundedSchemasAreRejectedWithTheirPath) {
  auto rejects = [](const json& schema, const std::string& fragment) {
    Status status = check_schema(schema);
    EXPECT_FALSE(status.is_ok()) << schema.dump();
    EXPECT_EQ(status.code(), "invalid_schema") << schema.dump();
    EXPECT_NE(status.message().find(fragment), std::string::npos) << status.message();
  };
  auto object = [](json property) {
    return json{{"type", "object"}, {"properties", {{"p", std::move(property)}}}, {"additionalProperties", false}};
  };
  rejects(object({{"type", "string"}}), "schema p: a string needs maxLength");
  rejects(object({{"type", "integer"}, {"minimum", 0}}), "needs maximum");
  rejects(object({{"type", "number"}, {"maximum", 1}}), "needs minimum");
  rejects(object({{"type", "integer"}, {"minimum", 0}, {"maximum", 18446744073709551615ULL}}), "int64");
  rejects(object({{"type", "array"}, {"items", {{"type", "boolean"}}}}), "maxItems");
  rejects(object({{"type", "array"}, {"maxItems", 3}}), "needs items");
  rejects(object({{"type", "array"}, {"maxItems", 3}, {"items", {{"type", "string"}}}}),
          "p[]: a string needs maxLength");
  rejects({{"type", "object"}, {"properties", json::object()}}, "additionalProperties");
  rejects({{"type", "object"}, {"additionalProperties", true}}, "accepts anything");
  rejects({{"type", "object"}, {"additionalProperties", {{"type", "boolean"}}}, {"maxProperties", 3}}, "propertyNames");
  rejects({{"type", "object"},
           {"additionalProperties", {{"type", "boolean"}}},
           {"propertyNames", {{"type", "string"}, {"maxLength", 3}}}},
          "maxProperties");
  rejects({{"type", "object"}, {"properties", json::object()}, {"required", {"x"}}, {"additionalProperties", false}},
          "not a declared property");
  rejects(object({{"type", "string"}, {"maxLength", 3}, {"oneOf", json::array()}}), "unsupported keyword 'oneOf'");
  rejects(object({{"maxLength", 3}}), "needs a type");
  rejects(object({{"type", json::array({"string"})}}), "needs a type");
  rejects(object({{"type", "string"}, {"maxLength", -1}}), "non-negative");
  rejects(object({{"type", "string"}, {"enum", {1}}}), "is not a string");
  rejects(object({{"type", "string"}, {"maxLength", 3}, {"pattern", "(["}}), "regular expression");
  rejects(object({{"type", "string"}, {"maxLength", 3}, {"properties", json::object()}}), "only applies to objects");
}

TEST(SchemaCheckTest, AnnotationsAndExtensionsAreAllowed) {
  EXPECT_TRUE(check_schema({{"type", "string"},
                            {"maxLength", 3},
                            {"description", "d"},
                            {"format", "date-time"},
                            {"example", "abc"},
                            {"x-vontres", true}})
                  .is_ok());
  EXPECT_TRUE(check_schema({{"type", "string"}, {"enum", {"a", "b"}}}).is_ok());  // an enum bounds a string
}

// Property: a random JSON value never makes validate() throw or crash, and whatever it accepts
// matches the schema's bounds (spot-checked on the fields the schema names).
TEST(SchemaPropertyTest, RandomValuesAreClassifiedWithoutThrowing) {
  std::mt19937_64 rng(20261204);
  auto random_value = [&](auto& self, int depth) -> json {
    switch (rng() % (depth > 3 ? 6 : 8)) {
      case 0: return nullptr;
      case 1: return rng() % 2 == 0;
      case 2: return static_cast<int64_t>(rng());
      case 3: return static_cast<uint64_t>(rng());
      case 4: return static_cast<double>(rng() % 2000) / 1000.0 - 0.5;
      case 5: return std::string(rng() % 12, static_cast<char>('a' + rng() % 26));
      case 6: {
        json array = json::array();
        for (size_t i = rng() % 4; i > 0; --i) array.push_back(self(self, depth + 1));
        return array;
      }
      default: {
        static const std::array<const char*, 10> kNames = {"name",    "priority", "max_length", "target", "strategy",
                                                           "enabled", "note",     "tags",       "steps",  "skills"};
        json object = json::object();
        for (size_t i = rng() % 6; i > 0; --i) object[kNames[rng() % kNames.size()]] = self(self, depth + 1);
        return object;
      }
    }
  };
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    json value = random_value(random_value, 0);
    if (value.is_object() && rng() % 2 == 0) value["name"] = "n";
    std::optional<SchemaViolation> violation;
    ASSERT_NO_THROW(violation = validate(queue_schema(), value)) << value.dump();
    if (violation) {
      EXPECT_EQ(violation->status.kind(), ErrorKind::kInvalidArgument);
      EXPECT_EQ(violation->status.message().rfind(violation->field.empty() ? "body" : violation->field, 0), 0u)
          << violation->status.message();
      continue;
    }
    ++accepted;
    ASSERT_TRUE(value.is_object());
    if (value.contains("priority")) {
      ASSERT_TRUE(value["priority"].is_number_integer());
      const auto priority = value["priority"].get<int64_t>();
      EXPECT_TRUE(priority >= 0 && priority <= 1000) << value.dump();
    }
    if (value.contains("tags")) {
      EXPECT_LE(value["tags"].size(), 2u);
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace vontres::api
