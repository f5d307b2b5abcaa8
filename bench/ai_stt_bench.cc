// Speech-to-text measurements (see docs/stt.md and bench/stt_wer.sh):
//   --wer MANIFEST [--grammar FILE] [--mode grammar|open]
//       MANIFEST lines: wav<TAB>voice<TAB>reference. Each file is brought to 8 kHz, through G.711
//       mu-law and back, and fed in 20 ms frames as fast as possible; prints WER per voice and the
//       real-time factor (decode time / audio time) of one stream.
//   --live N --manifest MANIFEST [--seconds S] [--workers W] [--mode ...] [--grammar FILE]
//       N legs in real time through LiveTranscriber (W workers, N slots): each leg plays the
//       utterances with 1 s pauses at 20 ms per frame; prints frames pushed/dropped and real-time factor.
//   no flags: Google Benchmark micro-benchmarks (resampler, VAD, G.711 path).
#include <benchmark/benchmark.h>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ai/stt/audio_file.h"
#include "ai/stt/engine.h"
#include "ai/stt/live_transcriber.h"
#include "ai/stt/resampler.h"
#include "ai/stt/vad.h"
#include "telephony/rtp/g711.h"

namespace stt = vontres::ai::stt;
namespace rtp = vontres::telephony::rtp;

namespace {

struct Utterance {
  std::string path, voice, reference;
  std::vector<int16_t> pcm8k;  // after G.711
};

std::vector<int16_t> through_g711(std::span<const int16_t> pcm) {
  std::vector<uint8_t> codes(pcm.size());
  rtp::g711_encode(rtp::G711Law::kMuLaw, pcm, codes);
  std::vector<int16_t> out(pcm.size());
  rtp::g711_decode(rtp::G711Law::kMuLaw, codes, out);
  return out;
}

std::vector<Utterance> load_manifest(const std::string& path) {
  std::vector<Utterance> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    Utterance u;
    if (!std::getline(fields, u.path, '\t') || !std::getline(fields, u.voice, '\t') ||
        !std::getline(fields, u.reference)) {
      continue;
    }
    auto audio = stt::read_audio_wav(u.path);
    if (!audio) {
      std::cerr << "skip " << u.path << ": " << audio.status().to_string() << "\n";
      continue;
    }
    auto pcm = stt::resample(audio->samples, audio->sample_rate, 8000);
    if (!pcm) continue;
    u.pcm8k = through_g711(*pcm);
    out.push_back(std::move(u));
  }
  return out;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  return lines;
}

size_t edit_distance(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string arg(int argc, char** argv, const char* name, const std::string& fallback = "") {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}
bool has_flag(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return true;
  }
  return false;
}

std::unique_ptr<stt::Engine> make_engine(const std::string& grammar_file) {
  stt::PocketSphinxOptions options;
  if (!grammar_file.empty()) options.grammar_phrases = read_lines(grammar_file);
  // STT_ARGS="-name value ..." passes decoder arguments through (tuning experiments).
  if (const char* extra = std::getenv("STT_ARGS")) {
    std::istringstream in(extra);
    std::string name, value;
    while (in >> name >> value) options.decoder_args.emplace_back(name, value);
  }
  auto engine = stt::make_pocketsphinx_engine(options);
  if (!engine) {
    std::cerr << engine.status().to_string() << "\n";
    std::exit(1);
  }
  return std::move(engine).value();
}

int run_wer(int argc, char** argv) {
  const auto utterances = load_manifest(arg(argc, argv, "--wer"));
  const std::string grammar = arg(argc, argv, "--grammar");
  auto mode = stt::parse_mode(arg(argc, argv, "--mode", grammar.empty() ? "open" : "grammar"));
  if (!mode || utterances.empty()) {
    std::cerr << "usage: --wer MANIFEST [--grammar FILE] [--mode grammar|open]\n";
    return 1;
  }
  auto engine = make_engine(grammar);
  struct Totals {
    size_t errors = 0, words = 0, sentences = 0, exact = 0;
    double audio = 0, decode = 0, cpu = 0;
  };
  std::map<std::string, Totals> by_voice;
  const bool verbose = has_flag(argc, argv, "--verbose");
  for (const auto& u : utterances) {
    std::string text;
    auto stream = engine->open_stream(*mode, 8000, [&text, verbose](const stt::Hypothesis& h) {
      if (verbose) {
        std::printf("    %s %lld-%lld ms %.2f '%s'\n", h.is_final ? "final" : "partial",
                    static_cast<long long>(h.start.count()), static_cast<long long>(h.end.count()), h.confidence,
                    h.text.c_str());
      }
      if (h.is_final && !h.text.empty()) text += (text.empty() ? "" : " ") + h.text;
    });
    if (!stream) return 1;
    const auto started = std::chrono::steady_clock::now();
    const double cpu_started = thread_cpu_seconds();
    std::span<const int16_t> pcm(u.pcm8k);
    for (size_t i = 0; i < pcm.size(); i += 160)
      (void)(*stream)->feed(pcm.subspan(i, std::min<size_t>(160, pcm.size() - i)));
    (void)(*stream)->finish();
    const double decode = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double cpu = thread_cpu_seconds() - cpu_started;
    const auto ref = stt::normalize_words(u.reference);
    const auto hyp = stt::normalize_words(text);
    const size_t errors = edit_distance(ref, hyp);
    for (const std::string& key : {u.voice, std::string("all")}) {
      auto& t = by_voice[key];
      t.errors += errors;
      t.words += ref.size();
      t.sentences += 1;
      t.exact += errors == 0 ? 1 : 0;
      t.audio += static_cast<double>(u.pcm8k.size()) / 8000.0;
      t.decode += decode;
      t.cpu += cpu;
    }
    if (verbose) std::cout << "  [" << u.voice << "] ref: " << u.reference << "\n  hyp: " << text << "\n";
  }
  std::printf("%-8s %-10s %10s %8s %8s %10s %8s %8s\n", "mode", "voice", "utterances", "words", "WER", "sent.acc",
              "RTF(cpu)", "RTF(wall)");
  for (const auto& [voice, t] : by_voice) {
    std::printf(
        "%-8s %-10s %10zu %8zu %7.1f%% %9.1f%% %8.3f %8.3f\n", std::string(stt::mode_name(*mode)).c_str(),
        voice.c_str(), t.sentences, t.words, 100.0 * static_cast<double>(t.errors) / static_cast<double>(t.words),
        100.0 * static_cast<double>(t.exact) / static_cast<double>(t.sentences), t.cpu / t.audio, t.decode / t.audio);
  }
  return 0;
}

double rss_mb() {
  std::ifstream statm("/proc/self/statm");
  double pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096.0 / (1024.0 * 1024.0);
}

int run_live(int argc, char** argv) {
  const size_t legs = std::stoul(arg(argc, argv, "--live"));
  const auto utterances = load_manifest(arg(argc, argv, "--manifest"));
  const double seconds = std::stod(arg(argc, argv, "--seconds", "30"));
  const size_t workers = std::stoul(arg(argc, argv, "--workers", "2"));
  const std::string grammar = arg(argc, argv, "--grammar");
  auto mode = stt::parse_mode(arg(argc, argv, "--mode", grammar.empty() ? "open" : "grammar"));
  if (!mode || utterances.empty()) return 1;
  // One call's audio: the utterances with a second of silence between them.
  std::vector<int16_t> call;
  for (const auto& u : utterances) {
    call.insert(call.end(), u.pcm8k.begin(), u.pcm8k.end());
    call.insert(call.end(), 8000, 0);
  }
  auto engine = make_engine(grammar);
  {
    // Load the decoders before the clock starts (a slot's first stream loads its model).
    std::vector<std::unique_ptr<stt::Stream>> warm;
    for (size_t i = 0; i < legs; ++i) warm.push_back(std::move(engine->open_stream(*mode, 8000, {})).value());
  }
  std::printf("decoders=%zu rss_mb=%.0f\n", legs, rss_mb());
  stt::LiveTranscriber transcriber(
      *engine, {.max_streams = legs, .workers = workers, .max_lag = std::chrono::milliseconds(3000)},
      vontres::SystemClock::instance());
  std::atomic<uint64_t> finals{0};
  for (size_t i = 0; i < legs; ++i) {
    (void)transcriber.open("leg" + std::to_string(i), *mode, 8000,
                           [&finals](const std::string&, const stt::Hypothesis& h) {
                             if (h.is_final) ++finals;
                           });
  }
  // One pacing thread plays all legs, each starting at a different point of the call audio.
  const auto start = std::chrono::steady_clock::now();
  const size_t frames = static_cast<size_t>(seconds * 50);
  for (size_t f = 0; f < frames; ++f) {
    std::this_thread::sleep_until(start + std::chrono::milliseconds(20 * f));
    for (size_t i = 0; i < legs; ++i) {
      size_t offset = ((f * 160) + i * (call.size() / legs)) % (call.size() - 160);
      offset -= offset % 160;
      transcriber.push("leg" + std::to_string(i), std::span<const int16_t>(call).subspan(offset, 160));
    }
  }
  auto s = transcriber.stats();
  for (size_t i = 0; i < legs; ++i) transcriber.close("leg" + std::to_string(i));
  std::printf(
      "legs=%zu workers=%zu seconds=%.0f frames_in=%llu dropped=%llu (%.2f%%) utterances=%llu "
      "audio_decoded=%.1fs decode_time=%.1fs rtf_per_stream=%.3f\n",
      legs, workers, seconds, static_cast<unsigned long long>(s.frames_in),
      static_cast<unsigned long long>(s.frames_dropped),
      100.0 * static_cast<double>(s.frames_dropped) / static_cast<double>(std::max<uint64_t>(1, s.frames_in)),
      static_cast<unsigned long long>(s.utterances), s.audio_seconds, s.decode_seconds,
      s.audio_seconds > 0 ? s.decode_seconds / s.audio_seconds : 0.0);
  return 0;
}

void BM_Resample8kTo16k(benchmark::State& state) {
  std::vector<int16_t> frame(160);
  for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<int16_t>((i * 2654435761u) >> 20);
  auto resampler = stt::Resampler::create(8000, 16000);
  std::vector<int16_t> out;
  for (auto _ : state) {
    out.clear();
    (*resampler)->process(frame, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Resample8kTo16k);

void BM_VadFrame(benchmark::State& state) {
  std::vector<int16_t> frame(320);
  for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<int16_t>((i * 2654435761u) >> 20);
  stt::Endpointer vad({}, 16000, {});
  for (auto _ : state) vad.feed(frame);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VadFrame);

}  // namespace

int main(int argc, char** argv) {
  if (has_flag(argc, argv, "--wer")) return run_wer(argc, argv);
  if (has_flag(argc, argv, "--live")) return run_live(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
