#include "ai/stt/cli.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ai/stt/audio_file.h"
#include "ai/stt/resampler.h"

namespace vontres::ai::stt {

namespace {

int fail(std::ostream& err, const Status& status) {
  err << "error: " << status.code() << ": " << status.message() << "\n";
  return 1;
}

Result<std::vector<std::string>> read_phrases(const std::string& path) {
  std::ifstream in(path);
  if (!in) return not_found("cannot open grammar file '" + path + "'", "grammar_file_io");
  std::vector<std::string> phrases;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[line.find_first_not_of(" \t")] == '#') continue;
    phrases.push_back(line);
  }
  return phrases;
}

}  // namespace

int run_transcribe_command(const std::string& wav_path, const TranscribeCommandOptions& options, std::ostream& out,
                           std::ostream& err) {
  auto audio = read_audio_wav(wav_path);
  if (!audio) return fail(err, audio.status());
  PocketSphinxOptions ps_options;
  ps_options.model_dir = options.model_dir;
  if (options.mode == Mode::kGrammar) {
    if (options.grammar_file.empty()) {
      return fail(err, invalid_argument("grammar mode needs --grammar FILE", "grammar_required"));
    }
    auto phrases = read_phrases(options.grammar_file);
    if (!phrases) return fail(err, phrases.status());
    ps_options.grammar_phrases = std::move(phrases).value();
  }
  // Rates the stream does not take directly (e.g. 96 kHz) are brought to 16 kHz first.
  int rate = audio->sample_rate;
  std::vector<int16_t> samples = std::move(audio->samples);
  if (rate < 8000 || rate > 48000) {
    auto converted = resample(samples, rate, 16000);
    if (!converted) return fail(err, converted.status());
    samples = std::move(converted).value();
    rate = 16000;
  }
  auto engine = make_pocketsphinx_engine(ps_options);
  if (!engine) return fail(err, engine.status());
  std::vector<Hypothesis> finals;
  auto stream = (*engine)->open_stream(options.mode, rate, [&finals](const Hypothesis& h) {
    if (h.is_final && !h.text.empty()) finals.push_back(h);
  });
  if (!stream) return fail(err, stream.status());
  const size_t frame = static_cast<size_t>(rate / 50);  // 20 ms, like RTP
  std::span<const int16_t> pcm(samples);
  for (size_t i = 0; i < pcm.size(); i += frame) {
    Status s = (*stream)->feed(pcm.subspan(i, std::min(frame, pcm.size() - i)));
    if (!s) return fail(err, s);
  }
  Status s = (*stream)->finish();
  if (!s) return fail(err, s);
  for (const auto& h : finals) {
    if (options.json) {
      nlohmann::json j{
          {"text", h.text}, {"confidence", h.confidence}, {"start_ms", h.start.count()}, {"end_ms", h.end.count()}};
      out << j.dump() << "\n";
    } else {
      char conf[32];
      std::snprintf(conf, sizeof conf, "%.2f", h.confidence);
      out << "[" << h.start.count() / 1000.0 << "s-" << h.end.count() / 1000.0 << "s] " << h.text << " (" << conf
          << ")\n";
    }
  }
  return 0;
}

}  // namespace vontres::ai::stt
