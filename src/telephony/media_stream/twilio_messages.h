// Twilio Media Streams messages (the JSON text frames of a bidirectional-capable <Stream>): the
// wire format between a call host and the AI service, one WebSocket per call leg. parse_message()
// turns one text frame into a typed message; serialize() writes the exact shape Twilio sends
// (sequenceNumber, chunk and timestamp as decimal strings, payload as base64 mu-law at 8 kHz mono).
// The library links only vontres_core and vontres_rtp (for G.711), never the SIP stack, so both
// the AI service and the call host can use it.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace vontres::telephony::media_stream {

// Twilio's tracks: "inbound" is what the caller (the far end) says, "outbound" what is played to
// them. In dtmf messages Twilio writes "inbound_track"; the parser accepts both spellings.
enum class Track { kInbound, kOutbound };
std::string_view track_name(Track track);  // "inbound", "outbound"

struct MediaFormat {
  std::string encoding = "audio/x-mulaw";
  int sample_rate = 8000;
  int channels = 1;
  friend bool operator==(const MediaFormat&, const MediaFormat&) = default;
};

struct ConnectedMessage {
  std::string protocol = "Call";
  std::string version = "1.0.0";
  friend bool operator==(const ConnectedMessage&, const ConnectedMessage&) = default;
};

struct StartMessage {
  uint64_t sequence_number = 0;
  std::string stream_sid;
  std::string account_sid;
  std::string call_sid;
  std::vector<Track> tracks;
  std::map<std::string, std::string> custom_parameters;  // string values only
  MediaFormat media_format;
  friend bool operator==(const StartMessage&, const StartMessage&) = default;
};

struct MediaMessage {
  uint64_t sequence_number = 0;
  std::string stream_sid;
  Track track = Track::kInbound;
  uint64_t chunk = 0;            // 1-based per track
  uint64_t timestamp_ms = 0;     // milliseconds since the start of the stream
  std::vector<uint8_t> payload;  // mu-law bytes (decoded from base64)
  friend bool operator==(const MediaMessage&, const MediaMessage&) = default;
};

struct DtmfMessage {
  uint64_t sequence_number = 0;
  std::string stream_sid;
  Track track = Track::kInbound;
  char digit = '0';  // 0-9, *, #, A-D
  friend bool operator==(const DtmfMessage&, const DtmfMessage&) = default;
};

struct MarkMessage {
  uint64_t sequence_number = 0;
  std::string stream_sid;
  std::string name;
  friend bool operator==(const MarkMessage&, const MarkMessage&) = default;
};

struct StopMessage {
  uint64_t sequence_number = 0;
  std::string stream_sid;
  std::string account_sid;
  std::string call_sid;
  friend bool operator==(const StopMessage&, const StopMessage&) = default;
};

using Message = std::variant<ConnectedMessage, StartMessage, MediaMessage, DtmfMessage, MarkMessage, StopMessage>;

// Parses one text frame. Errors (all invalid_argument): "media_stream_malformed_json",
// "media_stream_unknown_event", "media_stream_missing_field" (the message names the field),
// "media_stream_bad_field" (wrong type, a number that is not a decimal, an unknown track or digit),
// "media_stream_bad_payload" (not base64).
Result<Message> parse_message(std::string_view text);

// The JSON text of a message as Twilio sends it. parse_message(serialize(m)) == m.
std::string serialize(const Message& message);

// RFC 4648 section 4 base64 with padding (Twilio's payload encoding).
std::string base64_encode(std::span<const uint8_t> bytes);
// nullopt on characters outside the alphabet, bad padding or a length that is not a multiple of 4.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

// G.711 mu-law <-> 16-bit linear PCM (telephony/rtp/g711.h, bit-exact with the ITU-T reference).
std::vector<uint8_t> encode_mulaw(std::span<const int16_t> pcm);
std::vector<int16_t> decode_mulaw(std::span<const uint8_t> mulaw);

}  // namespace vontres::telephony::media_stream
