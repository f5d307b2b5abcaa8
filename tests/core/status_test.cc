#include "core/status.h"

#include <gtest/gtest.h>

namespace vontres {
namespace {

Result<int> parse_positive(int x) {
  if (x <= 0) return invalid_argument("must be positive", "not_positive");
  return x;
}

Result<int> doubled(int x) {
  VONTRES_ASSIGN_OR_RETURN(int v, parse_positive(x));
  return v * 2;
}

Status check_both(int a, int b) {
  VONTRES_RETURN_IF_ERROR(parse_positive(a).status());
  VONTRES_RETURN_IF_ERROR(parse_positive(b).status());
  return Status::ok();
}

TEST(StatusTest, DefaultStatusIsOkWithCodeOk) {
  Status s;
  EXPECT_TRUE(s.is_ok());
  EXPECT_EQ(s.code(), "ok");
  EXPECT_EQ(s.kind(), ErrorKind::kOk);
}

TEST(StatusTest, ErrorCarriesKindStableCodeAndMessage) {
  Status s = not_found("queue 7 does not exist", "queue_not_found");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(s.code(), "queue_not_found");
  EXPECT_EQ(s.message(), "queue 7 does not exist");
  EXPECT_EQ(s.to_string(), "queue_not_found: queue 7 does not exist");
}

TEST(StatusTest, HelpersDefaultToTheGenericCodeOfTheirKind) {
  EXPECT_EQ(unavailable("x").code(), "unavailable");
  EXPECT_EQ(internal_error("x").code(), "internal");
  EXPECT_EQ(error_kind_name(ErrorKind::kResourceExhausted), "resource_exhausted");
}

TEST(StatusTest, WithContextPrefixesTheMessageAndKeepsTheCode) {
  Status s = invalid_argument("bad port", "config_invalid").with_context("vontres.yaml");
  EXPECT_EQ(s.code(), "config_invalid");
  EXPECT_EQ(s.message(), "vontres.yaml: bad port");
}

TEST(ResultTest, HoldsValueOrError) {
  Result<int> ok = parse_positive(3);
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(*ok, 3);
  EXPECT_TRUE(ok.status().is_ok());
  Result<int> bad = parse_positive(-1);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), "not_positive");
  EXPECT_EQ(bad.value_or(42), 42);
}

TEST(ResultTest, MacrosPropagateTheFirstError) {
  EXPECT_EQ(*doubled(21), 42);
  EXPECT_EQ(doubled(0).status().code(), "not_positive");
  EXPECT_TRUE(check_both(1, 2).is_ok());
  EXPECT_EQ(check_both(1, -2).code(), "not_positive");
}

TEST(ResultTest, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

}  // namespace
}  // namespace vontres
