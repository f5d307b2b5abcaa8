#include "telephony/media_stream/stream_codec.h"

#include <utility>

namespace vontres::telephony::media_stream {

namespace {
constexpr size_t kSamplesPer20Ms = 160;  // 8 kHz
}  // namespace

LegStreamWriter::LegStreamWriter(LegStreamIdentity identity, std::string stream_sid)
    : identity_(std::move(identity)), stream_sid_(std::move(stream_sid)) {}

std::vector<std::string> LegStreamWriter::open(TimePoint /*now*/) {
  StartMessage start;
  start.sequence_number = ++sequence_;
  start.stream_sid = stream_sid_;
  start.call_sid = identity_.call_id;
  // The leg's own audio is what this side hears from its party: Twilio's "inbound" track.
  start.tracks = {Track::kInbound};
  start.custom_parameters = {{"call_id", identity_.call_id},
                             {"org_id", identity_.org_id},
                             {"leg_id", identity_.leg_id},
                             {"speaker", std::string(rtp::speaker_name(identity_.speaker))}};
  return {serialize(ConnectedMessage{}), serialize(start)};
}

std::vector<std::string> LegStreamWriter::audio(std::span<const int16_t> pcm) {
  pending_.insert(pending_.end(), pcm.begin(), pcm.end());
  std::vector<std::string> frames;
  size_t offset = 0;
  for (; offset + kSamplesPer20Ms <= pending_.size(); offset += kSamplesPer20Ms) {
    MediaMessage media;
    media.sequence_number = ++sequence_;
    media.stream_sid = stream_sid_;
    media.track = Track::kInbound;
    media.timestamp_ms = chunk_ * 20;
    media.chunk = ++chunk_;
    media.payload = encode_mulaw(std::span<const int16_t>(pending_).subspan(offset, kSamplesPer20Ms));
    frames.push_back(serialize(media));
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(offset));
  return frames;
}

std::string LegStreamWriter::dtmf(char digit) {
  return serialize(DtmfMessage{++sequence_, stream_sid_, Track::kInbound, digit});
}

std::string LegStreamWriter::stop() {
  StopMessage stop;
  stop.sequence_number = ++sequence_;
  stop.stream_sid = stream_sid_;
  stop.call_sid = identity_.call_id;
  return serialize(stop);
}

Status LegStreamReader::on_frame(std::string_view text) {
  auto parsed = parse_message(text);
  if (!parsed.is_ok()) return parsed.status();
  Message& message = *parsed;
  if (std::holds_alternative<ConnectedMessage>(message) || std::holds_alternative<MarkMessage>(message)) {
    return Status::ok();
  }
  if (auto* start = std::get_if<StartMessage>(&message)) {
    if (identity_) return invalid_argument("a second start on one stream", "media_stream_bad_start");
    if (start->media_format != MediaFormat{}) {
      return invalid_argument("only audio/x-mulaw at 8000 Hz, 1 channel", "media_stream_bad_start");
    }
    LegStreamIdentity id;
    for (const char* key : {"call_id", "org_id", "leg_id", "speaker"}) {
      if (!start->custom_parameters.contains(key) || start->custom_parameters.at(key).empty()) {
        return invalid_argument(std::string("customParameters.") + key + " is required", "media_stream_bad_start");
      }
    }
    id.call_id = start->custom_parameters.at("call_id");
    id.org_id = start->custom_parameters.at("org_id");
    id.leg_id = start->custom_parameters.at("leg_id");
    const std::string& speaker = start->custom_parameters.at("speaker");
    if (speaker == "caller") {
      id.speaker = rtp::Speaker::kCaller;
    } else if (speaker == "agent") {
      id.speaker = rtp::Speaker::kAgent;
    } else {
      return invalid_argument("customParameters.speaker must be caller or agent", "media_stream_bad_start");
    }
    identity_ = std::move(id);
    stream_sid_ = start->stream_sid;
    return Status::ok();
  }
  if (!identity_) return failed_precondition("a media stream must begin with start", "media_stream_not_started");
  std::string_view sid = std::visit(
      [](const auto& m) -> std::string_view {
        if constexpr (requires { m.stream_sid; }) {
          return m.stream_sid;
        } else {
          return {};
        }
      },
      message);
  if (sid != stream_sid_) return invalid_argument("streamSid differs from the start's", "media_stream_wrong_stream");
  if (stopped_) return Status::ok();  // frames after stop are ignored
  if (auto* media = std::get_if<MediaMessage>(&message)) {
    const std::vector<int16_t> pcm = decode_mulaw(media->payload);
    ++media_frames_;
    tap_.on_audio(identity_->call_id, identity_->speaker, pcm, clock_.now());
  } else if (auto* dtmf = std::get_if<DtmfMessage>(&message)) {
    tap_.on_dtmf(identity_->call_id, identity_->speaker, dtmf->digit, clock_.now());
  } else if (std::holds_alternative<StopMessage>(message)) {
    stopped_ = true;
  }
  return Status::ok();
}

bool BoundedFrameQueue::push(std::string frame) {
  std::lock_guard lock(mutex_);
  if (frames_.size() >= capacity_) {
    ++dropped_;
    return false;
  }
  frames_.push_back(std::move(frame));
  return true;
}

std::vector<std::string> BoundedFrameQueue::drain() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out(std::make_move_iterator(frames_.begin()), std::make_move_iterator(frames_.end()));
  frames_.clear();
  return out;
}

size_t BoundedFrameQueue::size() const {
  std::lock_guard lock(mutex_);
  return frames_.size();
}

uint64_t BoundedFrameQueue::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

}  // namespace vontres::telephony::media_stream
