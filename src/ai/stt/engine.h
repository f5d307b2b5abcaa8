// Streaming speech-to-text behind a narrow interface: an Engine opens one Stream per call leg; the
// stream is fed mono PCM, segments it into utterances with a voice-activity detector (VAD) and
// reports partial and final Hypotheses through a handler. Implementations: PocketSphinx (embedded,
// grammar-constrained or general language model) and a segmenting engine that hands each utterance
// to a remote recognizer.
//
// Thread-safety: an Engine is a thread-safe factory and must outlive its streams; a Stream is used
// by one thread at a time and calls its handler on the thread that feeds it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace vontres::ai::stt {

enum class Mode {
  kGrammar,  // decoding constrained to known phrases (IVR menus, intent capture)
  kOpen,     // general language model (or a remote engine) for free conversation
};
std::string_view mode_name(Mode mode);  // "grammar", "open"
// Parses "grammar" / "open"; "invalid_stt_mode" otherwise.
Result<Mode> parse_mode(std::string_view name);

struct Hypothesis {
  std::string text;  // lower-case words separated by single spaces; may be empty
  // 0..1. PocketSphinx: the posterior probability of the best path in the word lattice
  // (ps_get_prob with -bestpath, converted from log base), 0 for partials. Remote: as reported.
  double confidence = 0.0;
  std::chrono::milliseconds start{0}, end{0};  // offsets from the stream's first sample
  bool is_final = false;                       // partials are throttled (PocketSphinxOptions::partial_interval)
};
using HypothesisHandler = std::function<void(const Hypothesis&)>;

class Stream {  // one call leg; not thread-safe
 public:
  virtual ~Stream() = default;
  // Mono PCM at the rate given at open. Calls the handler for partial/final results it produces.
  virtual Status feed(std::span<const int16_t> pcm) = 0;
  // Ends the current utterance (a final result if speech was in progress).
  virtual Status finish() = 0;
  // Takes effect at the next utterance.
  virtual Status set_mode(Mode mode) = 0;
};

class Engine {  // thread-safe factory
 public:
  virtual ~Engine() = default;
  // "invalid_sample_rate" outside 8000..48000.
  virtual Result<std::unique_ptr<Stream>> open_stream(Mode mode, int sample_rate, HypothesisHandler handler) = 0;
};

// Energy-based VAD with an adaptive noise floor, on 10 ms frames.
struct VadOptions {
  double min_speech_db = 40.0;                // absolute frame level (dB re 1 LSB RMS) below which it is never speech
  double snr_db = 10.0;                       // speech is at least this far above the noise floor
  double initial_noise_floor_db = 30;         // the floor before any audio was seen
  std::chrono::milliseconds start_after{50};  // consecutive speech needed to open an utterance
  std::chrono::milliseconds pre_roll{200};    // audio before the start that is kept (word onsets)
  std::chrono::milliseconds hangover{600};    // end-of-utterance silence
  std::chrono::milliseconds max_utterance{15000};   // forced end
  std::chrono::milliseconds floor_rise_time{2000};  // time constant of the floor's upward adaptation
};

struct PocketSphinxOptions {
  std::string model_dir;                     // empty: Debian's /usr/share/pocketsphinx/model/en-us
  std::vector<std::string> grammar_phrases;  // JSGF built from these for Mode::kGrammar; empty: grammar -> open
  VadOptions vad;
  std::chrono::milliseconds partial_interval{500};  // at most one partial per this much audio
  // Extra PocketSphinx arguments ({"-beam", "1e-60"}, ...) for tuning; passed to every decoder.
  std::vector<std::pair<std::string, std::string>> decoder_args;
};

// Loads nothing yet: decoders (acoustic model, dictionary, LM, grammar) are created on first use,
// one per concurrently open stream, and reused by later streams. "stt_model_missing" when the
// model files are not there, "stt_grammar_empty" when no phrase survives the dictionary.
Result<std::unique_ptr<Engine>> make_pocketsphinx_engine(const PocketSphinxOptions& options);

// A JSGF grammar `public <utterance> = (phrase one) | (phrase two) ...;` from free text: words are
// lower-cased, punctuation other than in-word apostrophes and hyphens is dropped, digits are spelled
// out one by one ("7" -> "seven"). When `in_dictionary` is given, words it rejects are dropped (and
// appended to `dropped` when non-null); empty and duplicate phrases are skipped. Returns "" when no
// phrase is left.
std::string build_jsgf(std::span<const std::string> phrases);
std::string build_jsgf(std::span<const std::string> phrases, const std::function<bool(std::string_view)>& in_dictionary,
                       std::vector<std::string>* dropped);
// The normalised words of one phrase (what build_jsgf uses).
std::vector<std::string> normalize_words(std::string_view phrase);

// Remote engines: VAD segmentation, then one recognizer call per utterance (the AI shell plugs in an
// OpenAI-compatible POST /v1/audio/transcriptions client here). The recognizer's start/end are
// replaced by the VAD's; a recognizer error is reported as a final hypothesis with empty text and
// confidence 0, and feed() returns it.
using UtteranceRecognizer = std::function<Result<Hypothesis>(std::span<const int16_t> pcm, int sample_rate)>;
std::unique_ptr<Engine> make_segmenting_engine(UtteranceRecognizer recognizer, VadOptions vad = {});

}  // namespace vontres::ai::stt
