// The VADER lexicon of npm `vader-sentiment` 1.1.3, embedded at build time from
// $VONTRES_VADER_DIR/vader_lexicon.txt by embed_lexicon.cmake (the file itself is not committed;
// scripts/fetch-vader downloads and verifies it). Entries are in file order, duplicates included:
// the last occurrence of a token wins, as in the JS port.
//
// Thread-safety: immutable static data.
#pragma once

#include <span>
#include <string_view>

namespace vontres::ai::sentiment::detail {

struct LexiconEntry {
  std::string_view token;
  double valence;  // the mean rating, -4 .. +4
};

std::span<const LexiconEntry> vader_lexicon_entries();

// The package folder the lexicon was embedded from (VONTRES_VADER_DIR at build time); the parity
// tests and the benchmark run its JS with node.
std::string_view vader_package_dir();

}  // namespace vontres::ai::sentiment::detail
