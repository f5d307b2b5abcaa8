#include "telephony/media_stream/twilio_messages.h"

#include <array>
#include <charconv>
#include <string>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "telephony/rtp/g711.h"

namespace vontres::telephony::media_stream {

using nlohmann::json;

namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

Status missing(std::string_view field) {
  return invalid_argument("missing field '" + std::string(field) + "'", "media_stream_missing_field");
}
Status bad(std::string_view field, std::string_view why) {
  return invalid_argument("field '" + std::string(field) + "': " + std::string(why), "media_stream_bad_field");
}

// Twilio sends counters as decimal strings; a JSON number is accepted too.
Result<uint64_t> counter(const json& object, std::string_view field, bool required = true) {
  auto it = object.find(field);
  if (it == object.end()) {
    if (required) return missing(field);
    return uint64_t{0};
  }
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (!it->is_string()) return bad(field, "expected a decimal string");
  const auto& text = it->get_ref<const std::string&>();
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return bad(field, "expected a decimal string");
  return value;
}

Result<std::string> text_field(const json& object, std::string_view field, bool required = true) {
  auto it = object.find(field);
  if (it == object.end()) {
    if (required) return missing(field);
    return std::string();
  }
  if (!it->is_string()) return bad(field, "expected a string");
  return it->get<std::string>();
}

Result<const json*> object_field(const json& object, std::string_view field) {
  auto it = object.find(field);
  if (it == object.end()) return missing(field);
  if (!it->is_object()) return bad(field, "expected an object");
  return &*it;
}

Result<Track> parse_track(const json& object, std::string_view field) {
  auto name = text_field(object, field);
  if (!name.is_ok()) return name.status();
  if (*name == "inbound" || *name == "inbound_track") return Track::kInbound;
  if (*name == "outbound" || *name == "outbound_track") return Track::kOutbound;
  return bad(field, "unknown track");
}

bool valid_digit(char c) { return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D'); }

Result<Message> parse_start(const json& root, uint64_t seq, std::string stream_sid) {
  auto start = object_field(root, "start");
  if (!start.is_ok()) return start.status();
  const json& s = **start;
  StartMessage m;
  m.sequence_number = seq;
  m.stream_sid = std::move(stream_sid);
  if (m.stream_sid.empty()) {  // Twilio repeats streamSid inside start
    auto inner = text_field(s, "streamSid");
    if (!inner.is_ok()) return inner.status();
    m.stream_sid = *inner;
  }
  auto account = text_field(s, "accountSid", false);
  if (!account.is_ok()) return account.status();
  m.account_sid = *account;
  auto call = text_field(s, "callSid");
  if (!call.is_ok()) return call.status();
  m.call_sid = *call;
  auto tracks = s.find("tracks");
  if (tracks == s.end()) return missing("tracks");
  if (!tracks->is_array() || tracks->empty() || tracks->size() > 2) return bad("tracks", "expected 1 or 2 tracks");
  for (const auto& t : *tracks) {
    json holder = {{"tracks", t}};
    auto track = parse_track(holder, "tracks");
    if (!track.is_ok()) return track.status();
    m.tracks.push_back(*track);
  }
  if (auto params = s.find("customParameters"); params != s.end()) {
    if (!params->is_object()) return bad("customParameters", "expected an object");
    for (const auto& [key, value] : params->items()) {
      if (!value.is_string()) return bad("customParameters", "values must be strings");
      m.custom_parameters[key] = value.get<std::string>();
    }
  }
  auto format = object_field(s, "mediaFormat");
  if (!format.is_ok()) return format.status();
  const json& f = **format;
  auto encoding = text_field(f, "encoding");
  if (!encoding.is_ok()) return encoding.status();
  m.media_format.encoding = *encoding;
  auto rate = f.find("sampleRate");
  auto channels = f.find("channels");
  if (rate == f.end()) return missing("sampleRate");
  if (channels == f.end()) return missing("channels");
  if (!rate->is_number_integer() || !channels->is_number_integer()) return bad("mediaFormat", "expected integers");
  m.media_format.sample_rate = rate->get<int>();
  m.media_format.channels = channels->get<int>();
  return Message(std::move(m));
}

Result<Message> parse_media(const json& root, uint64_t seq, std::string stream_sid) {
  auto media = object_field(root, "media");
  if (!media.is_ok()) return media.status();
  const json& d = **media;
  MediaMessage m;
  m.sequence_number = seq;
  m.stream_sid = std::move(stream_sid);
  auto track = parse_track(d, "track");
  if (!track.is_ok()) return track.status();
  m.track = *track;
  auto chunk = counter(d, "chunk");
  if (!chunk.is_ok()) return chunk.status();
  m.chunk = *chunk;
  auto timestamp = counter(d, "timestamp");
  if (!timestamp.is_ok()) return timestamp.status();
  m.timestamp_ms = *timestamp;
  auto payload = text_field(d, "payload");
  if (!payload.is_ok()) return payload.status();
  auto bytes = base64_decode(*payload);
  if (!bytes) return invalid_argument("field 'payload': not base64", "media_stream_bad_payload");
  m.payload = std::move(*bytes);
  return Message(std::move(m));
}

}  // namespace

std::string_view track_name(Track track) { return track == Track::kInbound ? "inbound" : "outbound"; }

Result<Message> parse_message(std::string_view text) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return invalid_argument("not a JSON object", "media_stream_malformed_json");
  }
  auto event = text_field(root, "event");
  if (!event.is_ok()) return event.status();
  if (*event == "connected") {
    ConnectedMessage m;
    auto protocol = text_field(root, "protocol");
    if (!protocol.is_ok()) return protocol.status();
    auto version = text_field(root, "version");
    if (!version.is_ok()) return version.status();
    m.protocol = *protocol;
    m.version = *version;
    return Message(std::move(m));
  }
  auto seq = counter(root, "sequenceNumber");
  if (!seq.is_ok()) return seq.status();
  // Every message but connected names its stream; start may carry it only inside "start".
  auto stream_sid = text_field(root, "streamSid", /*required=*/*event != "start");
  if (!stream_sid.is_ok()) return stream_sid.status();
  if (*event != "start" && stream_sid->empty()) return bad("streamSid", "must not be empty");
  if (*event == "start") return parse_start(root, *seq, std::move(*stream_sid));
  if (*event == "media") return parse_media(root, *seq, std::move(*stream_sid));
  if (*event == "dtmf") {
    auto dtmf = object_field(root, "dtmf");
    if (!dtmf.is_ok()) return dtmf.status();
    DtmfMessage m;
    m.sequence_number = *seq;
    m.stream_sid = std::move(*stream_sid);
    auto track = parse_track(**dtmf, "track");
    if (!track.is_ok()) return track.status();
    m.track = *track;
    auto digit = text_field(**dtmf, "digit");
    if (!digit.is_ok()) return digit.status();
    if (digit->size() != 1 || !valid_digit((*digit)[0])) return bad("digit", "expected one of 0-9 * # A-D");
    m.digit = (*digit)[0];
    return Message(std::move(m));
  }
  if (*event == "mark") {
    auto mark = object_field(root, "mark");
    if (!mark.is_ok()) return mark.status();
    MarkMessage m;
    m.sequence_number = *seq;
    m.stream_sid = std::move(*stream_sid);
    auto name = text_field(**mark, "name");
    if (!name.is_ok()) return name.status();
    m.name = *name;
    return Message(std::move(m));
  }
  if (*event == "stop") {
    auto stop = object_field(root, "stop");
    if (!stop.is_ok()) return stop.status();
    StopMessage m;
    m.sequence_number = *seq;
    m.stream_sid = std::move(*stream_sid);
    auto account = text_field(**stop, "accountSid", false);
    if (!account.is_ok()) return account.status();
    auto call = text_field(**stop, "callSid", false);
    if (!call.is_ok()) return call.status();
    m.account_sid = *account;
    m.call_sid = *call;
    return Message(std::move(m));
  }
  return invalid_argument("unknown event '" + *event + "'", "media_stream_unknown_event");
}

std::string serialize(const Message& message) {
  struct Writer {
    json operator()(const ConnectedMessage& m) const {
      return {{"event", "connected"}, {"protocol", m.protocol}, {"version", m.version}};
    }
    json operator()(const StartMessage& m) const {
      json tracks = json::array();
      for (Track t : m.tracks) tracks.push_back(track_name(t));
      json params = json::object();
      for (const auto& [key, value] : m.custom_parameters) params[key] = value;
      return {{"event", "start"},
              {"sequenceNumber", std::to_string(m.sequence_number)},
              {"start",
               {{"accountSid", m.account_sid},
                {"streamSid", m.stream_sid},
                {"callSid", m.call_sid},
                {"tracks", tracks},
                {"customParameters", params},
                {"mediaFormat",
                 {{"encoding", m.media_format.encoding},
                  {"sampleRate", m.media_format.sample_rate},
                  {"channels", m.media_format.channels}}}}},
              {"streamSid", m.stream_sid}};
    }
    json operator()(const MediaMessage& m) const {
      return {{"event", "media"},
              {"sequenceNumber", std::to_string(m.sequence_number)},
              {"media",
               {{"track", track_name(m.track)},
                {"chunk", std::to_string(m.chunk)},
                {"timestamp", std::to_string(m.timestamp_ms)},
                {"payload", base64_encode(m.payload)}}},
              {"streamSid", m.stream_sid}};
    }
    json operator()(const DtmfMessage& m) const {
      return {{"event", "dtmf"},
              {"streamSid", m.stream_sid},
              {"sequenceNumber", std::to_string(m.sequence_number)},
              {"dtmf", {{"track", std::string(track_name(m.track)) + "_track"}, {"digit", std::string(1, m.digit)}}}};
    }
    json operator()(const MarkMessage& m) const {
      return {{"event", "mark"},
              {"sequenceNumber", std::to_string(m.sequence_number)},
              {"streamSid", m.stream_sid},
              {"mark", {{"name", m.name}}}};
    }
    json operator()(const StopMessage& m) const {
      return {{"event", "stop"},
              {"sequenceNumber", std::to_string(m.sequence_number)},
              {"stop", {{"accountSid", m.account_sid}, {"callSid", m.call_sid}}},
              {"streamSid", m.stream_sid}};
    }
  };
  return std::visit(Writer{}, message).dump();
}

std::string base64_encode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{bytes[i]} << 16;
    if (rest == 2) v |= uint32_t{bytes[i + 1]} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::vector<uint8_t>> base64_decode(std::string_view text) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    for (size_t i = 0; i < kAlphabet.size(); ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
    return t;
  }();
  if (text.size() % 4 != 0) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=') {
        // Padding only in the last quantum's final one or two places.
        if (!last || j < 2) return std::nullopt;
        ++pad;
        v <<= 6;
        continue;
      }
      if (pad > 0) return std::nullopt;
      const int8_t d = table[static_cast<uint8_t>(c)];
      if (d < 0) return std::nullopt;
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(v >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

std::vector<uint8_t> encode_mulaw(std::span<const int16_t> pcm) {
  std::vector<uint8_t> out(pcm.size());
  rtp::g711_encode(rtp::G711Law::kMuLaw, pcm, out);
  return out;
}

std::vector<int16_t> decode_mulaw(std::span<const uint8_t> mulaw) {
  std::vector<int16_t> out(mulaw.size());
  rtp::g711_decode(rtp::G711Law::kMuLaw, mulaw, out);
  return out;
}

}  // namespace vontres::telephony::media_stream
