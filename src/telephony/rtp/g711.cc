#include "telephony/rtp/g711.h"

#include <array>
#include <bit>
#include <cassert>

namespace vontres::telephony::rtp {
namespace {

constexpr int kUlawBias = 0x84;
constexpr int kUlawClip = 8159;  // in 14-bit units

int16_t ulaw_decode_slow(uint8_t code) {
  int value = ~code & 0xff;
  int magnitude = (((value & 0x0f) << 3) + kUlawBias) << ((value & 0x70) >> 4);
  return static_cast<int16_t>((value & 0x80) != 0 ? kUlawBias - magnitude : magnitude - kUlawBias);
}

int16_t alaw_decode_slow(uint8_t code) {
  int value = code ^ 0x55;
  int magnitude = (value & 0x0f) << 4;
  int segment = (value & 0x70) >> 4;
  if (segment == 0) {
    magnitude += 8;
  } else {
    magnitude = (magnitude + 0x108) << (segment - 1);
  }
  return static_cast<int16_t>((value & 0x80) != 0 ? magnitude : -magnitude);
}

template <int16_t (*Decode)(uint8_t)>
constexpr std::array<int16_t, 256> make_table() {
  std::array<int16_t, 256> table{};
  for (int i = 0; i < 256; ++i) table[i] = Decode(static_cast<uint8_t>(i));
  return table;
}

const std::array<int16_t, 256> kUlawTable = make_table<ulaw_decode_slow>();
const std::array<int16_t, 256> kAlawTable = make_table<alaw_decode_slow>();

}  // namespace

uint8_t linear_to_ulaw(int16_t sample) {
  int value = sample >> 2;  // 14-bit
  int mask = 0xff;
  if (value < 0) {
    value = -value;
    mask = 0x7f;
  }
  if (value > kUlawClip) value = kUlawClip;
  value += kUlawBias >> 2;
  // Segment: position of the highest set bit above bit 5 (value is in 0x21..0x2000).
  int segment = std::bit_width(static_cast<unsigned>(value)) - 6;
  if (segment < 0) segment = 0;
  if (segment >= 8) return static_cast<uint8_t>(0x7f ^ mask);
  int code = (segment << 4) | ((value >> (segment + 1)) & 0x0f);
  return static_cast<uint8_t>(code ^ mask);
}

int16_t ulaw_to_linear(uint8_t code) { return kUlawTable[code]; }

uint8_t linear_to_alaw(int16_t sample) {
  int value = sample >> 3;  // 13-bit
  int mask = 0xd5;
  if (value < 0) {
    mask = 0x55;
    value = -value - 1;
  }
  // Segment ends 0x1F, 0x3F, 0x7F, ... 0xFFF: segment = bit_width - 5, at least 0.
  int segment = std::bit_width(static_cast<unsigned>(value)) - 5;
  if (segment < 0) segment = 0;
  if (segment >= 8) return static_cast<uint8_t>(0x7f ^ mask);
  int code = segment << 4;
  code |= segment < 2 ? (value >> 1) & 0x0f : (value >> segment) & 0x0f;
  return static_cast<uint8_t>(code ^ mask);
}

int16_t alaw_to_linear(uint8_t code) { return kAlawTable[code]; }

uint8_t g711_silence(G711Law law) { return law == G711Law::kMuLaw ? 0xff : 0xd5; }

void g711_encode(G711Law law, std::span<const int16_t> in, std::span<uint8_t> out) {
  assert(in.size() == out.size());
  if (law == G711Law::kMuLaw) {
    for (size_t i = 0; i < in.size(); ++i) out[i] = linear_to_ulaw(in[i]);
  } else {
    for (size_t i = 0; i < in.size(); ++i) out[i] = linear_to_alaw(in[i]);
  }
}

void g711_decode(G711Law law, std::span<const uint8_t> in, std::span<int16_t> out) {
  assert(in.size() == out.size());
  const auto& table = law == G711Law::kMuLaw ? kUlawTable : kAlawTable;
  for (size_t i = 0; i < in.size(); ++i) out[i] = table[in[i]];
}

void g711_transcode(G711Law from, G711Law to, std::span<const uint8_t> in, std::span<uint8_t> out) {
  assert(in.size() == out.size());
  const auto& table = from == G711Law::kMuLaw ? kUlawTable : kAlawTable;
  for (size_t i = 0; i < in.size(); ++i) {
    out[i] = to == G711Law::kMuLaw ? linear_to_ulaw(table[in[i]]) : linear_to_alaw(table[in[i]]);
  }
}

}  // namespace vontres::telephony::rtp
