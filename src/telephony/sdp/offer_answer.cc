#include "telephony/sdp/offer_answer.h"

#include <strings.h>

#include <charconv>
#include <string>
#include <utility>
#include <vector>

namespace vontres::telephony::sdp {
namespace {

constexpr int kPcmuPayloadType = 0;
constexpr int kPcmaPayloadType = 8;
constexpr const char* kTelephoneEventRange = "0-15";

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

int payload_type_of(const std::string& format) {
  int payload_type = -1;
  auto [end, error] = std::from_chars(format.data(), format.data() + format.size(), payload_type);
  if (error != std::errc() || end != format.data() + format.size()) return -1;
  return payload_type;
}

bool is_mono_8k(const RtpMap& map) { return map.clock_rate == 8000 && map.channels <= 1; }

// The G.711 codec a format stands for: by rtpmap when present, else by static payload type.
std::optional<AudioCodec> codec_of(const MediaDescription& media, int payload_type) {
  if (const RtpMap* map = media.rtpmap_for(payload_type)) {
    if (!is_mono_8k(*map)) return std::nullopt;
    if (equals_ignore_case(map->encoding, "PCMU")) return AudioCodec::kPcmu;
    if (equals_ignore_case(map->encoding, "PCMA")) return AudioCodec::kPcma;
    return std::nullopt;
  }
  if (payload_type == kPcmuPayloadType) return AudioCodec::kPcmu;
  if (payload_type == kPcmaPayloadType) return AudioCodec::kPcma;
  return std::nullopt;
}

std::optional<int> telephone_event_of(const MediaDescription& media) {
  for (const auto& format : media.formats) {
    int payload_type = payload_type_of(format);
    const RtpMap* map = media.rtpmap_for(payload_type);
    if (map != nullptr && map->clock_rate == 8000 && equals_ignore_case(map->encoding, "telephone-event")) {
      return payload_type;
    }
  }
  return std::nullopt;
}

bool codec_enabled(const LocalMedia& local, AudioCodec codec) {
  return codec == AudioCodec::kPcmu ? local.pcmu : local.pcma;
}

bool direction_sends(Direction d) { return d == Direction::kSendRecv || d == Direction::kSendOnly; }
bool direction_receives(Direction d) { return d == Direction::kSendRecv || d == Direction::kRecvOnly; }

Direction direction_from(bool send, bool receive) {
  if (send && receive) return Direction::kSendRecv;
  if (send) return Direction::kSendOnly;
  if (receive) return Direction::kRecvOnly;
  return Direction::kInactive;
}

AddressType address_type_of(const std::string& address) {
  return address.find(':') != std::string::npos ? AddressType::kIp6 : AddressType::kIp4;
}

// Our m=audio line with `payload_types` (each PCMU, PCMA or telephone-event).
MediaDescription local_audio(const LocalMedia& local, const std::vector<std::pair<int, std::string>>& payload_types,
                             Direction direction) {
  MediaDescription media;
  media.media = "audio";
  media.port = local.rtp_port;
  media.protocol = "RTP/AVP";
  for (const auto& [payload_type, encoding] : payload_types) {
    media.formats.push_back(std::to_string(payload_type));
    media.rtpmaps.push_back(RtpMap{payload_type, encoding, 8000, 0});
    if (encoding == "telephone-event") media.fmtps.push_back(Fmtp{payload_type, kTelephoneEventRange});
  }
  media.ptime = local.ptime_ms;
  if (local.rtcp_port && *local.rtcp_port != static_cast<uint16_t>(local.rtp_port + 1)) {
    media.rtcp = RtcpAttribute{*local.rtcp_port, std::nullopt};
  }
  media.direction = direction;
  return media;
}

void fill_remote(const SessionDescription& remote, const MediaDescription& media, NegotiatedAudio& audio) {
  const Connection* connection = remote.connection_for(media);
  audio.remote_address = connection != nullptr ? connection->address : std::string();
  audio.remote_rtp_port = media.port;
  audio.remote_rtcp_port = static_cast<uint16_t>(media.port + 1);
  if (media.rtcp) audio.remote_rtcp_port = media.rtcp->port;
  audio.ptime_ms = media.ptime.value_or(20);
}

}  // namespace

std::string_view codec_name(AudioCodec codec) { return codec == AudioCodec::kPcmu ? "PCMU" : "PCMA"; }

OfferAnswer::OfferAnswer(LocalMedia local, uint64_t session_id) : local_(std::move(local)), session_id_(session_id) {}

void OfferAnswer::stamp(SessionDescription& description) {
  description.origin.username = local_.username;
  description.origin.session_id = session_id_;
  description.origin.address_type = address_type_of(local_.address);
  description.origin.address = local_.address;
  description.session_name = local_.session_name;
  description.connection = Connection{address_type_of(local_.address), local_.address};
  if (!last_sent_) {
    version_ = 1;
  } else {
    description.origin.session_version = last_sent_->origin.session_version;
    if (!(description == *last_sent_)) ++version_;
  }
  description.origin.session_version = version_;
  last_sent_ = description;
}

Result<Answer> OfferAnswer::answer(const SessionDescription& offer, Direction local_direction) {
  SessionDescription description;
  std::optional<NegotiatedAudio> agreed;
  for (size_t index = 0; index < offer.media.size(); ++index) {
    const MediaDescription& offered = offer.media[index];
    std::optional<AudioCodec> codec;
    int payload_type = -1;
    if (!agreed && offered.media == "audio" && offered.port != 0 && offered.protocol == "RTP/AVP") {
      for (const auto& format : offered.formats) {
        int candidate = payload_type_of(format);
        auto candidate_codec = codec_of(offered, candidate);
        if (candidate_codec && codec_enabled(local_, *candidate_codec)) {
          codec = candidate_codec;
          payload_type = candidate;
          break;
        }
      }
    }
    if (!codec) {
      MediaDescription rejected;
      rejected.media = offered.media;
      rejected.port = 0;
      rejected.protocol = offered.protocol;
      rejected.formats = offered.formats;
      description.media.push_back(std::move(rejected));
      continue;
    }
    NegotiatedAudio audio;
    audio.codec = *codec;
    audio.payload_type = payload_type;
    if (local_.telephone_event) audio.telephone_event_payload_type = telephone_event_of(offered);
    fill_remote(offer, offered, audio);
    const Connection* connection = offer.connection_for(offered);
    bool old_style_hold = connection != nullptr && connection->is_unspecified();
    Direction offered_direction = offer.direction_for(offered);
    bool peer_receives = direction_receives(offered_direction) && !old_style_hold;
    bool peer_sends = direction_sends(offered_direction);
    audio.send = peer_receives && direction_sends(local_direction);
    audio.receive = peer_sends && direction_receives(local_direction);
    audio.remote_hold = !peer_receives;
    audio.media_index = index;

    std::vector<std::pair<int, std::string>> formats{{payload_type, std::string(codec_name(*codec))}};
    if (audio.telephone_event_payload_type)
      formats.emplace_back(*audio.telephone_event_payload_type, "telephone-event");
    description.media.push_back(local_audio(local_, formats, direction_from(audio.send, audio.receive)));
    agreed = std::move(audio);
  }
  if (!agreed) {
    return Status(ErrorKind::kFailedPrecondition, std::string(kNotAcceptable),
                  "no audio stream with PCMU or PCMA over RTP/AVP in the offer");
  }
  stamp(description);
  return Answer{std::move(description), std::move(*agreed)};
}

SessionDescription OfferAnswer::offer(Direction direction) {
  std::vector<std::pair<int, std::string>> formats;
  if (local_.pcmu) formats.emplace_back(kPcmuPayloadType, "PCMU");
  if (local_.pcma) formats.emplace_back(kPcmaPayloadType, "PCMA");
  if (local_.telephone_event) formats.emplace_back(local_.telephone_event_payload_type, "telephone-event");
  SessionDescription description;
  description.media.push_back(local_audio(local_, formats, direction));
  stamp(description);
  last_offer_ = description;
  return description;
}

Result<NegotiatedAudio> OfferAnswer::accept_answer(const SessionDescription& answer) {
  if (!last_offer_) return failed_precondition("no offer outstanding", std::string(kBadAnswer));
  const SessionDescription& offer = *last_offer_;
  if (answer.media.size() != offer.media.size()) {
    return invalid_argument("answer has " + std::to_string(answer.media.size()) + " m-lines, offer had " +
                                std::to_string(offer.media.size()),
                            std::string(kBadAnswer));
  }
  const MediaDescription& ours = offer.media[0];
  const MediaDescription& theirs = answer.media[0];
  if (theirs.media != "audio" || theirs.protocol != ours.protocol) {
    return invalid_argument("answer m-line does not match the offer", std::string(kBadAnswer));
  }
  if (theirs.port == 0) {
    return Status(ErrorKind::kFailedPrecondition, std::string(kNotAcceptable), "the peer rejected the audio stream");
  }
  NegotiatedAudio audio;
  bool found = false;
  for (const auto& format : theirs.formats) {
    int payload_type = payload_type_of(format);
    auto codec = codec_of(theirs, payload_type);
    if (!codec) continue;
    bool offered = false;
    for (const auto& our_format : ours.formats) {
      int our_payload_type = payload_type_of(our_format);
      if (our_payload_type == payload_type && codec_of(ours, our_payload_type) == codec) offered = true;
    }
    if (!offered) {
      return invalid_argument(
          "answer uses " + std::string(codec_name(*codec)) + "/" + format + " which we did not offer",
          std::string(kBadAnswer));
    }
    audio.codec = *codec;
    audio.payload_type = payload_type;
    found = true;
    break;
  }
  if (!found) {
    return Status(ErrorKind::kFailedPrecondition, std::string(kNotAcceptable), "the answer has no G.711 codec");
  }
  if (local_.telephone_event) audio.telephone_event_payload_type = telephone_event_of(theirs);
  fill_remote(answer, theirs, audio);
  const Connection* connection = answer.connection_for(theirs);
  bool old_style_hold = connection != nullptr && connection->is_unspecified();
  Direction ours_direction = offer.direction_for(ours);
  Direction theirs_direction = answer.direction_for(theirs);
  bool peer_receives = direction_receives(theirs_direction) && !old_style_hold;
  audio.send = direction_sends(ours_direction) && peer_receives;
  audio.receive = direction_receives(ours_direction) && direction_sends(theirs_direction);
  audio.remote_hold = direction_sends(ours_direction) && !peer_receives;
  audio.media_index = 0;
  return audio;
}

}  // namespace vontres::telephony::sdp
