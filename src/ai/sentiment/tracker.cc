#include "ai/sentiment/tracker.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace vontres::ai::sentiment {

std::string_view speaker_name(Speaker speaker) { return speaker == Speaker::kCaller ? "caller" : "agent"; }

Status validate(const SentimentTrackerOptions& options) {
  constexpr std::string_view kCode = "invalid_sentiment_tracker_options";
  if (!(options.alert_threshold > -1.0 && options.alert_threshold <= 1.0)) {
    return invalid_argument("alert_threshold must be in (-1, 1]", std::string(kCode));
  }
  if (options.alert_duration <= Duration::zero()) {
    return invalid_argument("alert_duration must be positive", std::string(kCode));
  }
  if (options.half_life <= Duration::zero()) {
    return invalid_argument("half_life must be positive", std::string(kCode));
  }
  return Status::ok();
}

Result<SentimentTracker> SentimentTracker::create(const SentimentAnalyzer& analyzer, const Clock& clock,
                                                  const SentimentTrackerOptions& options) {
  VONTRES_RETURN_IF_ERROR(validate(options));
  return SentimentTracker(analyzer, clock, options);
}

UtteranceSentiment SentimentTracker::add_utterance(Speaker speaker, std::string_view text) {
  UtteranceSentiment result;
  result.speaker = speaker;
  result.at = clock_->now();
  result.scores = analyzer_->polarity_scores(text);
  const bool has_words = result.scores.neg + result.scores.neu + result.scores.pos > 0;
  if (has_words) {
    Rolling& rolling = rolling_of(speaker);
    if (rolling.weight > 0) {
      // Clocks may step back; an utterance is never older than the previous one.
      const double age = std::max(0.0, std::chrono::duration<double>(result.at - rolling.last).count());
      const double decay = std::exp2(-age / std::chrono::duration<double>(options_.half_life).count());
      rolling.weighted_sum *= decay;
      rolling.weight *= decay;
    }
    rolling.weighted_sum += result.scores.compound;
    rolling.weight += 1;
    rolling.last = result.at;
    if (speaker == Speaker::kCaller) {
      const double score = rolling.weighted_sum / rolling.weight;
      if (score < options_.alert_threshold) {
        if (!caller_below_since_) caller_below_since_ = result.at;
      } else {
        caller_below_since_.reset();
        alert_raised_ = false;  // recovered: the next dip may alert again
      }
    }
  }
  result.rolling_score = rolling_score(speaker);
  result.alert = check_alert(result.at);
  return result;
}

std::optional<SentimentAlert> SentimentTracker::poll() { return check_alert(clock_->now()); }

std::optional<double> SentimentTracker::rolling_score(Speaker speaker) const {
  const Rolling& rolling = rolling_of(speaker);
  if (rolling.weight <= 0) return std::nullopt;
  return rolling.weighted_sum / rolling.weight;
}

std::optional<SentimentAlert> SentimentTracker::check_alert(TimePoint now) {
  if (alert_raised_ || !caller_below_since_ || now - *caller_below_since_ < options_.alert_duration) {
    return std::nullopt;
  }
  alert_raised_ = true;
  return SentimentAlert{rolling_score(Speaker::kCaller).value_or(0), *caller_below_since_, now};
}

}  // namespace vontres::ai::sentiment
