#include "ai/stt/audio_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

namespace vontres::ai::stt {

namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatFloat = 3;
constexpr uint16_t kFormatALaw = 6;
constexpr uint16_t kFormatMuLaw = 7;
constexpr uint16_t kFormatExtensible = 0xFFFE;

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

// G.711 expansion (the classic CCITT decoder; kept here so this library does not depend on the
// telephony libraries).
int ulaw_to_linear(uint8_t code) {
  code = static_cast<uint8_t>(~code);
  int t = ((code & 0x0F) << 3) + 0x84;
  t <<= (code & 0x70) >> 4;
  return (code & 0x80) ? (0x84 - t) : (t - 0x84);
}
int alaw_to_linear(uint8_t code) {
  code ^= 0x55;
  int t = (code & 0x0F) << 4;
  int seg = (code & 0x70) >> 4;
  if (seg == 0) {
    t += 8;
  } else {
    t = (t + 0x108) << (seg - 1);
  }
  return (code & 0x80) ? t : -t;
}

int16_t clamp16(double v) { return static_cast<int16_t>(std::lround(std::clamp(v, -32768.0, 32767.0))); }

// One sample as a value on the int16 scale.
double decode_sample(const uint8_t* p, uint16_t format, uint16_t bits) {
  switch (format) {
    case kFormatPcm:
      switch (bits) {
        case 8: return (static_cast<int>(p[0]) - 128) * 256.0;
        case 16: return static_cast<int16_t>(le16(p));
        case 24: {
          int32_t v = static_cast<int32_t>((static_cast<uint32_t>(p[0]) << 8) | (static_cast<uint32_t>(p[1]) << 16) |
                                           (static_cast<uint32_t>(p[2]) << 24));
          return static_cast<double>(v >> 8) / 256.0;
        }
        default: return static_cast<double>(static_cast<int32_t>(le32(p))) / 65536.0;
      }
    case kFormatFloat:
      if (bits == 32) {
        float f = 0;
        uint32_t u = le32(p);
        std::memcpy(&f, &u, sizeof f);
        return std::isfinite(f) ? f * 32768.0 : 0.0;
      } else {
        double d = 0;
        uint64_t u = le32(p) | (static_cast<uint64_t>(le32(p + 4)) << 32);
        std::memcpy(&d, &u, sizeof d);
        return std::isfinite(d) ? d * 32768.0 : 0.0;
      }
    case kFormatMuLaw: return ulaw_to_linear(p[0]);
    default: return alaw_to_linear(p[0]);
  }
}

}  // namespace

Result<PcmAudio> parse_audio_wav(std::span<const uint8_t> bytes) {
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 || std::memcmp(bytes.data() + 8, "WAVE", 4) != 0) {
    return invalid_argument("not a RIFF/WAVE file", "wav_malformed");
  }
  bool have_fmt = false;
  uint16_t format = 0, channels = 0, bits = 0, block_align = 0;
  uint32_t rate = 0;
  std::span<const uint8_t> data;
  bool have_data = false;
  size_t pos = 12;
  while (pos + 8 <= bytes.size()) {
    const uint8_t* chunk = bytes.data() + pos;
    uint32_t size = le32(chunk + 4);
    size_t body = pos + 8;
    size_t available = bytes.size() - body;
    if (std::memcmp(chunk, "fmt ", 4) == 0) {
      if (size < 16 || size > available) return invalid_argument("truncated fmt chunk", "wav_malformed");
      const uint8_t* f = bytes.data() + body;
      format = le16(f);
      channels = le16(f + 2);
      rate = le32(f + 4);
      block_align = le16(f + 12);
      bits = le16(f + 14);
      if (format == kFormatExtensible) {
        if (size < 40) return invalid_argument("truncated WAVE_FORMAT_EXTENSIBLE", "wav_malformed");
        format = le16(f + 24);  // first two bytes of the sub-format GUID
      }
      have_fmt = true;
    } else if (std::memcmp(chunk, "data", 4) == 0) {
      // A streaming writer may leave 0 or 0xFFFFFFFF: take what is there.
      size_t len = (size == 0 || size > available) ? available : size;
      data = bytes.subspan(body, len);
      have_data = true;
      break;
    }
    if (size > available) return invalid_argument("chunk runs past the end of the file", "wav_malformed");
    pos = body + size + (size & 1u);
  }
  if (!have_fmt) return invalid_argument("no fmt chunk", "wav_malformed");
  if (!have_data) return invalid_argument("no data chunk", "wav_malformed");
  if (channels == 0 || channels > 16) return invalid_argument("bad channel count", "wav_unsupported");
  if (rate < 1000 || rate > 384000) return invalid_argument("unsupported sample rate", "wav_unsupported");
  bool ok = (format == kFormatPcm && (bits == 8 || bits == 16 || bits == 24 || bits == 32)) ||
            (format == kFormatFloat && (bits == 32 || bits == 64)) ||
            ((format == kFormatMuLaw || format == kFormatALaw) && bits == 8);
  if (!ok) {
    return invalid_argument(
        "unsupported encoding (format " + std::to_string(format) + ", " + std::to_string(bits) + " bits)",
        "wav_unsupported");
  }
  const size_t bytes_per_sample = bits / 8u;
  const size_t frame_bytes = bytes_per_sample * channels;
  if (block_align != 0 && block_align != frame_bytes) return invalid_argument("bad block align", "wav_malformed");
  PcmAudio audio;
  audio.sample_rate = static_cast<int>(rate);
  audio.source_channels = channels;
  const size_t frames = data.size() / frame_bytes;
  audio.samples.resize(frames);
  for (size_t i = 0; i < frames; ++i) {
    double sum = 0;
    for (size_t c = 0; c < channels; ++c)
      sum += decode_sample(data.data() + i * frame_bytes + c * bytes_per_sample, format, bits);
    audio.samples[i] = clamp16(sum / channels);
  }
  return audio;
}

Result<PcmAudio> read_audio_wav(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open '" + path + "'", "wav_io");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return internal_error("cannot read '" + path + "'", "wav_io");
  auto audio = parse_audio_wav(bytes);
  if (!audio) return audio.status().with_context(path);
  return audio;
}

}  // namespace vontres::ai::stt
