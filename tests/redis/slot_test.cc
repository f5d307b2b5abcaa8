#include "redis/slot.h"

#include <gtest/gtest.h>

namespace vontres::redis {
namespace {

TEST(SlotTest, Crc16MatchesTheXmodemCheckValue) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(crc16(""), 0);
}

TEST(SlotTest, KeySlotsMatchRedis) {
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("hello"), 866);
  EXPECT_LT(key_slot(std::string(1000, '\xff')), kSlotCount);
}

TEST(SlotTest, KeysWithTheSameHashTagShareASlot) {
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(hash_tag("foo{bar}{zap}"), "bar") << "only the first tag counts";
  EXPECT_EQ(hash_tag("foo{{bar}}zap"), "{bar");
}

TEST(SlotTest, EmptyOrUnclosedBracesHashTheWholeKey) {
  EXPECT_EQ(hash_tag("foo{}{bar}"), "foo{}{bar}");
  EXPECT_EQ(hash_tag("foo{bar"), "foo{bar");
  EXPECT_EQ(hash_tag("}foo{"), "}foo{");
  EXPECT_EQ(key_slot("{}"), crc16("{}") % kSlotCount);
}

}  // namespace
}  // namespace vontres::redis
