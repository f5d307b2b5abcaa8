#include "ai/knowledge/document.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "support/subprocess.h"

namespace vontres::ai::knowledge {
namespace {

constexpr std::string_view kScript =
    "---\n"
    "title: Cancel a subscription\n"
    "tags: [cancel, Contract]\n"
    "intents: [cancel_subscription]\n"
    "---\n"
    "# Ignored as title because front matter has one\n"
    "\n"
    "Intro paragraph line one\n"
    "continues here.\n"
    "\n"
    "## Retention\n"
    "### Eligibility\n"
    "Offer the discount.\n"
    "\n"
    "## Required steps\n"
    "- [verify_identity] verify identity | confirm date of birth\n"
    "- read the cancellation terms\n";

TEST(MarkdownDocument, ParsesFrontMatterPassagesAndRequiredSteps) {
  auto doc = parse_markdown("cancel", kScript);
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->id, "cancel");
  EXPECT_EQ(doc->title, "Cancel a subscription");
  EXPECT_EQ(doc->tags, (std::vector<std::string>{"cancel", "contract"}));
  EXPECT_EQ(doc->intents, (std::vector<std::string>{"cancel_subscription"}));
  ASSERT_EQ(doc->passages.size(), 3u);
  EXPECT_EQ(doc->passages[0].text, "Intro paragraph line one continues here.");
  EXPECT_EQ(doc->passages[0].heading, "Ignored as title because front matter has one");
  EXPECT_EQ(doc->passages[0].line, 8);
  EXPECT_EQ(doc->passages[1].heading, "Ignored as title because front matter has one > Retention > Eligibility");
  ASSERT_EQ(doc->required_steps.size(), 2u);
  EXPECT_EQ(doc->required_steps[0].id, "verify_identity");
  EXPECT_EQ(doc->required_steps[0].text, "verify identity");
  EXPECT_EQ(doc->required_steps[0].alternatives.size(), 2u);
  EXPECT_EQ(doc->required_steps[0].line, 16);
  EXPECT_EQ(doc->required_steps[1].id, "step-2");
  EXPECT_EQ(doc->required_steps[1].text, "read the cancellation terms");
}

TEST(MarkdownDocument, TitleComesFromFirstLevelOneHeading) {
  auto doc = parse_markdown("a", "intro\n\n## Sub\ntext\n# Real title\nmore\n# Second\n");
  ASSERT_TRUE(doc.is_ok());
  EXPECT_EQ(doc->title, "Real title");
  EXPECT_EQ(doc->passages.back().heading, "Real title");
}

TEST(MarkdownDocument, CodeFencesKeepTheirLinesAsOnePassage) {
  auto doc = parse_markdown("a", "# T\n```\n# not a heading\n\nline\n```\n");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  ASSERT_EQ(doc->passages.size(), 1u);
  EXPECT_EQ(doc->passages[0].text, "# not a heading line");
}

TEST(MarkdownDocument, CrLfLineEndingsAreAccepted) {
  auto doc = parse_markdown("a", "# Title\r\n\r\nBody text\r\n");
  ASSERT_TRUE(doc.is_ok());
  EXPECT_EQ(doc->passages[0].text, "Body text");
}

struct BadCase {
  std::string text;
  std::string code;
  std::string where;
};

TEST(MarkdownDocument, RejectsMalformedInputWithCodeAndLine) {
  const std::vector<BadCase> cases = {
      {"no title here\n", "knowledge_missing_title", "x.md:1:"},
      {"---\ntitle: a\n", "knowledge_bad_front_matter", "x.md:1:"},
      {"---\ncolour: red\n---\n# T\n", "knowledge_bad_front_matter", "x.md:2:"},
      {"---\ntags: a, b\n---\n# T\n", "knowledge_bad_front_matter", "x.md:2:"},
      {"---\ntitle: a\ntitle: b\n---\n", "knowledge_bad_front_matter", "x.md:3:"},
      {"# T\n\n```\ncode\n", "knowledge_unterminated_code_block", "x.md:3:"},
      {"# T\n## Required steps\nsay hello\n", "knowledge_bad_required_step", "x.md:3:"},
      {"# T\n## Required steps\n- [a] x\n- [a] y\n", "knowledge_bad_required_step", "x.md:4:"},
      {"# T\n## Required steps\n- [Bad Id] x\n", "knowledge_bad_required_step", "x.md:3:"},
      {"# T\n## Required steps\n- [a] x | \n", "knowledge_bad_required_step", "x.md:3:"},
      {"# T\n##\n", "knowledge_bad_heading", "x.md:2:"},
      {"# T\nok\n\xff\n", "knowledge_invalid_utf8", "x.md:3:"},
      {"# T\n\xc0\xaf\n", "knowledge_invalid_utf8", "x.md:2:"},
      {std::string("# T\n\0\n", 6), "knowledge_invalid_utf8", "x.md:2:"},
      {"# T\n" + std::string(5000, 'a') + "\n", "knowledge_line_too_long", "x.md:2:"},
  };
  for (const BadCase& c : cases) {
    auto doc = parse_markdown("x", c.text, "x.md");
    ASSERT_FALSE(doc.is_ok()) << c.text;
    EXPECT_EQ(doc.status().code(), c.code) << c.text << " -> " << doc.status().to_string();
    EXPECT_EQ(doc.status().message().rfind(c.where, 0), 0u) << doc.status().message();
  }
}

TEST(MarkdownDocument, EnforcesSizeAndCountLimits) {
  ParseLimits limits;
  limits.max_bytes = 10;
  EXPECT_EQ(parse_markdown("a", "# Title\nlonger than ten", "", limits).status().code(), "knowledge_too_large");
  limits = {};
  limits.max_passages = 2;
  EXPECT_EQ(parse_markdown("a", "# T\na\n\nb\n\nc\n", "", limits).status().code(), "knowledge_too_many_passages");
  EXPECT_EQ(parse_markdown("Bad Id", "# T\n").status().code(), "knowledge_invalid_id");
}

TEST(MarkdownDocument, AcceptsUtf8Text) {
  auto doc = parse_markdown("a", "# Carte perdue\nLa carte a été bloquée — 15 €.\n");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->passages[0].text, "La carte a été bloquée — 15 €.");
}

TEST(MarkdownDocument, LoadsDirectoryAndReportsTheBadFile) {
  testing::TempDir dir;
  {
    std::ofstream(dir.path() + "/good.md") << "# Good\ntext\n";
    std::ofstream(dir.path() + "/notes.txt") << "ignored";
  }
  auto docs = load_directory(dir.path());
  ASSERT_TRUE(docs.is_ok()) << docs.status().to_string();
  ASSERT_EQ(docs->size(), 1u);
  EXPECT_EQ((*docs)[0].id, "good");
  { std::ofstream(dir.path() + "/zbad.md") << "# T\n## Required steps\noops\n"; }
  auto bad = load_directory(dir.path());
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("zbad.md:3:"), std::string::npos) << bad.status().message();
  EXPECT_EQ(load_directory(dir.path() + "/missing").status().code(), "knowledge_io_error");
}

TEST(MarkdownDocument, DemoKnowledgeBaseLoads) {
  auto docs = load_directory(std::string(VONTRES_SOURCE_DIR) + "/share/knowledge");
  ASSERT_TRUE(docs.is_ok()) << docs.status().to_string();
  EXPECT_GE(docs->size(), 8u);
  EXPECT_LE(docs->size(), 12u);
  for (const Document& doc : *docs) {
    EXPECT_FALSE(doc.title.empty()) << doc.id;
    EXPECT_FALSE(doc.passages.empty()) << doc.id;
    EXPECT_FALSE(doc.tags.empty()) << doc.id;
  }
}

}  // namespace
}  // namespace vontres::ai::knowledge
