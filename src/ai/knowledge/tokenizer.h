// Search tokens: lower-cases ASCII, splits on ASCII punctuation and whitespace (bytes >= 0x80 are
// word characters, so UTF-8 sequences are never split), drops English stop words, and applies a
// light suffix stemmer (see stem()). Used alike for documents, queries and script steps.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vontres::ai::knowledge {

// A light English stemmer ("s-stripping plus"), deliberately smaller than Porter2: possessive 's;
// plurals (sses->ss, ies->y, s->"" except ss/us/is); -ication->-y, -ation->"" ; -ing/-ed when a
// vowel remains; then undoubles a final double consonant (except l, s, z), drops one l of a final ll
// on stems longer than 4 ("cancell"->"cancel"), drops a final e on stems longer than 4
// ("charge"/"charged" -> "charg"), and turns a final consonant+y into i
// ("verify"/"verified"/"verification" -> "verifi"). Words shorter than 4 bytes and non-ASCII words
// are returned unchanged. Idempotent for the words we tested, not guaranteed in general.
std::string stem(std::string_view word);

bool is_stop_word(std::string_view lowered_word);

// Lower-cased, stop-word-free, stemmed tokens in order. Digits are kept ("4", "2fa").
std::vector<std::string> tokenize(std::string_view text);

}  // namespace vontres::ai::knowledge
