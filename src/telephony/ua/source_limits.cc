#include "telephony/ua/source_limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

namespace vontres::telephony::ua {
namespace {

// The 128-bit form of a numeric address (IPv4 mapped into ::ffff:0:0/96) and its natural prefix.
std::optional<std::pair<std::array<uint8_t, 16>, int>> parse_address(std::string_view text) {
  std::string address(text);
  if (address.size() > 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  std::array<uint8_t, 16> bytes{};
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    std::memcpy(bytes.data() + 12, &v4, 4);
    return std::make_pair(bytes, 32);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    std::memcpy(bytes.data(), &v6, 16);
    return std::make_pair(bytes, 128);
  }
  return std::nullopt;
}

bool prefix_matches(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, int bits) {
  int i = 0;
  for (; bits >= 8; bits -= 8, ++i) {
    if (a[i] != b[i]) return false;
  }
  if (bits == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - bits));
  return (a[i] & mask) == (b[i] & mask);
}

}  // namespace

Result<AddressSet> AddressSet::parse(const std::vector<std::string>& entries) {
  AddressSet set;
  for (const auto& entry : entries) {
    const auto slash = entry.find('/');
    auto address = parse_address(std::string_view(entry).substr(0, slash));
    if (!address) return invalid_argument("not a numeric address: " + entry, "invalid_address_set");
    Block block{address->first, 128};
    if (slash != std::string::npos) {
      int prefix = -1;
      const char* begin = entry.data() + slash + 1;
      const char* end = entry.data() + entry.size();
      auto [ptr, error] = std::from_chars(begin, end, prefix);
      if (error != std::errc() || ptr != end || prefix < 0 || prefix > address->second) {
        return invalid_argument("bad prefix length: " + entry, "invalid_address_set");
      }
      block.prefix_bits = prefix + (128 - address->second);
    }
    set.blocks_.push_back(block);
  }
  return set;
}

bool AddressSet::contains(std::string_view address) const {
  if (blocks_.empty()) return false;
  auto parsed = parse_address(address);
  if (!parsed) return false;
  return std::any_of(blocks_.begin(), blocks_.end(),
                     [&](const Block& b) { return prefix_matches(b.bytes, parsed->first, b.prefix_bits); });
}

SourceCallLimiter::SourceCallLimiter(const Clock& clock, SourceCallLimits limits, AddressSet trusted)
    : clock_(clock), limits_(limits), trusted_(std::move(trusted)) {
  limits_.burst = std::max(limits_.burst, limits_.invites_per_second);
}

SourceCallLimiter::Verdict SourceCallLimiter::admit(const std::string& source) {
  if (trusted_.contains(source)) return Verdict::kAdmit;
  const TimePoint now = clock_.now();
  auto [it, inserted] = sources_.try_emplace(source);
  Source& s = it->second;
  if (inserted) {
    s.tokens = static_cast<double>(limits_.burst);
    s.refilled = now;
  }
  if (limits_.max_concurrent != 0 && s.held >= limits_.max_concurrent) return Verdict::kTooManyCalls;
  if (limits_.invites_per_second != 0) {
    const double elapsed = std::chrono::duration<double>(now - s.refilled).count();
    s.tokens = std::min(static_cast<double>(limits_.burst),
                        s.tokens + std::max(0.0, elapsed) * static_cast<double>(limits_.invites_per_second));
    s.refilled = now;
    if (s.tokens < 1.0) return Verdict::kTooFast;
    s.tokens -= 1.0;
  }
  ++s.held;
  if (inserted && sources_.size() > limits_.max_tracked_sources) forget_idle();
  return Verdict::kAdmit;
}

void SourceCallLimiter::released(const std::string& source) {
  auto it = sources_.find(source);
  if (it == sources_.end() || it->second.held == 0) return;
  --it->second.held;
}

uint64_t SourceCallLimiter::held(const std::string& source) const {
  auto it = sources_.find(source);
  return it == sources_.end() ? 0 : it->second.held;
}

int SourceCallLimiter::retry_after_seconds(Verdict verdict) const {
  switch (verdict) {
    case Verdict::kAdmit: return 0;
    case Verdict::kTooFast: return 1;
    case Verdict::kTooManyCalls: return 10;
  }
  return 10;
}

// Sources holding no call whose bucket has refilled carry no state worth keeping.
void SourceCallLimiter::forget_idle() {
  const TimePoint now = clock_.now();
  const double rate = static_cast<double>(limits_.invites_per_second);
  std::erase_if(sources_, [&](const auto& entry) {
    const Source& s = entry.second;
    if (s.held != 0) return false;
    if (rate == 0) return true;
    const double refill = std::chrono::duration<double>(now - s.refilled).count() * rate;
    return s.tokens + refill >= static_cast<double>(limits_.burst);
  });
}

std::string_view verdict_name(SourceCallLimiter::Verdict verdict) {
  switch (verdict) {
    case SourceCallLimiter::Verdict::kAdmit: return "admit";
    case SourceCallLimiter::Verdict::kTooManyCalls: return "too_many_calls";
    case SourceCallLimiter::Verdict::kTooFast: return "too_fast";
  }
  return "unknown";
}

}  // namespace vontres::telephony::ua
