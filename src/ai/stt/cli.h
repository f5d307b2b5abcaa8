// Back end of `vontres ai transcribe FILE.wav`: reads a WAV file of any rate and common encoding
// (see audio_file.h; multi-channel is mixed down), runs it through a PocketSphinx stream in 20 ms
// frames as a call would, and prints one line per utterance ("[start-end] text (confidence)") or,
// with json, one JSON object per utterance {text, confidence, start_ms, end_ms}. Exit code 0, or
// 1 with `error: <code>: <message>` on `err`.
//
// Thread-safety: no shared state; safe to call from any thread.
#pragma once

#include <ostream>
#include <string>

#include "ai/stt/engine.h"

namespace vontres::ai::stt {

struct TranscribeCommandOptions {
  Mode mode = Mode::kOpen;
  std::string grammar_file;  // one phrase per line (required for grammar mode)
  std::string model_dir;     // empty: Debian's pocketsphinx-en-us
  bool json = false;
};

int run_transcribe_command(const std::string& wav_path, const TranscribeCommandOptions& options, std::ostream& out,
                           std::ostream& err);

}  // namespace vontres::ai::stt
