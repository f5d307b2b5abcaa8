#include "ai/redaction/card_guard.h"

#include <algorithm>
#include <utility>

#include "ai/redaction/detail/digits.h"

namespace vontres::ai::redaction {
namespace {

// The length a card number with these leading digits has (Amex 15, Diners 14, most others 16).
size_t expected_length(std::string_view digits) {
  if (digits.size() >= 2 && (digits.substr(0, 2) == "34" || digits.substr(0, 2) == "37")) return 15;
  if (digits.size() >= 2 && digits.substr(0, 2) == "36") return 14;
  if (digits.size() >= 3 && digits.substr(0, 2) == "30" && digits[2] >= '0' && digits[2] <= '5') return 14;
  return 16;
}

bool holds_complete_card(std::string_view digits) {
  for (size_t start = 0; start < digits.size(); ++start) {
    std::string_view rest = digits.substr(start);
    size_t expected = expected_length(rest);
    for (size_t len : {expected, size_t{19}}) {
      if (rest.size() >= len && detail::luhn_valid(rest.substr(0, len))) return true;
    }
  }
  return false;
}

size_t count_phrases(std::string_view lower, const std::vector<std::string>& phrases) {
  size_t count = 0;
  for (const std::string& phrase : phrases) {
    for (size_t at = lower.find(phrase); at != std::string_view::npos; at = lower.find(phrase, at + phrase.size())) {
      ++count;
    }
  }
  return count;
}

}  // namespace

std::string_view guard_reason_name(GuardReason reason) {
  switch (reason) {
    case GuardReason::kTriggerPhrase: return "trigger_phrase";
    case GuardReason::kSpokenDigits: return "spoken_digits";
    case GuardReason::kKeyedDigits: return "keyed_digits";
    case GuardReason::kExplicit: return "explicit";
    case GuardReason::kNumberComplete: return "number_complete";
    case GuardReason::kQuietTimeout: break;
  }
  return "quiet_timeout";
}

Status validate(const CardGuardOptions& options) {
  auto bad = [](std::string message) { return invalid_argument(std::move(message), "invalid_card_guard_options"); };
  if (options.pause_after_digits < 2 || options.pause_after_digits > 19) return bad("pause_after_digits must be 2..19");
  if (options.quiet_timeout <= Duration::zero()) return bad("quiet_timeout must be positive");
  if (options.details_window < Duration::zero()) return bad("details_window must not be negative");
  if (options.keyed_digit_gap <= Duration::zero()) return bad("keyed_digit_gap must be positive");
  for (const std::string& phrase : options.trigger_phrases) {
    if (phrase.empty()) return bad("trigger phrases must not be empty");
    if (std::any_of(phrase.begin(), phrase.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
      return bad("trigger phrases must be lower case");
    }
  }
  return Status::ok();
}

CardGuard::CardGuard(const Clock& clock, CardGuardOptions options) : clock_(clock), options_(std::move(options)) {}

std::vector<GuardTransition> CardGuard::on_transcript(std::string_view text, bool is_final) {
  std::vector<GuardTransition> out;
  check_timers(out);
  current_len_ = text.size();
  std::string_view fresh = text.size() > ignore_before_ ? text.substr(ignore_before_) : std::string_view();
  std::string lower(fresh);
  std::transform(lower.begin(), lower.end(), lower.begin(), detail::ascii_lower);
  size_t triggers = count_phrases(lower, options_.trigger_phrases);
  std::vector<detail::DigitToken> tokens = detail::find_digit_tokens(fresh);
  std::string digits;
  size_t longest_run = 0;
  for (const detail::DigitRun& run : detail::group_runs(fresh, tokens)) {
    size_t run_digits = 0;
    for (size_t t = run.first_token; t < run.last_token; ++t) {
      digits.append(tokens[t].digits, tokens[t].count);
      run_digits += tokens[t].count;
    }
    longest_run = std::max(longest_run, run_digits);
  }
  if (!paused_) {
    if (triggers > seen_triggers_) {
      enter_pause(GuardReason::kTriggerPhrase, out);
    } else if (longest_run >= options_.pause_after_digits) {
      enter_pause(GuardReason::kSpokenDigits, out);
    }
  }
  if (paused_) {
    if (triggers > seen_triggers_ || digits.size() > spoken_current_.size()) note_activity();
    spoken_current_ = std::move(digits);
    check_complete();
  }
  seen_triggers_ = triggers;
  if (is_final) {
    spoken_committed_ += spoken_current_;
    spoken_current_.clear();
    ignore_before_ = 0;
    seen_triggers_ = 0;
    current_len_ = 0;
  }
  check_timers(out);
  return out;
}

Result<std::vector<GuardTransition>> CardGuard::on_dtmf(char key) {
  const bool digit = detail::is_ascii_digit(static_cast<unsigned char>(key));
  if (!digit && key != '*' && key != '#' && (key < 'A' || key > 'D')) {
    return invalid_argument("DTMF key must be 0-9, *, # or A-D", "invalid_dtmf_key");
  }
  std::vector<GuardTransition> out;
  check_timers(out);
  const TimePoint now = clock_.now();
  if (!paused_) {
    if (!digit || (!keyed_.empty() && now - last_key_ > options_.keyed_digit_gap)) keyed_.clear();
    if (digit) keyed_.push_back(key);
    last_key_ = now;
    if (keyed_.size() >= options_.pause_after_digits) enter_pause(GuardReason::kKeyedDigits, out);
  } else {
    if (digit) keyed_.push_back(key);
    note_activity();
  }
  if (paused_) check_complete();
  check_timers(out);
  return out;
}

std::vector<GuardTransition> CardGuard::poll() {
  std::vector<GuardTransition> out;
  check_timers(out);
  return out;
}

std::vector<GuardTransition> CardGuard::pause() {
  std::vector<GuardTransition> out;
  check_timers(out);
  if (!paused_) enter_pause(GuardReason::kExplicit, out);
  note_activity();
  return out;
}

std::vector<GuardTransition> CardGuard::resume() {
  std::vector<GuardTransition> out;
  if (paused_) leave_pause(GuardReason::kExplicit, out);
  return out;
}

std::optional<TimePoint> CardGuard::next_deadline() const {
  if (!paused_) return std::nullopt;
  TimePoint deadline = last_activity_ + options_.quiet_timeout;
  if (complete_at_) deadline = std::min(deadline, *complete_at_ + options_.details_window);
  return deadline;
}

void CardGuard::check_timers(std::vector<GuardTransition>& out) {
  if (!paused_) return;
  const TimePoint now = clock_.now();
  if (complete_at_ && now >= *complete_at_ + options_.details_window) {
    leave_pause(GuardReason::kNumberComplete, out);
  } else if (now >= last_activity_ + options_.quiet_timeout) {
    leave_pause(GuardReason::kQuietTimeout, out);
  }
}

void CardGuard::check_complete() {
  if (complete_at_) return;
  std::string spoken = spoken_committed_ + spoken_current_;
  if (holds_complete_card(spoken) || holds_complete_card(keyed_)) complete_at_ = clock_.now();
}

void CardGuard::enter_pause(GuardReason reason, std::vector<GuardTransition>& out) {
  paused_ = true;
  complete_at_.reset();
  spoken_committed_.clear();
  spoken_current_.clear();
  note_activity();
  out.push_back({true, reason, clock_.now()});
}

void CardGuard::leave_pause(GuardReason reason, std::vector<GuardTransition>& out) {
  paused_ = false;
  complete_at_.reset();
  spoken_committed_.clear();
  spoken_current_.clear();
  keyed_.clear();
  // What the caller already said in this utterance was handled; only new text may pause again.
  ignore_before_ = current_len_;
  seen_triggers_ = 0;
  out.push_back({false, reason, clock_.now()});
}

}  // namespace vontres::ai::redaction
