// Differential test against the JS reference (npm vader-sentiment 1.1.3, run with node): every score
// of every sentence must agree within 1e-4, and the JSON text must be identical.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ai/sentiment/detail/lexicon_data.h"
#include "ai/sentiment/vader.h"
#include "support/subprocess.h"

namespace vontres::ai::sentiment {
namespace {

namespace fs = std::filesystem;

std::string package_dir() {
  if (const char* dir = std::getenv("VONTRES_VADER_DIR"); dir != nullptr && *dir != '\0') return dir;
  return std::string(detail::vader_package_dir());
}

// Texts of a CSV file's first column (RFC 4180 quoting; fields may span lines), header skipped.
std::vector<std::string> read_csv_first_column(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string data = buffer.str();
  std::vector<std::string> texts;
  std::string field;
  bool in_quotes = false;
  bool first_field = true;
  bool header = true;
  for (size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (in_quotes) {
      if (c == '"' && i + 1 < data.size() && data[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == ',' || c == '\n') {
      if (first_field && !header) texts.push_back(field);
      field.clear();
      first_field = c == '\n';
      if (c == '\n') header = false;
    } else if (c != '\r') {
      field.push_back(c);
    }
  }
  return texts;
}

// Scores `texts` with node and compares each result with the C++ one. Returns the number compared.
size_t expect_parity_with_node(const SentimentAnalyzer& analyzer, const std::vector<std::string>& texts) {
  testing::TempDir dir;
  const std::string input = dir.path() + "/texts.bin";
  {
    std::ofstream out(input, std::ios::binary);
    for (size_t i = 0; i < texts.size(); ++i) {
      if (i > 0) out.put('\0');
      out << texts[i];
    }
  }
  const std::string script = std::string(VONTRES_SOURCE_DIR) + "/tests/ai_sentiment/vader_reference.js";
  const auto result = testing::run({"node", script, package_dir(), input});
  EXPECT_EQ(result.exit_code, 0) << "node failed (is nodejs installed and scripts/fetch-vader run?): " << result.err;
  std::istringstream lines(result.out);
  std::string line;
  size_t index = 0;
  size_t mismatches = 0;
  while (std::getline(lines, line)) {
    if (index >= texts.size()) break;
    const std::string& text = texts[index++];
    const Scores scores = analyzer.polarity_scores(text);
    const auto expected = nlohmann::json::parse(line);
    const auto close = [](double a, double b) { return std::fabs(a - b) <= 1e-4; };
    const bool numbers_agree = close(scores.neg, expected.at("neg").get<double>()) &&
                               close(scores.neu, expected.at("neu").get<double>()) &&
                               close(scores.pos, expected.at("pos").get<double>()) &&
                               close(scores.compound, expected.at("compound").get<double>());
    const std::string actual = scores_json(scores);
    if (!numbers_agree || actual != line) {
      ++mismatches;
      if (mismatches <= 20) {
        ADD_FAILURE() << "text #" << index - 1 << " "
                      << nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      << "\n  node: " << line << "\n  c++:  " << actual;
      }
    }
  }
  EXPECT_EQ(index, texts.size()) << "node printed fewer results than texts";
  EXPECT_EQ(mismatches, 0u) << "of " << texts.size() << " texts";
  return index;
}

// Sentences built to exercise each rule: negation (words, "n't", 3-word window), "least",
// boosters and dampeners, capitals, "but", "never so/this", "kind of", idioms, ! and ?, emoji.
std::vector<std::string> rule_cases() {
  const std::vector<std::string> positives = {"good", "happy", "great", "love", "nice", "kind", "helpful", "fine"};
  const std::vector<std::string> negatives = {"bad", "angry", "terrible", "hate", "awful", "lost", "stolen", "wrong"};
  const std::vector<std::string> negations = {"not",     "never",  "isn't",   "don't", "cannot", "without",
                                              "nothing", "doesnt", "won't",   "aint",  "Not",    "NEVER",
                                              "rarely",  "seldom", "despite", "uhuh",  "nor"};
  const std::vector<std::string> boosters = {"very",   "really", "extremely", "so",     "most",   "totally",
                                             "kinda",  "barely", "slightly",  "sorta",  "little", "VERY",
                                             "Really", "hardly", "somewhat",  "kind-of"};
  std::vector<std::string> cases;
  for (const auto* words : {&positives, &negatives}) {
    for (const std::string& word : *words) {
      cases.push_back("The agent was " + word);
      cases.push_back("The agent was " + word + "!");
      cases.push_back("The agent was " + word + "!!!");
      cases.push_back("The agent was " + word + "!!!!!!");
      cases.push_back("was the agent " + word + "??");
      cases.push_back("was the agent " + word + "???");
      cases.push_back("was the agent " + word + "?????");
      cases.push_back("was the agent " + word + "?!?!");
      cases.push_back("The agent was " + std::string(1, static_cast<char>(word[0] - 'a' + 'A')) + word.substr(1));
      std::string upper = word;
      for (char& c : upper) c = static_cast<char>(c - 'a' + 'A');
      cases.push_back("The agent was " + upper);
      cases.push_back("THE AGENT WAS " + upper);
      cases.push_back("The agent was VERY " + word);
      cases.push_back("The agent was VERY " + upper + "!!");
      for (const std::string& negation : negations) {
        cases.push_back("The agent was " + negation + " " + word);
        cases.push_back("The agent " + negation + " really " + word);
        cases.push_back(negation + " the agent is " + word);
        cases.push_back(negation + " the agent was ever " + word);
      }
      for (const std::string& booster : boosters) {
        cases.push_back("It is " + booster + " " + word);
        cases.push_back(booster + " it is " + word);
        cases.push_back(booster + " it is not " + word);
        cases.push_back("not " + booster + " " + word);
      }
      cases.push_back("The card was " + word + " but the app is fine");
      cases.push_back("The card was fine but the app is " + word);
      cases.push_back("The card was " + word + " BUT the app is fine");
      cases.push_back("The card was " + word + " But the app is " + word);
      cases.push_back("but " + word);
      cases.push_back(word + " but");
      cases.push_back("never so " + word);
      cases.push_back("never this " + word);
      cases.push_back("never so very " + word);
      cases.push_back("it was so very " + word);
      cases.push_back("this is so " + word);
      cases.push_back("at least " + word);
      cases.push_back("least " + word);
      cases.push_back("the least " + word);
      cases.push_back("very least " + word);
      cases.push_back("kind of " + word);
      cases.push_back("sort of " + word);
      cases.push_back("it is kind of " + word);
      cases.push_back("it is sort of " + word);
      cases.push_back("just enough " + word);
      cases.push_back("it was just enough " + word);
      cases.push_back(word + ", " + word + ". " + word + "!");
      cases.push_back("\"" + word + "\" '" + word + "' (" + word + ") -" + word + " " + word + "- ." + word);
    }
  }
  for (const std::string idiom :
       {"the shit", "the bomb", "bad ass", "yeah right", "cut the mustard", "kiss of death", "hand to mouth"}) {
    cases.push_back(idiom);
    cases.push_back("this is " + idiom);
    cases.push_back("really good, " + idiom);
    cases.push_back("the service is " + idiom + " honestly");
    cases.push_back("wow it was " + idiom + " for good");
    cases.push_back("I am living " + idiom + " and sad");
    cases.push_back("not good " + idiom);
    cases.push_back("a great deal " + idiom);
  }
  const std::vector<std::string> emoji = {
      "I love it 😀",
      "😡😡😡 my card was declined",
      "☺ nice",
      "thanks 🙏🙏",
      ":) :( :D <3 </3",
      "great :-) but :/",
      "🙂 great",
      "bad 😞",
      "😀",
      "💳 declined 👎",
      "❤️ love it",
      "top 👍👍👍 service!!!",
      ":-D :-P xD XD",
      "good :) :) :)",
      "o.O O.o :-Þ :Þ",
      "ok 👌 fine",
      "🇬🇧 flag great",
      "family 👨‍👩‍👧 happy",
      "é à ü good",
      "ÉNORME bad",
  };
  cases.insert(cases.end(), emoji.begin(), emoji.end());
  // JS string semantics: Unicode whitespace, Kelvin sign, one-code-unit words, invalid UTF-8.
  const std::vector<std::string> unicode = {
      "good\xC2\xA0wonderful",
      "bad\xE2\x80\xA8terrible",
      "not\xE3\x80\x80good",
      "not\xE2\x80\x83good",
      "not\xEF\xBB\xBFgood",
      "not\xE1\x9A\x80good",
      "not\xC2\x85good",
      "not\xE1\xA0\x8Egood",
      "\xE2\x84\xAAind of good",
      "it is \xE2\x84\xAAIND",
      "\xC4\xB0 good",
      "a b c good",
      "I good",
      "x good y",
      "bad \xFF\xFE wolf",
      "bad\xE2\x80 wolf",
      "\xF0\x9F\x98 good",
      "not \xED\xA0\x80\xED\xB0\x80 good",
      "\xC0\xAF good",
      "good \xF4\x90\x80\x80",
      "GOOD \xE2\x82\xAC bad",
      "",
      " ",
      "!!!",
      "?",
      "a",
      "Great.\tAwful.\nFine.\r\nok",
      "HAPPY",
      "HAPPY SAD",
      "HAPPY sad",
      "'s good",
      "good's",
      "!!good!!",
      "?!?good",
      "good?!?",
      "good!?!?",
      "--good",
      "good--",
      "''good",
      "\"good\"",
      "(good)",
      ":)good",
      "good:)",
      "The_shit",
      "n't good",
      "couldn't care less, really bad",
      "least",
      "at least",
      "kind",
      "kind of",
      "of kind of",
  };
  cases.insert(cases.end(), unicode.begin(), unicode.end());
  return cases;
}

// Random sentences over a vocabulary dense in VADER's special words, plus lexicon entries
// (emoticons included) in random capitalisation and with punctuation attached.
std::vector<std::string> random_cases(size_t count, uint32_t seed) {
  std::vector<std::string> vocabulary = {
      "not",   "never", "so",    "this",   "but",    "BUT",   "But",    "least", "at",      "very",  "kind",
      "of",    "sort",  "the",   "shit",   "bomb",   "yeah",  "right",  "cut",   "mustard", "kiss",  "death",
      "hand",  "to",    "mouth", "bad",    "ass",    "just",  "enough", "isn't", "don't",   "n't",   "without",
      "more",  "most",  "less",  "little", "really", "kinda", "card",   "my",    "is",      "I",     "app",
      "money", "😀",     "👎",     "!",      "?",      "!!!",   "??",     ":)",    ":(",      "<3",    "no",
      "nope",  "none",  "very",  "Very",   "VERY",   "NOT",   "Never",  "SO",    "THIS",    "LEAST", "Kind"};
  const auto entries = detail::vader_lexicon_entries();
  std::mt19937 rng(seed);
  for (size_t i = 0; i < 400; ++i) vocabulary.emplace_back(entries[rng() % entries.size()].token);
  const std::vector<std::string> attachments = {"", "", "", "", ".", "!", "?", ",", "!!", "???", "'", "\"", "-", ":)"};
  std::vector<std::string> cases;
  for (size_t n = 0; n < count; ++n) {
    const size_t length = 1 + rng() % 12;
    std::string text;
    for (size_t i = 0; i < length; ++i) {
      std::string word = vocabulary[rng() % vocabulary.size()];
      switch (rng() % 8) {
        case 0:
          for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          break;
        case 1: word = attachments[rng() % attachments.size()] + word; break;
        case 2: word += attachments[rng() % attachments.size()]; break;
        default: break;
      }
      if (i > 0) text += (rng() % 20 == 0) ? "  " : " ";
      text += word;
    }
    cases.push_back(text);
  }
  return cases;
}

class VaderParityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(package_dir() + "/build/vaderSentiment.bundle.js"))
        << "the JS reference is missing in " << package_dir() << ": run scripts/fetch-vader";
  }
  SentimentAnalyzer analyzer_;
};

TEST_F(VaderParityTest, Banking77TrainingSentencesScoreAsInTheJsReference) {
  const std::string path = std::string(VONTRES_SOURCE_DIR) + "/../shared/data/banking77/train.csv";
  if (!fs::exists(path)) GTEST_FAIL() << path << " is absent (the shared banking77 data set is not checked out)";
  const auto texts = read_csv_first_column(path);
  ASSERT_GE(texts.size(), 10000u);
  EXPECT_EQ(expect_parity_with_node(analyzer_, texts), texts.size());
}

TEST_F(VaderParityTest, RuleCasesScoreAsInTheJsReference) {
  const auto texts = rule_cases();
  ASSERT_GE(texts.size(), 1000u);
  EXPECT_EQ(expect_parity_with_node(analyzer_, texts), texts.size());
}

TEST_F(VaderParityTest, RandomSentencesScoreAsInTheJsReference) {
  const auto texts = random_cases(20000, 20140601);
  EXPECT_EQ(expect_parity_with_node(analyzer_, texts), texts.size());
}

}  // namespace
}  // namespace vontres::ai::sentiment
