#include "telephony/rtp/wav.h"

#include <array>
#include <bit>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

namespace vontres::telephony::rtp {
namespace {

static_assert(std::endian::native == std::endian::little, "WAV samples are written in host order");

constexpr size_t kHeaderBytes = 44;
constexpr uint64_t kMaxDataBytes = std::numeric_limits<uint32_t>::max() - kHeaderBytes;

Status malformed(std::string message) { return invalid_argument(std::move(message), "wav_malformed"); }
Status unsupported(std::string message) { return invalid_argument(std::move(message), "wav_unsupported"); }

uint16_t read16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t read32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v));
  put16(p + 2, static_cast<uint16_t>(v >> 16));
}

std::array<uint8_t, kHeaderBytes> make_header(uint32_t sample_rate, uint16_t channels, uint32_t data_bytes) {
  std::array<uint8_t, kHeaderBytes> header{};
  std::memcpy(header.data(), "RIFF", 4);
  put32(header.data() + 4, data_bytes + 36);
  std::memcpy(header.data() + 8, "WAVEfmt ", 8);
  put32(header.data() + 16, 16);
  put16(header.data() + 20, 1);  // PCM
  put16(header.data() + 22, channels);
  put32(header.data() + 24, sample_rate);
  put32(header.data() + 28, sample_rate * channels * 2);
  put16(header.data() + 32, static_cast<uint16_t>(channels * 2));
  put16(header.data() + 34, 16);
  std::memcpy(header.data() + 36, "data", 4);
  put32(header.data() + 40, data_bytes);
  return header;
}

}  // namespace

Result<WavAudio> parse_wav(std::span<const uint8_t> bytes) {
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 || std::memcmp(bytes.data() + 8, "WAVE", 4) != 0) {
    return malformed("not a RIFF/WAVE file");
  }
  bool have_format = false;
  WavAudio audio;
  size_t offset = 12;
  while (offset + 8 <= bytes.size()) {
    const uint8_t* chunk = bytes.data() + offset;
    uint32_t size = read32(chunk + 4);
    size_t body = offset + 8;
    if (size > bytes.size() - body) return malformed("chunk runs past the end of the file");
    if (std::memcmp(chunk, "fmt ", 4) == 0) {
      if (size < 16) return malformed("fmt chunk too short");
      uint16_t format = read16(chunk + 8);
      uint16_t channels = read16(chunk + 10);
      audio.sample_rate = read32(chunk + 12);
      uint16_t bits = read16(chunk + 22);
      if (format == 0xfffe && size >= 26) format = read16(chunk + 32);  // WAVE_FORMAT_EXTENSIBLE subformat
      if (format != 1) return unsupported("only PCM WAV files are supported (format " + std::to_string(format) + ")");
      if (bits != 16) return unsupported("only 16-bit samples are supported (got " + std::to_string(bits) + ")");
      if (channels != 1) return unsupported("only mono files are supported (got " + std::to_string(channels) + ")");
      if (audio.sample_rate == 0) return malformed("sample rate 0");
      have_format = true;
    } else if (std::memcmp(chunk, "data", 4) == 0) {
      if (!have_format) return malformed("data chunk before fmt chunk");
      audio.samples.resize(size / 2);
      if (!audio.samples.empty()) std::memcpy(audio.samples.data(), bytes.data() + body, audio.samples.size() * 2);
      return audio;
    }
    offset = body + size + (size & 1);  // chunks are word-aligned
  }
  return malformed(have_format ? "no data chunk" : "no fmt chunk");
}

Result<WavAudio> read_wav(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorKind::kNotFound, "wav_io", "cannot open " + path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto audio = parse_wav(bytes);
  if (!audio.is_ok()) return audio.status().with_context(path);
  return audio;
}

Status write_wav(const std::string& path, uint32_t sample_rate, uint16_t channels, std::span<const int16_t> samples) {
  VONTRES_ASSIGN_OR_RETURN(auto writer, WavWriter::open(path, sample_rate, channels));
  VONTRES_RETURN_IF_ERROR(writer->write(samples));
  return writer->close();
}

WavWriter::WavWriter(Key /*key*/, std::unique_ptr<std::FILE, FileCloser> file, uint16_t channels, std::string path)
    : file_(std::move(file)), channels_(channels), path_(std::move(path)) {}

WavWriter::~WavWriter() { (void)close(); }

Result<std::unique_ptr<WavWriter>> WavWriter::open(const std::string& path, uint32_t sample_rate, uint16_t channels) {
  if (channels < 1 || channels > 2 || sample_rate == 0)
    return invalid_argument("1 or 2 channels, rate > 0", "wav_unsupported");
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "wb"));
  if (!file) return Status(ErrorKind::kUnavailable, "wav_io", "cannot create " + path);
  auto header = make_header(sample_rate, channels, 0);
  if (std::fwrite(header.data(), 1, header.size(), file.get()) != header.size()) {
    return Status(ErrorKind::kUnavailable, "wav_io", "cannot write " + path);
  }
  return std::make_unique<WavWriter>(Key{}, std::move(file), channels, path);
}

Status WavWriter::write(std::span<const int16_t> samples) {
  if (!file_) return failed_precondition("writer is closed", "wav_io");
  if (samples.size() % channels_ != 0) return invalid_argument("samples are not whole frames", "wav_unsupported");
  if (samples.empty()) return Status::ok();
  if (data_bytes_ + samples.size_bytes() > kMaxDataBytes) {
    return resource_exhausted("WAV files are limited to 4 GiB", "wav_io");
  }
  if (std::fwrite(samples.data(), 2, samples.size(), file_.get()) != samples.size()) {
    return Status(ErrorKind::kUnavailable, "wav_io", "write failed on " + path_);
  }
  data_bytes_ += samples.size_bytes();
  return Status::ok();
}

Status WavWriter::close() {
  if (!file_) return Status::ok();
  std::array<uint8_t, 4> riff_size{};
  std::array<uint8_t, 4> data_size{};
  put32(riff_size.data(), static_cast<uint32_t>(data_bytes_ + 36));
  put32(data_size.data(), static_cast<uint32_t>(data_bytes_));
  bool ok = std::fseek(file_.get(), 4, SEEK_SET) == 0 && std::fwrite(riff_size.data(), 1, 4, file_.get()) == 4 &&
            std::fseek(file_.get(), 40, SEEK_SET) == 0 && std::fwrite(data_size.data(), 1, 4, file_.get()) == 4;
  ok = std::fflush(file_.get()) == 0 && ok;
  file_.reset();
  if (!ok) return Status(ErrorKind::kUnavailable, "wav_io", "cannot finalise " + path_);
  return Status::ok();
}

}  // namespace vontres::telephony::rtp
