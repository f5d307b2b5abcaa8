// Media hot paths against baselines measured in the same run, so the figures are ratios that carry
// across machines: G.711 encode/decode (samples/s) vs memcpy of the same bytes, RTP header parse
// (packets/s) vs copying the datagram, and jitter-buffer push+pop (packets/s) vs a std::deque of
// payload vectors doing the same push+pop. After the table, prints each BM_Media<Op> as a ratio of
// BM_Baseline<Op>. Not a test: nothing is asserted.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "telephony/rtp/g711.h"
#include "telephony/rtp/jitter_buffer.h"
#include "telephony/rtp/packet.h"

namespace {

namespace rtp = vontres::telephony::rtp;
constexpr size_t kSamples = 160;  // one 20 ms frame

const std::vector<int16_t>& speech_like() {
  static const std::vector<int16_t> samples = [] {
    std::vector<int16_t> made(kSamples);
    for (size_t i = 0; i < kSamples; ++i) {
      made[i] = static_cast<int16_t>(9000 * std::sin(i * 0.13) + 3000 * std::sin(i * 1.7));
    }
    return made;
  }();
  return samples;
}

void BM_MediaEncodeUlaw(benchmark::State& state) {
  std::vector<uint8_t> out(kSamples);
  for (auto _ : state) {
    rtp::g711_encode(rtp::G711Law::kMuLaw, speech_like(), out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kSamples));
}

void BM_MediaEncodeAlaw(benchmark::State& state) {
  std::vector<uint8_t> out(kSamples);
  for (auto _ : state) {
    rtp::g711_encode(rtp::G711Law::kALaw, speech_like(), out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kSamples));
}

// Baseline for encode: copy the 16-bit input samples.
void BM_BaselineEncodeUlaw(benchmark::State& state) {
  std::vector<int16_t> out(kSamples);
  for (auto _ : state) {
    std::memcpy(out.data(), speech_like().data(), kSamples * sizeof(int16_t));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kSamples));
}
void BM_BaselineEncodeAlaw(benchmark::State& state) { BM_BaselineEncodeUlaw(state); }

void BM_MediaDecodeUlaw(benchmark::State& state) {
  std::vector<uint8_t> in(kSamples);
  rtp::g711_encode(rtp::G711Law::kMuLaw, speech_like(), in);
  std::vector<int16_t> out(kSamples);
  for (auto _ : state) {
    rtp::g711_decode(rtp::G711Law::kMuLaw, in, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kSamples));
}

// Baseline for decode: copy the 8-bit codes.
void BM_BaselineDecodeUlaw(benchmark::State& state) {
  std::vector<uint8_t> in(kSamples, 0x55);
  std::vector<uint8_t> out(kSamples);
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), kSamples);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kSamples));
}

std::vector<uint8_t> sample_datagram() {
  std::vector<uint8_t> payload(kSamples, 0xff);
  std::vector<uint8_t> wire;
  rtp::write_rtp(false, 0, 1234, 160000, 0xdeadbeef, payload, wire);
  return wire;
}

void BM_MediaRtpParse(benchmark::State& state) {
  auto wire = sample_datagram();
  for (auto _ : state) {
    auto view = rtp::parse_rtp(wire);
    benchmark::DoNotOptimize(view);
  }
  state.SetItemsProcessed(state.iterations());
}

// Baseline for parse: copy the datagram (what any receive path does at least once).
void BM_BaselineRtpParse(benchmark::State& state) {
  auto wire = sample_datagram();
  std::vector<uint8_t> copy(wire.size());
  for (auto _ : state) {
    std::memcpy(copy.data(), wire.data(), wire.size());
    benchmark::DoNotOptimize(copy.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MediaJitterPushPop(benchmark::State& state) {
  rtp::JitterBuffer buffer(rtp::JitterBufferOptions{.target_delay = std::chrono::milliseconds(20)});
  std::vector<uint8_t> payload(kSamples, 0xff);
  vontres::TimePoint now{};
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  for (auto _ : state) {
    buffer.push(sequence++, timestamp, 0, payload, now);
    timestamp += 160;
    now += std::chrono::milliseconds(20);
    auto frame = buffer.pop(now);
    benchmark::DoNotOptimize(frame);
  }
  state.SetItemsProcessed(state.iterations());
}

// Baseline for the jitter buffer: the same payload copies through a plain FIFO.
void BM_BaselineJitterPushPop(benchmark::State& state) {
  std::deque<std::vector<uint8_t>> fifo;
  std::vector<uint8_t> payload(kSamples, 0xff);
  for (auto _ : state) {
    fifo.emplace_back(payload.begin(), payload.end());
    if (fifo.size() > 1) {
      std::vector<uint8_t> frame = std::move(fifo.front());
      fifo.pop_front();
      benchmark::DoNotOptimize(frame);
    }
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_MediaEncodeUlaw);
BENCHMARK(BM_BaselineEncodeUlaw);
BENCHMARK(BM_MediaEncodeAlaw);
BENCHMARK(BM_BaselineEncodeAlaw);
BENCHMARK(BM_MediaDecodeUlaw);
BENCHMARK(BM_BaselineDecodeUlaw);
BENCHMARK(BM_MediaRtpParse);
BENCHMARK(BM_BaselineRtpParse);
BENCHMARK(BM_MediaJitterPushPop);
BENCHMARK(BM_BaselineJitterPushPop);

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      auto found = run.counters.find("items_per_second");
      if (found != run.counters.end()) items_per_second_[run.benchmark_name()] = found->second.value;
    }
  }

  void print_ratios() const {
    for (const auto& [name, rate] : items_per_second_) {
      if (name.rfind("BM_Media", 0) != 0) continue;
      const std::string baseline = "BM_Baseline" + name.substr(std::string("BM_Media").size());
      auto found = items_per_second_.find(baseline);
      if (found == items_per_second_.end() || found->second <= 0) continue;
      std::printf("%-28s %14.0f items/s = %.3fx of %s\n", name.c_str(), rate, rate / found->second, baseline.c_str());
    }
  }

 private:
  std::map<std::string, double> items_per_second_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  return 0;
}
