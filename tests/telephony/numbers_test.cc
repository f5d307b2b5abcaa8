// Phone numbers on a real SQLite store: one owner per number, scoped reads and writes, the memory
// copy equal to the table after a restart.
#include "telephony/numbers.h"

#include <memory>

#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "support/subprocess.h"

namespace vontres::telephony {
namespace {

class NumberDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::SqliteStore::open(StoreConfig{}, dir_.path() + "/db.sqlite", clock_);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->migrate(NumberDirectory::migrations()).is_ok());
    numbers_ = std::make_unique<NumberDirectory>(*store_, clock_);
    ASSERT_TRUE(numbers_->load().is_ok());
  }

  testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<NumberDirectory> numbers_;
};

TEST_F(NumberDirectoryTest, ANumberHasOneOwnerAndOthersCannotTakeUpdateOrReleaseIt) {
  const OrgId a("org-a");
  const OrgId b("org-b");
  EXPECT_TRUE(*numbers_->put(a, "+15550100", QueueId("support")));
  EXPECT_FALSE(*numbers_->put(a, "+15550100", QueueId("sales")));  // the owner updates it
  EXPECT_EQ(numbers_->put(b, "+15550100", QueueId("support")).status().code(), "number_taken");
  EXPECT_EQ(numbers_->remove(b, "+15550100").code(), "number_not_found");
  EXPECT_TRUE(numbers_->list(b).empty());
  auto owner = numbers_->resolve("+15550100");
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->org, a);
  EXPECT_EQ(owner->queue, QueueId("sales"));
  EXPECT_TRUE(numbers_->remove(a, "+15550100").is_ok());
  EXPECT_FALSE(numbers_->resolve("+15550100"));
  EXPECT_TRUE(*numbers_->put(b, "+15550100", QueueId("support")));  // released numbers can be claimed
}

TEST_F(NumberDirectoryTest, ClaimedNumbersSurviveARestart) {
  ASSERT_TRUE(numbers_->put(OrgId("org-a"), "100", QueueId("support")).is_ok());
  NumberDirectory reopened(*store_, clock_);
  ASSERT_TRUE(reopened.load().is_ok());
  auto owner = reopened.resolve("100");
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->org, OrgId("org-a"));
  EXPECT_EQ(reopened.list(OrgId("org-a")).size(), 1U);
}

TEST_F(NumberDirectoryTest, OnlyDialableNumbersAreAccepted) {
  for (const char* good : {"+15550100", "100", "*21#", "0"}) EXPECT_TRUE(validate_number(good).is_ok()) << good;
  for (const char* bad : {"", "+", "abc", "1 2", "+1555-0100", "sip:100", "123456789012345678901234567890123"}) {
    EXPECT_EQ(validate_number(bad).code(), "invalid_number") << bad;
  }
  EXPECT_EQ(numbers_->put(OrgId("org-a"), "not a number", QueueId("q")).status().code(), "invalid_number");
}

}  // namespace
}  // namespace vontres::telephony
