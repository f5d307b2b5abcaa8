// In-call card protection for one call: fed with the caller's partial/final transcript text and
// DTMF keys, it says paused() while a card number is being spoken or keyed, so the shell pauses
// recording and transcript storage. It pauses on a trigger phrase ("card number", "credit card",
// "long number on the card", ...), on `pause_after_digits` digits spoken or keyed in a row, or on
// pause(); it resumes `details_window` after a complete card number (Luhn-valid, full length for its
// prefix), after `quiet_timeout` without digits or trigger phrases, or on resume(). Every change of
// state is returned as a GuardTransition for the shell to log (ai.protection_paused / _resumed).
//
// Thread-safety: none; one owner per call (the call's strand). Time comes only from the Clock;
// call poll() at next_deadline() so timeouts fire without new input.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace vontres::ai::redaction {

struct CardGuardOptions {
  size_t pause_after_digits = 4;                       // digits in a row that pause; 2..19
  Duration quiet_timeout = std::chrono::seconds(20);   // > 0
  Duration details_window = std::chrono::seconds(15);  // CVV/expiry after a complete number; >= 0
  Duration keyed_digit_gap = std::chrono::seconds(5);  // longer gaps between keys restart the count; > 0
  std::vector<std::string> trigger_phrases = {"card number",         "credit card",
                                              "debit card",          "long number on the card",
                                              "number on the front", "card details"};  // lower case
};

// "invalid_card_guard_options" when a field is out of range or a phrase is empty.
Status validate(const CardGuardOptions& options);

enum class GuardReason {
  kTriggerPhrase,   // paused: the caller said a trigger phrase
  kSpokenDigits,    // paused: digits spoken in a row
  kKeyedDigits,     // paused: digits keyed in a row
  kExplicit,        // pause() / resume()
  kNumberComplete,  // resumed: card number complete and details_window over
  kQuietTimeout,    // resumed: no digits or trigger phrase for quiet_timeout
};
std::string_view guard_reason_name(GuardReason reason);  // "trigger_phrase", "spoken_digits", ...

struct GuardTransition {
  bool paused = false;  // the new state
  GuardReason reason = GuardReason::kExplicit;
  TimePoint at;
  // "ai.protection_paused" or "ai.protection_resumed".
  std::string_view event_name() const { return paused ? "ai.protection_paused" : "ai.protection_resumed"; }
};

class CardGuard {
 public:
  // REQUIRES: validate(options) is OK; `clock` outlives the guard.
  CardGuard(const Clock& clock, CardGuardOptions options);

  // The caller's transcript: each partial replaces the previous partial of the same utterance;
  // a final one ends the utterance.
  std::vector<GuardTransition> on_transcript(std::string_view text, bool is_final);
  // One DTMF key: 0-9, *, #, A-D. "invalid_dtmf_key" otherwise.
  Result<std::vector<GuardTransition>> on_dtmf(char key);
  // Fires due timeouts.
  std::vector<GuardTransition> poll();
  std::vector<GuardTransition> pause();
  std::vector<GuardTransition> resume();

  bool paused() const { return paused_; }
  // When poll() next has something to do, if paused.
  std::optional<TimePoint> next_deadline() const;

 private:
  void check_timers(std::vector<GuardTransition>& out);
  void enter_pause(GuardReason reason, std::vector<GuardTransition>& out);
  void leave_pause(GuardReason reason, std::vector<GuardTransition>& out);
  void note_activity() { last_activity_ = clock_.now(); }
  void check_complete();

  const Clock& clock_;
  CardGuardOptions options_;
  bool paused_ = false;
  TimePoint last_activity_{};
  std::optional<TimePoint> complete_at_;
  // Digits of the number being given since the pause began.
  std::string spoken_committed_;  // from final utterances
  std::string spoken_current_;    // from the current partial
  std::string keyed_;
  // Current utterance: text before this offset was already acted on (after a resume).
  size_t ignore_before_ = 0;
  size_t current_len_ = 0;
  size_t seen_triggers_ = 0;  // trigger phrases seen in the current utterance after ignore_before_
  // When the last key was pressed (keys in a row restart after keyed_digit_gap).
  TimePoint last_key_{};
};

}  // namespace vontres::ai::redaction
