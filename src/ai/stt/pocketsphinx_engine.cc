// PocketSphinx (5prealpha, Debian's libpocketsphinx3) behind the Engine interface. Each decoder holds
// both searches, the general trigram LM ("open") and the JSGF grammar ("grammar"); a stream borrows
// one decoder for its lifetime and switches searches between utterances. The 0.8 API has no way to
// share the acoustic model between decoders, so each decoder loads its own copy (measured in
// docs/stt.md); decoders are kept after their stream ends and reused, never freed per utterance.
#include <pocketsphinx.h>
#include <sphinxbase/ckd_alloc.h>
#include <sphinxbase/err.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>

#include "ai/stt/engine.h"
#include "ai/stt/resampler.h"
#include "ai/stt/vad.h"

namespace vontres::ai::stt {

namespace {

constexpr int kDecoderRate = 16000;  // the en-us acoustic model's rate
constexpr int kTelephoneRate = 8000;
constexpr const char* kOpenSearch = "open";
constexpr const char* kGrammarSearch = "grammar";

struct DecoderDeleter {
  void operator()(ps_decoder_t* ps) const { ps_free(ps); }
};
using DecoderPtr = std::unique_ptr<ps_decoder_t, DecoderDeleter>;
struct ConfigDeleter {
  void operator()(cmd_ln_t* config) const { cmd_ln_free_r(config); }
};
struct CStringDeleter {
  void operator()(char* s) const { ckd_free(s); }  // ps_lookup_word allocates with ckd_salloc
};

void silence_library_logging() {
  static std::once_flag once;
  std::call_once(once, [] { err_set_logfp(nullptr); });
}

std::string clean_hypothesis(const char* hyp) {
  std::string out;
  if (hyp == nullptr) return out;
  std::string word;
  auto flush = [&] {
    if (!word.empty() && word.front() != '<' && word.front() != '[') {
      if (!out.empty()) out += ' ';
      out += word;
    }
    word.clear();
  };
  for (const char* p = hyp; *p != '\0'; ++p) {
    if (*p == ' ') {
      flush();
    } else {
      word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(*p))));
    }
  }
  flush();
  return out;
}

struct ModelPaths {
  std::string hmm, dict, lm;
  std::vector<std::pair<std::string, std::string>> feat_params;  // "-name value" lines of hmm/feat.params
};

std::vector<std::pair<std::string, std::string>> read_feat_params(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in(path);
  std::string name, value;
  while (in >> name >> value) {
    if (!name.empty() && name[0] == '-') out.emplace_back(name, value);
  }
  return out;
}

class PocketSphinxEngine;

class PocketSphinxStream final : public Stream {
 public:
  PocketSphinxStream(PocketSphinxEngine& engine, DecoderPtr decoder, std::unique_ptr<Resampler> to_telephone,
                     std::unique_ptr<Resampler> resampler, Mode mode, bool grammar_available,
                     const PocketSphinxOptions& options, HypothesisHandler handler);
  ~PocketSphinxStream() override;
  Status feed(std::span<const int16_t> pcm) override;
  Status finish() override;
  Status set_mode(Mode mode) override {
    pending_mode_ = (mode == Mode::kGrammar && !grammar_available_) ? Mode::kOpen : mode;
    return Status::ok();
  }

 private:
  static std::chrono::milliseconds to_ms(int64_t samples) {
    return std::chrono::milliseconds(samples * 1000 / kDecoderRate);
  }
  void on_start(int64_t start_sample);
  void on_audio(std::span<const int16_t> pcm);
  void on_end(int64_t end_sample);

  PocketSphinxEngine& engine_;
  DecoderPtr decoder_;
  std::unique_ptr<Resampler> to_telephone_;  // wideband input -> 8 kHz (null for 8 kHz input)
  std::unique_ptr<Resampler> resampler_;     // 8 kHz -> 16 kHz
  std::vector<int16_t> narrowband_;
  bool grammar_available_;
  std::optional<Mode> active_mode_;  // the decoder's search; unknown for a borrowed decoder
  Mode pending_mode_;
  HypothesisHandler handler_;
  Endpointer endpointer_;
  int64_t partial_interval_samples_;
  std::vector<int16_t> resampled_;
  bool in_utterance_ = false;
  int64_t utterance_start_ = 0;
  int64_t utterance_samples_ = 0;
  int64_t last_partial_at_ = 0;
  std::string last_partial_;
  Status status_;  // first decoder error since the last feed()/finish()
};

class PocketSphinxEngine final : public Engine {
 public:
  PocketSphinxEngine(PocketSphinxOptions options, ModelPaths paths, std::string jsgf)
      : options_(std::move(options)), paths_(std::move(paths)), jsgf_(std::move(jsgf)) {}

  Result<DecoderPtr> create_decoder() const {
    // The model's feat.params is read here and passed as arguments (with -featparams /dev/null):
    // left to PocketSphinx it would override -cmninit, see below.
    std::vector<std::pair<std::string, std::string>> settings;
    for (const auto& setting : paths_.feat_params) {  // only what this decoder knows (not e.g. -model)
      for (const arg_t* a = ps_args(); a->name != nullptr; ++a) {
        if (setting.first == a->name) settings.push_back(setting);
      }
    }
    auto set = [&settings](const std::string& name, const std::string& value) {
      auto it = std::find_if(settings.begin(), settings.end(), [&](const auto& s) { return s.first == name; });
      if (it != settings.end()) {
        it->second = value;
      } else {
        settings.emplace_back(name, value);
      }
    };
    set("-hmm", paths_.hmm);
    set("-dict", paths_.dict);
    set("-featparams", "/dev/null");
    set("-logfn", "/dev/null");
    set("-samprate", "16000");
    set("-bestpath", "yes");
    // Dither: 8 kHz call audio upsampled to 16 kHz has an empty 4-8 kHz band, whose log mel energies
    // would otherwise be -inf-like outliers for a 16 kHz model; a fixed seed keeps runs reproducible.
    set("-dither", "yes");
    set("-seed", "1");
    // Live cepstral mean normalisation starts from the means it converges to on 8 kHz G.711 speech
    // upsampled to 16 kHz: the model's default (wideband audio) made the first utterance of every
    // new decoder come out empty in grammar mode.
    set("-cmninit", "47.9,23.7,-35.3,43.4,-23.6,-2.0,9.2,-31.8,15.3,-9.1,1.3,7.0,-13.1");
    for (const auto& [name, value] : options_.decoder_args) set(name, value);
    std::vector<std::string> args;
    for (auto& [name, value] : settings) {
      args.push_back(name);
      args.push_back(value);
    }
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    argv.push_back(const_cast<char*>("vontres"));  // NOLINT(cppcoreguidelines-pro-type-const-cast): C API
    for (auto& a : args) argv.push_back(a.data());
    std::unique_ptr<cmd_ln_t, ConfigDeleter> config(
        cmd_ln_parse_r(nullptr, ps_args(), static_cast<int32>(argv.size()), argv.data(), TRUE));
    if (!config) return internal_error("pocketsphinx rejected its configuration", "stt_decoder_failed");
    DecoderPtr ps(ps_init(config.get()));
    if (!ps) return internal_error("pocketsphinx could not load the model in " + paths_.hmm, "stt_decoder_failed");
    // The trigram LM (most of a decoder's ~90 MB) is loaded by the first open-mode utterance
    // (load_language_model), so slots that only ever decode grammars stay small.
    if (!jsgf_.empty() && ps_set_jsgf_string(ps.get(), kGrammarSearch, jsgf_.c_str()) != 0) {
      return internal_error("pocketsphinx rejected the JSGF grammar", "stt_grammar_invalid");
    }
    return ps;
  }

  // REQUIRES: no utterance in progress on `ps`.
  bool load_language_model(ps_decoder_t* ps) const {
    return ps_get_lm(ps, kOpenSearch) != nullptr || ps_set_lm_file(ps, kOpenSearch, paths_.lm.c_str()) == 0;
  }

  Result<DecoderPtr> acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        DecoderPtr ps = std::move(idle_.back());
        idle_.pop_back();
        return ps;
      }
    }
    return create_decoder();  // slow (model load): outside the lock
  }
  void release(DecoderPtr decoder) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(decoder));
  }
  void add_idle(DecoderPtr decoder) { release(std::move(decoder)); }
  void set_jsgf(std::string jsgf) { jsgf_ = std::move(jsgf); }

  Result<std::unique_ptr<Stream>> open_stream(Mode mode, int sample_rate, HypothesisHandler handler) override {
    if (sample_rate < 8000 || sample_rate > 48000) {
      return invalid_argument("sample rate must be 8000..48000 Hz", "invalid_sample_rate");
    }
    // Everything is decoded as telephone-band audio (the decoders' CMN start values are tuned for it,
    // see create_decoder): wider input is band-limited to 8 kHz first, then brought to 16 kHz.
    std::unique_ptr<Resampler> to_telephone;
    if (sample_rate != kTelephoneRate) {
      VONTRES_ASSIGN_OR_RETURN(to_telephone, Resampler::create(sample_rate, kTelephoneRate));
    }
    VONTRES_ASSIGN_OR_RETURN(auto resampler, Resampler::create(kTelephoneRate, kDecoderRate));
    VONTRES_ASSIGN_OR_RETURN(auto decoder, acquire());
    return std::unique_ptr<Stream>(
        std::make_unique<PocketSphinxStream>(*this, std::move(decoder), std::move(to_telephone), std::move(resampler),
                                             mode, !jsgf_.empty(), options_, std::move(handler)));
  }

 private:
  PocketSphinxOptions options_;
  ModelPaths paths_;
  std::string jsgf_;  // fixed after construction
  std::mutex mutex_;
  std::vector<DecoderPtr> idle_;  // GUARDED_BY(mutex_)
};

PocketSphinxStream::PocketSphinxStream(PocketSphinxEngine& engine, DecoderPtr decoder,
                                       std::unique_ptr<Resampler> to_telephone, std::unique_ptr<Resampler> resampler,
                                       Mode mode, bool grammar_available, const PocketSphinxOptions& options,
                                       HypothesisHandler handler)
    : engine_(engine),
      decoder_(std::move(decoder)),
      to_telephone_(std::move(to_telephone)),
      resampler_(std::move(resampler)),
      grammar_available_(grammar_available),
      pending_mode_((mode == Mode::kGrammar && !grammar_available) ? Mode::kOpen : mode),
      handler_(std::move(handler)),
      endpointer_(options.vad, kDecoderRate,
                  Endpointer::Listener{[this](int64_t s) { on_start(s); },
                                       [this](std::span<const int16_t> pcm) { on_audio(pcm); },
                                       [this](int64_t e, EndReason) { on_end(e); }}),
      partial_interval_samples_(std::max<int64_t>(1, options.partial_interval.count() * kDecoderRate / 1000)) {}

PocketSphinxStream::~PocketSphinxStream() {
  if (in_utterance_) ps_end_utt(decoder_.get());
  engine_.release(std::move(decoder_));
}

Status PocketSphinxStream::feed(std::span<const int16_t> pcm) {
  resampled_.clear();
  if (to_telephone_) {
    narrowband_.clear();
    to_telephone_->process(pcm, narrowband_);
    pcm = narrowband_;
  }
  resampler_->process(pcm, resampled_);
  endpointer_.feed(resampled_);
  return std::exchange(status_, Status::ok());
}

Status PocketSphinxStream::finish() {
  endpointer_.flush();
  return std::exchange(status_, Status::ok());
}

void PocketSphinxStream::on_start(int64_t start_sample) {
  ps_decoder_t* ps = decoder_.get();
  if (pending_mode_ != active_mode_) {
    const bool ready = pending_mode_ == Mode::kGrammar || engine_.load_language_model(ps);
    if (ready && ps_set_search(ps, pending_mode_ == Mode::kGrammar ? kGrammarSearch : kOpenSearch) == 0) {
      active_mode_ = pending_mode_;
    } else if (status_.is_ok()) {
      status_ = internal_error("cannot switch the decoder's search", "stt_decoder_failed");
    }
  }
  if (ps_start_utt(ps) != 0) {
    if (status_.is_ok()) status_ = internal_error("ps_start_utt failed", "stt_decoder_failed");
    return;
  }
  in_utterance_ = true;
  utterance_start_ = start_sample;
  utterance_samples_ = 0;
  last_partial_at_ = 0;
  last_partial_.clear();
}

void PocketSphinxStream::on_audio(std::span<const int16_t> pcm) {
  if (!in_utterance_) return;
  if (ps_process_raw(decoder_.get(), pcm.data(), pcm.size(), FALSE, FALSE) < 0 && status_.is_ok()) {
    status_ = internal_error("ps_process_raw failed", "stt_decoder_failed");
  }
  utterance_samples_ += static_cast<int64_t>(pcm.size());
  if (utterance_samples_ - last_partial_at_ >= partial_interval_samples_) {
    last_partial_at_ = utterance_samples_;
    int32 score = 0;
    std::string text = clean_hypothesis(ps_get_hyp(decoder_.get(), &score));
    if (!text.empty() && text != last_partial_) {
      last_partial_ = text;
      Hypothesis partial{.text = std::move(text),
                         .confidence = 0.0,
                         .start = to_ms(utterance_start_),
                         .end = to_ms(utterance_start_ + utterance_samples_),
                         .is_final = false};
      if (handler_) handler_(partial);
    }
  }
}

void PocketSphinxStream::on_end(int64_t end_sample) {
  if (!in_utterance_) return;
  in_utterance_ = false;
  ps_decoder_t* ps = decoder_.get();
  if (ps_end_utt(ps) != 0 && status_.is_ok()) status_ = internal_error("ps_end_utt failed", "stt_decoder_failed");
  int32 score = 0;
  Hypothesis final_hypothesis;
  final_hypothesis.text = clean_hypothesis(ps_get_hyp(ps, &score));
  final_hypothesis.confidence =
      final_hypothesis.text.empty() ? 0.0 : std::clamp(logmath_exp(ps_get_logmath(ps), ps_get_prob(ps)), 0.0, 1.0);
  final_hypothesis.start = to_ms(utterance_start_);
  final_hypothesis.end = to_ms(std::max(end_sample, utterance_start_));
  final_hypothesis.is_final = true;
  if (handler_) handler_(final_hypothesis);
}

}  // namespace

Result<std::unique_ptr<Engine>> make_pocketsphinx_engine(const PocketSphinxOptions& options) {
  silence_library_logging();
  namespace fs = std::filesystem;
  const std::string dir = options.model_dir.empty() ? "/usr/share/pocketsphinx/model/en-us" : options.model_dir;
  ModelPaths paths{dir + "/en-us", dir + "/cmudict-en-us.dict", dir + "/en-us.lm.bin", {}};
  for (const auto& p : {paths.hmm + "/mdef", paths.dict, paths.lm}) {
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      return not_found("PocketSphinx model file missing: " + p + " (install pocketsphinx-en-us)", "stt_model_missing");
    }
  }
  paths.feat_params = read_feat_params(paths.hmm + "/feat.params");
  auto engine = std::make_unique<PocketSphinxEngine>(options, paths, "");
  // The first decoder validates the model and filters the grammar against its dictionary.
  VONTRES_ASSIGN_OR_RETURN(auto first, engine->create_decoder());
  if (!options.grammar_phrases.empty()) {
    ps_decoder_t* ps = first.get();
    std::string jsgf = build_jsgf(
        options.grammar_phrases,
        [ps](std::string_view word) {
          std::unique_ptr<char, CStringDeleter> pron(ps_lookup_word(ps, std::string(word).c_str()));
          return pron != nullptr;
        },
        nullptr);
    if (jsgf.empty()) return invalid_argument("no grammar phrase has a word in the dictionary", "stt_grammar_empty");
    if (ps_set_jsgf_string(ps, kGrammarSearch, jsgf.c_str()) != 0) {
      return internal_error("pocketsphinx rejected the JSGF grammar", "stt_grammar_invalid");
    }
    engine->set_jsgf(std::move(jsgf));
  }
  engine->add_idle(std::move(first));
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace vontres::ai::stt
