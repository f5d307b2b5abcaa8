#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/ids.h"

namespace vontres {
namespace {

using namespace std::chrono_literals;

TEST(ManualClockTest, MovesOnlyWhenAdvanced) {
  ManualClock clock;
  TimePoint start = clock.now();
  EXPECT_EQ(clock.now(), start);
  clock.advance(1500ms);
  EXPECT_EQ(clock.now() - start, 1500ms);
  EXPECT_EQ(format_rfc3339(start), "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(clock.now()), "2026-01-01T00:00:01.500Z");
}

TEST(ManualClockTest, CanBeSetToAnInstant) {
  ManualClock clock;
  clock.set(TimePoint(std::chrono::seconds(86400)));
  EXPECT_EQ(clock.now_unix_seconds(), 86400);
  EXPECT_EQ(clock.now_unix_ms(), 86'400'000);
}

TEST(SystemClockTest, IsCloseToTheRealTime) {
  auto diff = SystemClock::instance().now() - std::chrono::system_clock::now();
  EXPECT_LT(std::chrono::abs(diff), 1s);
}

TEST(IdGeneratorTest, MakesVersion7UuidsThatSortByCreationTime) {
  ManualClock clock;
  IdGenerator ids(clock, 42);
  std::string first = ids.next();
  clock.advance(1ms);
  std::string second = ids.next();
  EXPECT_TRUE(is_uuid(first)) << first;
  EXPECT_EQ(first[14], '7');
  EXPECT_TRUE(first[19] == '8' || first[19] == '9' || first[19] == 'a' || first[19] == 'b') << first;
  EXPECT_LT(first, second);
  // The first 48 bits are the Unix time in milliseconds: 1767225600000 = 0x019b76daa800.
  EXPECT_EQ(first.substr(0, 8), "019b76da");
}

TEST(IdGeneratorTest, IsUniqueAcrossThreads) {
  ManualClock clock;  // same millisecond for all: uniqueness must come from the random part
  IdGenerator ids(clock, 7);
  std::vector<std::string> a, b;
  std::thread t1([&] {
    for (int i = 0; i < 5000; ++i) a.push_back(ids.next());
  });
  std::thread t2([&] {
    for (int i = 0; i < 5000; ++i) b.push_back(ids.next());
  });
  t1.join();
  t2.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 10000u);
}

TEST(IdTest, TypedIdsCompareAndHash) {
  CallId a("x"), b("y");
  EXPECT_LT(a, b);
  EXPECT_EQ(std::hash<CallId>{}(a), std::hash<std::string>{}("x"));
  EXPECT_FALSE(is_uuid("not-a-uuid"));
}

}  // namespace
}  // namespace vontres
