// SDP session descriptions (RFC 4566): the value type, a strict parser and a serializer.
// parse() accepts only well-formed descriptions in RFC 4566 line order (v, o, s, i, u, e, p, c, b,
// t/r, z, k, a, then m-sections with i, c, b, k, a), CRLF or bare LF line ends, bounded sizes and
// counts (kLimits); anything else is an error with a stable "sdp_*" code. Attributes Vontres uses
// (rtpmap, fmtp, ptime, direction, rtcp) are decoded; other attributes are kept verbatim.
//
// Thread-safety: value types; safe to copy between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vontres::telephony::sdp {

// Error codes (Status::code()) returned by parse().
inline constexpr std::string_view kErrorTooLarge = "sdp_too_large";        // size/count limits
inline constexpr std::string_view kErrorSyntax = "sdp_syntax";             // a malformed line or value
inline constexpr std::string_view kErrorLineOrder = "sdp_line_order";      // a line out of RFC 4566 order
inline constexpr std::string_view kErrorMissingLine = "sdp_missing_line";  // no v/o/s/t or no c= for media

struct Limits {
  size_t max_bytes = 16 * 1024;
  size_t max_line_bytes = 1024;
  size_t max_media = 8;
  size_t max_formats_per_media = 32;
  size_t max_attributes_per_section = 64;
};
inline constexpr Limits kLimits{};

enum class Direction { kSendRecv, kSendOnly, kRecvOnly, kInactive };
std::string_view direction_name(Direction direction);  // "sendrecv", ...

enum class AddressType { kIp4, kIp6 };

// c=IN IP4 192.0.2.1 (a multicast TTL/count suffix is rejected: Vontres does unicast only).
struct Connection {
  AddressType address_type = AddressType::kIp4;
  std::string address;
  // True for the RFC 2543 hold address c=IN IP4 0.0.0.0 (and the IPv6 "::").
  bool is_unspecified() const { return address == "0.0.0.0" || address == "::"; }
  friend bool operator==(const Connection&, const Connection&) = default;
};

// o=<username> <sess-id> <sess-version> IN <addrtype> <address>
struct Origin {
  std::string username = "-";
  uint64_t session_id = 0;
  uint64_t session_version = 0;
  AddressType address_type = AddressType::kIp4;
  std::string address;
  friend bool operator==(const Origin&, const Origin&) = default;
};

// a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]
struct RtpMap {
  int payload_type = 0;
  std::string encoding;  // as written, e.g. "PCMU", "telephone-event"
  int clock_rate = 8000;
  int channels = 0;  // 0 = not written (one channel for audio)
  friend bool operator==(const RtpMap&, const RtpMap&) = default;
};

// a=fmtp:<pt> <parameters>
struct Fmtp {
  int payload_type = 0;
  std::string parameters;
  friend bool operator==(const Fmtp&, const Fmtp&) = default;
};

// a=rtcp:<port> [IN IP4 <address>] (RFC 3605)
struct RtcpAttribute {
  uint16_t port = 0;
  std::optional<Connection> connection;
  friend bool operator==(const RtcpAttribute&, const RtcpAttribute&) = default;
};

// Any other a= line, e.g. a=tool:foo gives {"tool", "foo", true}; a=ice-lite gives {"ice-lite", "", false}.
struct Attribute {
  std::string name;
  std::string value;
  bool has_value = false;
  friend bool operator==(const Attribute&, const Attribute&) = default;
};

// An m-section.
struct MediaDescription {
  std::string media = "audio";  // audio, video, application, image, ...
  uint16_t port = 0;            // 0 = rejected/disabled stream
  int port_count = 1;           // m=audio 49170/2 ...
  std::string protocol = "RTP/AVP";
  std::vector<std::string> formats;  // for RTP/AVP these are payload type numbers in preference order
  std::optional<Connection> connection;
  std::vector<std::string> bandwidths;  // b= values, verbatim
  std::vector<RtpMap> rtpmaps;
  std::vector<Fmtp> fmtps;
  std::optional<int> ptime;
  std::optional<Direction> direction;
  std::optional<RtcpAttribute> rtcp;
  std::vector<Attribute> attributes;

  const RtpMap* rtpmap_for(int payload_type) const;
  const Fmtp* fmtp_for(int payload_type) const;
  friend bool operator==(const MediaDescription&, const MediaDescription&) = default;
};

struct SessionDescription {
  Origin origin;
  std::string session_name = "-";
  std::optional<Connection> connection;
  std::vector<std::string> bandwidths;
  uint64_t start_time = 0;
  uint64_t stop_time = 0;
  std::optional<Direction> direction;  // session-level default for every m-section
  std::vector<Attribute> attributes;
  std::vector<MediaDescription> media;

  // The connection that applies to media[i]: its own c= or the session-level one.
  const Connection* connection_for(const MediaDescription& media) const;
  // The direction that applies: media-level, else session-level, else sendrecv.
  Direction direction_for(const MediaDescription& media) const;
  friend bool operator==(const SessionDescription&, const SessionDescription&) = default;
};

// Parses a session description. i=, u=, e=, p=, z=, k= and r= lines are validated and dropped.
Result<SessionDescription> parse(std::string_view text, const Limits& limits = kLimits);

// Wire form with CRLF line ends, in RFC 4566 order.
std::string serialize(const SessionDescription& description);

}  // namespace vontres::telephony::sdp
