#include <gtest/gtest.h>

#include <cmath>

#include "ai/stt/engine.h"
#include "speech_test_util.h"

namespace vontres::ai::stt {
namespace {

using test::Voice;

const std::vector<std::string> kPhrases = {
    "I want to cancel my subscription", "I lost my credit card",   "I need to change my address",
    "I want to speak to a manager",     "Check my balance please", "My internet is not working",
    "I want to cancel my order",        "I found my credit card",  "Please transfer me to billing",
};

// Feeds `pcm` in 20 ms frames at 8 kHz, then ends the stream.
void decode(Stream& stream, std::span<const int16_t> pcm) {
  for (size_t i = 0; i < pcm.size(); i += 160)
    EXPECT_TRUE(stream.feed(pcm.subspan(i, std::min<size_t>(160, pcm.size() - i))));
  EXPECT_TRUE(stream.finish());
}

class PocketSphinxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    PocketSphinxOptions options;
    options.grammar_phrases = kPhrases;
    auto made = make_pocketsphinx_engine(options);
    ASSERT_TRUE(made) << made.status().to_string();
    engine_ = std::move(made).value().release();
  }
  static void TearDownTestSuite() {
    delete engine_;  // NOLINT(cppcoreguidelines-owning-memory): suite-wide fixture
    engine_ = nullptr;
  }

  // Final texts (non-empty) and all hypotheses of one decoded clip.
  std::vector<Hypothesis> transcribe(Mode mode, std::span<const int16_t> pcm8k) {
    std::vector<Hypothesis> out;
    auto stream = engine_->open_stream(mode, 8000, [&out](const Hypothesis& h) { out.push_back(h); });
    EXPECT_TRUE(stream) << stream.status().to_string();
    if (!stream) return out;
    decode(**stream, pcm8k);
    return out;
  }
  static std::string final_text(const std::vector<Hypothesis>& hs) {
    std::string text;
    for (const auto& h : hs) {
      if (h.is_final && !h.text.empty()) text += (text.empty() ? "" : " ") + h.text;
    }
    return text;
  }

  testing::TempDir dir_;
  static Engine* engine_;
};
Engine* PocketSphinxTest::engine_ = nullptr;

TEST_F(PocketSphinxTest, GrammarModeReturnsTheExactSentenceForEspeak) {
  int n = 0;
  for (const std::string sentence :
       {"I want to cancel my subscription", "I lost my credit card", "Please transfer me to billing"}) {
    auto pcm = test::telephone_audio(dir_, test::synthesize(dir_, "e" + std::to_string(n++), sentence, Voice::kEspeak));
    auto hs = transcribe(Mode::kGrammar, pcm);
    std::string expected;
    for (const auto& w : normalize_words(sentence)) expected += (expected.empty() ? "" : " ") + w;
    EXPECT_EQ(final_text(hs), expected);
  }
}

TEST_F(PocketSphinxTest, GrammarModeReturnsTheExactSentenceForFlite) {
  int n = 0;
  for (const std::string sentence :
       {"I lost my credit card", "I need to change my address", "I want to speak to a manager"}) {
    auto pcm = test::telephone_audio(dir_, test::synthesize(dir_, "f" + std::to_string(n++), sentence, Voice::kFlite));
    auto hs = transcribe(Mode::kGrammar, pcm);
    std::string expected;
    for (const auto& w : normalize_words(sentence)) expected += (expected.empty() ? "" : " ") + w;
    EXPECT_EQ(final_text(hs), expected);
  }
}

TEST_F(PocketSphinxTest, OpenModeFindsTheKeyWords) {
  auto pcm = test::telephone_audio(dir_, test::synthesize(dir_, "open", "I lost my credit card", Voice::kFlite));
  const std::string text = final_text(transcribe(Mode::kOpen, pcm));
  EXPECT_NE(text.find("credit card"), std::string::npos) << text;
}

TEST_F(PocketSphinxTest, FinalCarriesTimesAndConfidenceAfterPartials) {
  auto pcm =
      test::telephone_audio(dir_, test::synthesize(dir_, "times", "I want to cancel my subscription", Voice::kEspeak));
  const auto duration_ms = static_cast<int64_t>(pcm.size() / 8);
  auto hs = transcribe(Mode::kGrammar, pcm);
  ASSERT_FALSE(hs.empty());
  const Hypothesis& last = hs.back();
  ASSERT_TRUE(last.is_final);
  EXPECT_EQ(last.text, "i want to cancel my subscription");
  // 300 ms of leading silence, minus the VAD's pre-roll; the end is inside the trailing pause.
  EXPECT_GE(last.start.count(), 0);
  EXPECT_LE(last.start.count(), 300);
  EXPECT_GT(last.end.count(), duration_ms - 1000);  // weak final fricatives may fall under the VAD threshold
  EXPECT_LE(last.end.count(), duration_ms);
  EXPECT_GT(last.confidence, 0.0);
  EXPECT_LE(last.confidence, 1.0);
  size_t partials = 0;
  for (const auto& h : hs) {
    if (h.is_final) continue;
    ++partials;
    EXPECT_EQ(h.confidence, 0.0);
    EXPECT_FALSE(h.text.empty());
    EXPECT_LE(h.end, last.end + std::chrono::milliseconds(600));
  }
  EXPECT_GE(partials, 1u);  // a 2.5 s sentence gives at least one partial at 500 ms intervals
}

TEST_F(PocketSphinxTest, ModeSwitchAppliesFromTheNextUtterance) {
  auto sentence = test::telephone_audio(dir_, test::synthesize(dir_, "sw", "I lost my credit card", Voice::kFlite));
  std::vector<Hypothesis> hs;
  auto stream = engine_->open_stream(Mode::kOpen, 8000, [&hs](const Hypothesis& h) {
    if (h.is_final) hs.push_back(h);
  });
  ASSERT_TRUE(stream);
  // Two utterances separated by a second of silence; the switch lands in the middle of the first.
  std::vector<int16_t> call(sentence);
  call.insert(call.end(), 8000, 0);
  call.insert(call.end(), sentence.begin(), sentence.end());
  const size_t switch_at = sentence.size() / 2 / 160 * 160;
  std::span<const int16_t> pcm(call);
  for (size_t i = 0; i < pcm.size(); i += 160) {
    if (i == switch_at) {
      ASSERT_TRUE((*stream)->set_mode(Mode::kGrammar));
    }
    ASSERT_TRUE((*stream)->feed(pcm.subspan(i, std::min<size_t>(160, pcm.size() - i))));
  }
  ASSERT_TRUE((*stream)->finish());
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[1].text, "i lost my credit card");
  EXPECT_GT(hs[1].start, hs[0].end);
}

TEST_F(PocketSphinxTest, DecodersAreReusedAcrossStreams) {
  auto pcm = test::telephone_audio(dir_, test::synthesize(dir_, "reuse", "Check my balance please", Voice::kEspeak));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(final_text(transcribe(Mode::kGrammar, pcm)), "check my balance please");
}

TEST_F(PocketSphinxTest, SilenceGivesNoResult) {
  std::vector<int16_t> quiet(8000 * 3, 0);
  EXPECT_TRUE(transcribe(Mode::kOpen, quiet).empty());
}

TEST(PocketSphinxEngineTest, ReportsMissingModelsAndUnusableGrammars) {
  PocketSphinxOptions missing;
  missing.model_dir = "/nonexistent/model";
  EXPECT_EQ(make_pocketsphinx_engine(missing).status().code(), "stt_model_missing");
  PocketSphinxOptions oov;
  oov.grammar_phrases = {"qwzxv blorptastic"};
  EXPECT_EQ(make_pocketsphinx_engine(oov).status().code(), "stt_grammar_empty");
}

TEST(PocketSphinxEngineTest, GrammarModeWithoutPhrasesFallsBackToOpenAndRejectsBadRates) {
  auto engine = make_pocketsphinx_engine({});
  ASSERT_TRUE(engine);
  EXPECT_EQ((*engine)->open_stream(Mode::kGrammar, 4000, {}).status().code(), "invalid_sample_rate");
  EXPECT_TRUE((*engine)->open_stream(Mode::kGrammar, 16000, {}));
}

std::vector<int16_t> burst(size_t samples) {
  std::vector<int16_t> out(samples);
  for (size_t i = 0; i < samples; ++i) out[i] = static_cast<int16_t>(8000 * std::sin(static_cast<double>(i) * 0.3));
  return out;
}

TEST(SegmentingEngineTest, OneRecognizerCallPerUtteranceWithVadTimes) {
  std::vector<size_t> calls;
  auto engine = make_segmenting_engine([&calls](std::span<const int16_t> pcm, int rate) -> Result<Hypothesis> {
    calls.push_back(pcm.size());
    EXPECT_EQ(rate, 16000);
    return Hypothesis{.text = "hello", .confidence = 0.9};
  });
  std::vector<Hypothesis> hs;
  auto stream = engine->open_stream(Mode::kOpen, 16000, [&hs](const Hypothesis& h) { hs.push_back(h); });
  ASSERT_TRUE(stream);
  std::vector<int16_t> audio(16000, 0);  // 1 s silence, 1 s burst, 1 s silence, 0.5 s burst
  auto b = burst(16000);
  audio.insert(audio.end(), b.begin(), b.end());
  audio.insert(audio.end(), 16000, 0);
  b = burst(8000);
  audio.insert(audio.end(), b.begin(), b.end());
  ASSERT_TRUE((*stream)->feed(audio));
  ASSERT_TRUE((*stream)->finish());
  ASSERT_EQ(hs.size(), 2u);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(hs[0].start.count(), 800);
  EXPECT_EQ(hs[0].end.count(), 2000);
  EXPECT_EQ(calls[0], 16000u * 18 / 10);  // pre-roll + burst + hangover
  EXPECT_EQ(hs[1].start.count(), 2800);
  EXPECT_EQ(hs[1].end.count(), 3500);
  EXPECT_TRUE(hs[1].is_final);
  EXPECT_EQ(hs[1].text, "hello");
  EXPECT_DOUBLE_EQ(hs[1].confidence, 0.9);
}

TEST(SegmentingEngineTest, RecognizerErrorsGiveAnEmptyFinalAndAnError) {
  auto engine = make_segmenting_engine([](std::span<const int16_t>, int) -> Result<Hypothesis> {
    return unavailable("remote down", "stt_remote_unavailable");
  });
  std::vector<Hypothesis> hs;
  auto stream = engine->open_stream(Mode::kOpen, 8000, [&hs](const Hypothesis& h) { hs.push_back(h); });
  ASSERT_TRUE(stream);
  ASSERT_TRUE((*stream)->feed(burst(8000)));
  EXPECT_EQ((*stream)->finish().code(), "stt_remote_unavailable");
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_TRUE(hs[0].text.empty());
  EXPECT_EQ(hs[0].confidence, 0.0);
}

}  // namespace
}  // namespace vontres::ai::stt
