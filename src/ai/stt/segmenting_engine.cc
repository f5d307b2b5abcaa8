// VAD segmentation in front of a per-utterance recognizer (remote engines), and Mode names.
#include <algorithm>

#include "ai/stt/engine.h"
#include "ai/stt/vad.h"

namespace vontres::ai::stt {

std::string_view mode_name(Mode mode) { return mode == Mode::kGrammar ? "grammar" : "open"; }

Result<Mode> parse_mode(std::string_view name) {
  if (name == "grammar") return Mode::kGrammar;
  if (name == "open") return Mode::kOpen;
  return invalid_argument("STT mode must be 'grammar' or 'open'", "invalid_stt_mode");
}

namespace {

class SegmentingStream final : public Stream {
 public:
  SegmentingStream(const UtteranceRecognizer& recognizer, const VadOptions& vad, int sample_rate,
                   HypothesisHandler handler)
      : recognizer_(recognizer),
        sample_rate_(sample_rate),
        handler_(std::move(handler)),
        endpointer_(vad, sample_rate,
                    Endpointer::Listener{[this](int64_t s) {
                                           start_ = s;
                                           utterance_.clear();
                                         },
                                         [this](std::span<const int16_t> pcm) {
                                           utterance_.insert(utterance_.end(), pcm.begin(), pcm.end());
                                         },
                                         [this](int64_t e, EndReason) { recognize(e); }}) {}

  Status feed(std::span<const int16_t> pcm) override {
    endpointer_.feed(pcm);
    return std::exchange(status_, Status::ok());
  }
  Status finish() override {
    endpointer_.flush();
    return std::exchange(status_, Status::ok());
  }
  Status set_mode(Mode /*mode*/) override { return Status::ok(); }  // remote engines have one mode

 private:
  std::chrono::milliseconds to_ms(int64_t samples) const {
    return std::chrono::milliseconds(samples * 1000 / sample_rate_);
  }
  void recognize(int64_t end) {
    Hypothesis h;
    auto result = recognizer_(utterance_, sample_rate_);
    if (result) {
      h = std::move(result).value();
    } else if (status_.is_ok()) {
      status_ = result.status();
    }
    h.start = to_ms(start_);
    h.end = to_ms(std::max(end, start_));
    h.is_final = true;
    utterance_.clear();
    if (handler_) handler_(h);
  }

  const UtteranceRecognizer& recognizer_;
  int sample_rate_;
  HypothesisHandler handler_;
  Endpointer endpointer_;
  std::vector<int16_t> utterance_;
  int64_t start_ = 0;
  Status status_;
};

class SegmentingEngine final : public Engine {
 public:
  SegmentingEngine(UtteranceRecognizer recognizer, VadOptions vad) : recognizer_(std::move(recognizer)), vad_(vad) {}
  Result<std::unique_ptr<Stream>> open_stream(Mode /*mode*/, int sample_rate, HypothesisHandler handler) override {
    if (sample_rate < 8000 || sample_rate > 48000) {
      return invalid_argument("sample rate must be 8000..48000 Hz", "invalid_sample_rate");
    }
    return std::unique_ptr<Stream>(
        std::make_unique<SegmentingStream>(recognizer_, vad_, sample_rate, std::move(handler)));
  }

 private:
  UtteranceRecognizer recognizer_;
  VadOptions vad_;
};

}  // namespace

std::unique_ptr<Engine> make_segmenting_engine(UtteranceRecognizer recognizer, VadOptions vad) {
  return std::make_unique<SegmentingEngine>(std::move(recognizer), vad);
}

}  // namespace vontres::ai::stt
