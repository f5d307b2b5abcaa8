// G.711 (ITU-T G.711) mu-law and A-law: 16-bit linear PCM <-> 8-bit codes, bit-exact with the
// ITU-T reference (the classic Sun/CCITT implementation the ITU software tools library also uses):
// mu-law uses the 14 most significant bits, A-law the 13, and decoding returns the segment's
// midpoint scaled to 16 bits.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

namespace vontres::telephony::rtp {

enum class G711Law { kMuLaw, kALaw };  // PCMU (payload type 0), PCMA (8)

uint8_t linear_to_ulaw(int16_t sample);
int16_t ulaw_to_linear(uint8_t code);
uint8_t linear_to_alaw(int16_t sample);
int16_t alaw_to_linear(uint8_t code);

// The code for digital silence: 0xFF (mu-law), 0xD5 (A-law).
uint8_t g711_silence(G711Law law);

// `out` must have the same size as `in`.
void g711_encode(G711Law law, std::span<const int16_t> in, std::span<uint8_t> out);
void g711_decode(G711Law law, std::span<const uint8_t> in, std::span<int16_t> out);
// mu-law <-> A-law through linear PCM (for bridging legs that negotiated different laws).
void g711_transcode(G711Law from, G711Law to, std::span<const uint8_t> in, std::span<uint8_t> out);

}  // namespace vontres::telephony::rtp
