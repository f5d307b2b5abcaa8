// Back ends of the `vontres intent ...` commands: each trains a classifier from a labelled CSV
// (see labelled_csv.h), does its job, writes the result to `out` and returns a process exit code
// (0 success, 1 bad data or training failure, with `error: <code>: <message>` on `err`).
//
// Thread-safety: no shared state; safe to call from any thread.
#pragma once

#include <iostream>
#include <ostream>
#include <string>
#include <string_view>

#include "ai/intent/classifier.h"

namespace vontres::ai::intent {

// Prints {"intent": ..., "confidence": ..., "known": ..., "alternatives": [{"intent", "confidence"}...]}.
int run_intent_command(std::string_view text, const std::string& train_csv, std::ostream& out,
                       std::ostream& err = std::cerr, const IntentOptions& options = {});

// Trains on `train_csv`, evaluates on `test_csv`: prints `accuracy: 0.xxxx` on its own line, then
// the summary of print_summary() (macro-F1, calibration, worst intents, frequent confusions).
int run_eval_intent_command(const std::string& train_csv, const std::string& test_csv, std::ostream& out,
                            std::ostream& err = std::cerr, const IntentOptions& options = {});

// Stratified k-fold cross-validation on one file: `accuracy: 0.xxxx` (mean over folds) on its own
// line, the per-fold accuracies, then the pooled out-of-fold summary.
int run_cross_validate_command(const std::string& csv, int folds, std::ostream& out, std::ostream& err = std::cerr,
                               const IntentOptions& options = {}, uint64_t seed = 1);

}  // namespace vontres::ai::intent
