// Backend of `vontres ai sentiment [TEXT]`: scores TEXT, or every line of `in` when there is no
// TEXT, and writes one JSON object per line, {"neg":..,"neu":..,"pos":..,"compound":..}, byte for
// byte what JSON.stringify prints for the JS reference. Lines are read and written in large blocks
// (no flush per line), so a million lines take seconds; a final line without '\n' is scored too.
//
// Thread-safety: uses only its arguments; the streams must not be used by others meanwhile.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "ai/sentiment/vader.h"

namespace vontres::ai::sentiment {

// Returns the process exit code: 0, or 1 when writing to `out` failed (e.g. a closed pipe).
int run_sentiment_command(const SentimentAnalyzer& analyzer, const std::optional<std::string>& text, std::istream& in,
                          std::ostream& out);

}  // namespace vontres::ai::sentiment
