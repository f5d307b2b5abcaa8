#include "core/log.h"

#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <nlohmann/json.hpp>

namespace vontres {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init({.service_name = "vontres-test", .level = log::Level::kInfo, .json = true, .to_stderr = false});
    sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    log::add_sink(sink_);
  }
  void TearDown() override { log::remove_sink(sink_); }
  std::vector<nlohmann::json> lines() {
    log::flush();
    std::vector<nlohmann::json> result;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) result.push_back(nlohmann::json::parse(line));
    return result;
  }
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

TEST_F(LogTest, WritesOneEcsJsonObjectPerLine) {
  log::Logger logger("http");
  {
    log::ScopedTraceId trace("4bf92f3577b34da6a3ce929d0e0e4736");
    logger.info("request served", {{"http.response.status_code", 200}, {"url.path", "/healthz"}});
  }
  logger.warn("no trace here");
  auto got = lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]["message"], "request served");
  EXPECT_EQ(got[0]["log.level"], "info");
  EXPECT_EQ(got[0]["log.logger"], "http");
  EXPECT_EQ(got[0]["service.name"], "vontres-test");
  EXPECT_EQ(got[0]["trace.id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(got[0]["http.response.status_code"], 200);
  EXPECT_TRUE(got[0]["@timestamp"].get<std::string>().ends_with("Z"));
  EXPECT_FALSE(got[1].contains("trace.id"));
}

TEST_F(LogTest, DropsLinesBelowTheLevel) {
  log::Logger logger("x");
  logger.debug("invisible");
  EXPECT_TRUE(lines().empty());
}

TEST_F(LogTest, InvalidUtf8NeverThrows) {
  log::Logger logger("x");
  logger.info(std::string("bad \xff\xfe bytes"), {{"field", std::string("\xc3")}});
  ASSERT_EQ(lines().size(), 1u);
}

TEST(LogLevelTest, ParsesKnownLevelsOnly) {
  log::Level level{};
  EXPECT_TRUE(log::parse_level("warn", level));
  EXPECT_EQ(level, log::Level::kWarn);
  EXPECT_FALSE(log::parse_level("loud", level));
}

}  // namespace
}  // namespace vontres
