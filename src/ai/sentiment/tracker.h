// Live sentiment of one call: scores each utterance with VADER, keeps a rolling score per speaker,
// and raises one alert when the caller's rolling score stays below a threshold for a while.
//
// Rolling score: a time-decayed weighted mean of the compound scores of the speaker's utterances,
// weight 2^(-age / half_life); it changes only when the speaker says something. Utterances without
// any word VADER counts (empty, one-letter, punctuation only) are reported but not averaged in.
// Alert: once the caller's rolling score is below `alert_threshold` without interruption since an
// utterance at time T, the first add_utterance() or poll() at or after T + `alert_duration` returns
// the alert; it re-arms when the caller's rolling score is back at or above the threshold.
//
// Thread-safety: none; one owner per call (the call's strand). Time comes only from the Clock.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "ai/sentiment/vader.h"
#include "core/clock.h"
#include "core/status.h"

namespace vontres::ai::sentiment {

enum class Speaker { kCaller, kAgent };
std::string_view speaker_name(Speaker speaker);

struct SentimentTrackerOptions {
  double alert_threshold = -0.3;                       // in (-1, 1]
  Duration alert_duration = std::chrono::seconds(20);  // > 0
  Duration half_life = std::chrono::seconds(30);       // > 0
};

// "invalid_sentiment_tracker_options" when a field is out of range.
Status validate(const SentimentTrackerOptions& options);

struct SentimentAlert {
  double rolling_score = 0;  // the caller's rolling score when the alert was raised
  TimePoint below_since;     // the caller's utterance that took the score below the threshold
  TimePoint raised_at;
};

struct UtteranceSentiment {
  Speaker speaker = Speaker::kCaller;
  TimePoint at;
  Scores scores;
  std::optional<double> rolling_score;  // the speaker's, after this utterance
  std::optional<SentimentAlert> alert;  // set at most once until re-armed
};

class SentimentTracker {
 public:
  // `analyzer` and `clock` must outlive the tracker.
  static Result<SentimentTracker> create(const SentimentAnalyzer& analyzer, const Clock& clock,
                                         const SentimentTrackerOptions& options);

  UtteranceSentiment add_utterance(Speaker speaker, std::string_view text);
  // For a timer between utterances: returns the alert when its time has come.
  std::optional<SentimentAlert> poll();

  // nullopt before the speaker's first scored utterance.
  std::optional<double> rolling_score(Speaker speaker) const;
  // True from the alert until the caller recovers.
  bool alert_raised() const { return alert_raised_; }

 private:
  struct Rolling {
    double weighted_sum = 0;
    double weight = 0;
    TimePoint last;
  };
  SentimentTracker(const SentimentAnalyzer& analyzer, const Clock& clock, const SentimentTrackerOptions& options)
      : analyzer_(&analyzer), clock_(&clock), options_(options) {}
  Rolling& rolling_of(Speaker speaker) { return speaker == Speaker::kCaller ? caller_ : agent_; }
  const Rolling& rolling_of(Speaker speaker) const { return speaker == Speaker::kCaller ? caller_ : agent_; }
  std::optional<SentimentAlert> check_alert(TimePoint now);

  const SentimentAnalyzer* analyzer_;
  const Clock* clock_;
  SentimentTrackerOptions options_;
  Rolling caller_;
  Rolling agent_;
  std::optional<TimePoint> caller_below_since_;
  bool alert_raised_ = false;
};

}  // namespace vontres::ai::sentiment
