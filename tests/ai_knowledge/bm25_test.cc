#include "ai/knowledge/bm25.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "ai/knowledge/tokenizer.h"

namespace vontres::ai::knowledge {
namespace {

std::vector<Document> demo() {
  auto docs = load_directory(std::string(VONTRES_SOURCE_DIR) + "/share/knowledge");
  EXPECT_TRUE(docs.is_ok()) << docs.status().to_string();
  return docs.is_ok() ? std::move(docs).value() : std::vector<Document>{};
}

Document make(const std::string& id, const std::string& markdown) {
  auto doc = parse_markdown(id, markdown);
  EXPECT_TRUE(doc.is_ok()) << doc.status().to_string();
  return std::move(doc).value();
}

TEST(Tokenizer, LowerCasesDropsStopWordsAndStems) {
  EXPECT_EQ(tokenize("I lost my Card yesterday!"), (std::vector<std::string>{"lost", "card", "yesterday"}));
  EXPECT_EQ(tokenize("cards, card's"), (std::vector<std::string>{"card", "card"}));
  EXPECT_EQ(stem("cancelled"), "cancel");
  EXPECT_EQ(stem("cancelling"), "cancel");
  EXPECT_EQ(stem("cancellation"), "cancel");
  EXPECT_EQ(stem("cancel"), "cancel");
  EXPECT_EQ(stem("verification"), "verifi");
  EXPECT_EQ(stem("verified"), "verifi");
  EXPECT_EQ(stem("verify"), "verifi");
  EXPECT_EQ(stem("charges"), stem("charged"));
  EXPECT_EQ(stem("stopped"), "stop");
  EXPECT_EQ(stem("call"), stem("calls"));
  EXPECT_EQ(stem("address"), "address");
}

TEST(Tokenizer, KeepsUtf8SequencesWhole) {
  const auto tokens = tokenize("carte bloquée, Überweisung 15€");
  ASSERT_EQ(tokens.size(), 4u);
  EXPECT_EQ(tokens[1], "bloquée");
  EXPECT_EQ(tokens[2],
            "\xc3\x9c"
            "berweisung");  // non-ASCII letters are not case-folded
  EXPECT_EQ(tokens[3], "15€");
}

struct Expected {
  std::string query;
  std::string document;
};

TEST(Bm25Index, KnownQueriesReturnTheExpectedArticleFirst) {
  Bm25Index index;
  ASSERT_TRUE(index.add_all(demo()).is_ok());
  const std::vector<Expected> cases = {
      {"I lost my card yesterday", "card-lost"},
      {"someone stole my wallet with the card", "card-lost"},
      {"I want to cancel", "cancel-subscription"},
      {"how do I terminate my contract", "cancel-subscription"},
      {"my new card still hasn't arrived", "card-arrival"},
      {"I want my money back for the purchase", "refund-request"},
      {"there is a payment on my statement I don't recognise", "billing-dispute"},
      {"I'm moving house and need to update my address", "change-address"},
      {"I forgot my password and can't log in", "password-reset"},
      {"why was I charged so much for roaming abroad", "international-charges"},
      {"I'd like to pay by direct debit from my IBAN", "direct-debit"},
      {"my transfer is still pending", "top-up-failed"},
  };
  for (const Expected& c : cases) {
    const auto hits = index.search(c.query, 3);
    ASSERT_FALSE(hits.empty()) << c.query;
    EXPECT_EQ(hits[0].document_id, c.document) << c.query << " -> " << hits[0].document_id;
    EXPECT_GT(hits[0].score, 0);
    EXPECT_FALSE(hits[0].passage.empty());
  }
}

TEST(Bm25Index, ReturnsTheBestPassageOncePerDocument) {
  Bm25Index index;
  ASSERT_TRUE(index.add_all(demo()).is_ok());
  const auto hits = index.search("express replacement card cost", 10);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].document_id, "card-lost");
  EXPECT_EQ(hits[0].heading, "Card lost or stolen > Order a replacement");
  EXPECT_NE(hits[0].passage.find("express replacement"), std::string::npos);
  for (std::size_t i = 1; i < hits.size(); ++i) {
    EXPECT_NE(hits[i].document_id, hits[0].document_id);
    EXPECT_LE(hits[i].score, hits[i - 1].score);
  }
}

TEST(Bm25Index, TitleAndTagsAreBoosted) {
  Bm25Index index;
  ASSERT_TRUE(index.add(make("tagged", "---\ntags: [roaming]\n---\n# Plain\nsome text about travel\n")).is_ok());
  ASSERT_TRUE(
      index.add(make("body", "# Other\nroaming is mentioned in the body once among many other words here\n")).is_ok());
  const auto hits = index.search("roaming", 2);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].document_id, "tagged");
}

TEST(Bm25Index, AddReplaceAndRemoveAtRuntime) {
  Bm25Index index;
  ASSERT_TRUE(index.add(make("a", "# Alpha\nzebra crossing\n")).is_ok());
  EXPECT_EQ(index.add(make("a", "# Again\n")).code(), "knowledge_duplicate_id");
  EXPECT_EQ(index.search("zebra", 5).size(), 1u);
  index.upsert(make("a", "# Alpha\ngiraffe\n"));
  EXPECT_TRUE(index.search("zebra", 5).empty());
  EXPECT_EQ(index.search("giraffe", 5).size(), 1u);
  EXPECT_EQ(index.document_count(), 1u);
  ASSERT_TRUE(index.remove("a").is_ok());
  EXPECT_EQ(index.remove("a").code(), "knowledge_document_not_found");
  EXPECT_TRUE(index.search("giraffe", 5).empty());
  EXPECT_EQ(index.passage_count(), 0u);
  EXPECT_EQ(index.document("a"), nullptr);
}

TEST(Bm25Index, FailedBatchLeavesIndexUnchanged) {
  Bm25Index index;
  ASSERT_TRUE(index.add(make("a", "# A\none\n")).is_ok());
  std::vector<Document> batch;
  batch.push_back(make("b", "# B\ntwo\n"));
  batch.push_back(make("a", "# A\nthree\n"));
  EXPECT_EQ(index.add_all(std::move(batch)).code(), "knowledge_duplicate_id");
  EXPECT_EQ(index.document_count(), 1u);
  EXPECT_TRUE(index.search("two", 1).empty());
}

TEST(Bm25Index, EmptyAndStopWordOnlyQueriesReturnNothing) {
  Bm25Index index;
  EXPECT_TRUE(index.search("card", 3).empty());
  ASSERT_TRUE(index.add_all(demo()).is_ok());
  EXPECT_TRUE(index.search("", 3).empty());
  EXPECT_TRUE(index.search("the and of", 3).empty());
  EXPECT_TRUE(index.search("card", 0).empty());
}

TEST(Bm25Index, SearchesRunConcurrentlyWithWriters) {
  Bm25Index index;
  ASSERT_TRUE(index.add_all(demo()).is_ok());
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::thread reader([&] {
    while (!stop.load()) {
      const auto hits = index.search("lost card", 1);
      if (hits.empty() || hits[0].document_id != "card-lost") wrong.fetch_add(1);
    }
  });
  for (int i = 0; i < 200; ++i) {
    index.upsert(make("extra", "# Extra " + std::to_string(i) + "\nunrelated words about weather\n"));
    if (i % 2 == 0) {
      EXPECT_TRUE(index.remove("extra").is_ok());
    }
  }
  stop.store(true);
  reader.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace vontres::ai::knowledge
