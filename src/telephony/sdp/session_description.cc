#include "telephony/sdp/session_description.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <utility>

namespace vontres::telephony::sdp {
namespace {

Status syntax_error(std::string message) { return invalid_argument(std::move(message), std::string(kErrorSyntax)); }

// Splits on single spaces; runs of spaces or leading/trailing spaces are a syntax error (RFC 4566
// fields are separated by exactly one space).
Result<std::vector<std::string_view>> split_fields(std::string_view value, std::string_view what) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t space = value.find(' ', start);
    std::string_view field =
        value.substr(start, space == std::string_view::npos ? std::string_view::npos : space - start);
    if (field.empty()) return syntax_error(std::string(what) + ": empty field");
    fields.push_back(field);
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  return fields;
}

template <typename Int>
bool parse_number(std::string_view text, Int& out) {
  if (text.empty() || text.size() > 20) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

bool is_token_char(char c) {
  // RFC 4566 token-char: printable US-ASCII except specials.
  if (c <= 0x20 || c >= 0x7f) return false;
  return std::string_view("\"(),/:;<=>?@[\\]{}").find(c) == std::string_view::npos;
}

bool is_token(std::string_view text) { return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char); }

bool is_hostname(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

Result<AddressType> parse_address_type(std::string_view text) {
  if (text == "IP4") return AddressType::kIp4;
  if (text == "IP6") return AddressType::kIp6;
  return syntax_error("unknown address type '" + std::string(text) + "'");
}

std::string_view address_type_name(AddressType type) { return type == AddressType::kIp4 ? "IP4" : "IP6"; }

Status validate_address(AddressType type, std::string_view address) {
  std::string text(address);
  if (type == AddressType::kIp6) {
    in6_addr v6{};
    if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return Status::ok();
    if (is_hostname(address) && address.find_first_not_of("0123456789.") != std::string_view::npos) {
      return Status::ok();
    }
    return syntax_error("bad IP6 address '" + text + "'");
  }
  if (address.find('/') != std::string_view::npos) return syntax_error("multicast addresses are not supported");
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return Status::ok();
  // A name (RFC 4566 allows an FQDN); an all-numeric string that is not a dotted quad is not one.
  if (is_hostname(address) && address.find_first_not_of("0123456789.") != std::string_view::npos) {
    return Status::ok();
  }
  return syntax_error("bad IP4 address '" + text + "'");
}

// "IN IP4 192.0.2.1" (fields already split).
Result<Connection> parse_connection_fields(const std::vector<std::string_view>& fields, size_t first) {
  if (fields.size() != first + 3) return syntax_error("connection needs <nettype> <addrtype> <address>");
  if (fields[first] != "IN") return syntax_error("network type must be IN");
  VONTRES_ASSIGN_OR_RETURN(AddressType type, parse_address_type(fields[first + 1]));
  VONTRES_RETURN_IF_ERROR(validate_address(type, fields[first + 2]));
  return Connection{type, std::string(fields[first + 2])};
}

Result<Origin> parse_origin(std::string_view value) {
  VONTRES_ASSIGN_OR_RETURN(auto fields, split_fields(value, "o="));
  if (fields.size() != 6) return syntax_error("o= needs 6 fields");
  Origin origin;
  origin.username = std::string(fields[0]);
  if (!parse_number(fields[1], origin.session_id)) return syntax_error("o= session id is not a number");
  if (!parse_number(fields[2], origin.session_version)) return syntax_error("o= session version is not a number");
  VONTRES_ASSIGN_OR_RETURN(Connection address, parse_connection_fields(fields, 3));
  origin.address_type = address.address_type;
  origin.address = std::move(address.address);
  return origin;
}

Result<MediaDescription> parse_media_line(std::string_view value, const Limits& limits) {
  VONTRES_ASSIGN_OR_RETURN(auto fields, split_fields(value, "m="));
  if (fields.size() < 4) return syntax_error("m= needs <media> <port> <proto> <fmt>...");
  if (fields.size() - 3 > limits.max_formats_per_media) {
    return invalid_argument("too many formats in m=", std::string(kErrorTooLarge));
  }
  MediaDescription media;
  if (!is_token(fields[0])) return syntax_error("bad media type");
  media.media = std::string(fields[0]);
  std::string_view port_text = fields[1];
  size_t slash = port_text.find('/');
  if (slash != std::string_view::npos) {
    if (!parse_number(port_text.substr(slash + 1), media.port_count) || media.port_count < 1 || media.port_count > 64) {
      return syntax_error("bad port count in m=");
    }
    port_text = port_text.substr(0, slash);
  }
  if (!parse_number(port_text, media.port)) return syntax_error("bad port in m=");
  for (char c : fields[2]) {
    if (!is_token_char(c) && c != '/') return syntax_error("bad protocol in m=");
  }
  media.protocol = std::string(fields[2]);
  bool rtp = media.protocol.find("RTP/") != std::string::npos;
  for (size_t i = 3; i < fields.size(); ++i) {
    if (rtp) {
      int payload_type = -1;
      if (!parse_number(fields[i], payload_type) || payload_type > 127) {
        return syntax_error("RTP format must be a payload type 0-127");
      }
    } else if (!is_token(fields[i])) {
      return syntax_error("bad format in m=");
    }
    media.formats.emplace_back(fields[i]);
  }
  return media;
}

Result<int> parse_payload_type(std::string_view text) {
  int payload_type = -1;
  if (!parse_number(text, payload_type) || payload_type > 127) return syntax_error("bad payload type");
  return payload_type;
}

Result<RtpMap> parse_rtpmap(std::string_view value) {
  size_t space = value.find(' ');
  if (space == std::string_view::npos) return syntax_error("rtpmap needs <pt> <encoding>/<rate>");
  VONTRES_ASSIGN_OR_RETURN(int payload_type, parse_payload_type(value.substr(0, space)));
  std::string_view rest = value.substr(space + 1);
  RtpMap map;
  map.payload_type = payload_type;
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return syntax_error("rtpmap needs a clock rate");
  std::string_view encoding = rest.substr(0, slash);
  if (!is_token(encoding)) return syntax_error("bad rtpmap encoding name");
  map.encoding = std::string(encoding);
  rest = rest.substr(slash + 1);
  slash = rest.find('/');
  std::string_view rate = rest.substr(0, slash);
  if (!parse_number(rate, map.clock_rate) || map.clock_rate <= 0) return syntax_error("bad rtpmap clock rate");
  if (slash != std::string_view::npos) {
    if (!parse_number(rest.substr(slash + 1), map.channels) || map.channels <= 0 || map.channels > 255) {
      return syntax_error("bad rtpmap channel count");
    }
  }
  return map;
}

Result<Fmtp> parse_fmtp(std::string_view value) {
  size_t space = value.find(' ');
  if (space == std::string_view::npos || space + 1 >= value.size()) return syntax_error("fmtp needs <pt> <params>");
  VONTRES_ASSIGN_OR_RETURN(int payload_type, parse_payload_type(value.substr(0, space)));
  return Fmtp{payload_type, std::string(value.substr(space + 1))};
}

Result<RtcpAttribute> parse_rtcp_attribute(std::string_view value) {
  VONTRES_ASSIGN_OR_RETURN(auto fields, split_fields(value, "a=rtcp"));
  RtcpAttribute rtcp;
  if (!parse_number(fields[0], rtcp.port)) return syntax_error("bad rtcp port");
  if (fields.size() > 1) {
    VONTRES_ASSIGN_OR_RETURN(Connection connection, parse_connection_fields(fields, 1));
    rtcp.connection = std::move(connection);
  }
  return rtcp;
}

std::optional<Direction> direction_from_name(std::string_view name) {
  if (name == "sendrecv") return Direction::kSendRecv;
  if (name == "sendonly") return Direction::kSendOnly;
  if (name == "recvonly") return Direction::kRecvOnly;
  if (name == "inactive") return Direction::kInactive;
  return std::nullopt;
}

// Decodes one a= line into the session or media section it belongs to.
Status parse_attribute(std::string_view value, std::optional<Direction>& direction, std::vector<Attribute>& others,
                       MediaDescription* media) {
  size_t colon = value.find(':');
  std::string_view name = value.substr(0, colon);
  if (!is_token(name)) return syntax_error("bad attribute name");
  bool has_value = colon != std::string_view::npos;
  std::string_view attribute_value = has_value ? value.substr(colon + 1) : std::string_view();
  if (auto parsed = direction_from_name(name)) {
    if (has_value) return syntax_error("direction attribute takes no value");
    if (direction) return syntax_error("more than one direction attribute");
    direction = parsed;
    return Status::ok();
  }
  if (media != nullptr && name == "rtpmap") {
    VONTRES_ASSIGN_OR_RETURN(RtpMap map, parse_rtpmap(attribute_value));
    if (media->rtpmap_for(map.payload_type) != nullptr) return syntax_error("duplicate rtpmap");
    media->rtpmaps.push_back(std::move(map));
    return Status::ok();
  }
  if (media != nullptr && name == "fmtp") {
    VONTRES_ASSIGN_OR_RETURN(Fmtp fmtp, parse_fmtp(attribute_value));
    if (media->fmtp_for(fmtp.payload_type) != nullptr) return syntax_error("duplicate fmtp");
    media->fmtps.push_back(std::move(fmtp));
    return Status::ok();
  }
  if (media != nullptr && name == "ptime") {
    int ptime = 0;
    if (!parse_number(attribute_value, ptime) || ptime < 1 || ptime > 1000) return syntax_error("bad ptime");
    if (media->ptime) return syntax_error("duplicate ptime");
    media->ptime = ptime;
    return Status::ok();
  }
  if (media != nullptr && name == "rtcp") {
    VONTRES_ASSIGN_OR_RETURN(RtcpAttribute rtcp, parse_rtcp_attribute(attribute_value));
    if (media->rtcp) return syntax_error("duplicate rtcp attribute");
    media->rtcp = std::move(rtcp);
    return Status::ok();
  }
  others.push_back(Attribute{std::string(name), std::string(attribute_value), has_value});
  return Status::ok();
}

// RFC 4566 order, as ranks: a line may not come after a line of higher rank.
int session_rank(char type) {
  switch (type) {
    case 'v': return 0;
    case 'o': return 1;
    case 's': return 2;
    case 'i': return 3;
    case 'u': return 4;
    case 'e': return 5;
    case 'p': return 6;
    case 'c': return 7;
    case 'b': return 8;
    case 't':
    case 'r': return 9;
    case 'z': return 10;
    case 'k': return 11;
    case 'a': return 12;
    case 'm': return 13;
    default: return -1;
  }
}

int media_rank(char type) {
  switch (type) {
    case 'm': return 0;
    case 'i': return 1;
    case 'c': return 2;
    case 'b': return 3;
    case 'k': return 4;
    case 'a': return 5;
    default: return -1;
  }
}

bool repeatable(char type) {
  return type == 'e' || type == 'p' || type == 'b' || type == 't' || type == 'r' || type == 'a';
}

Status order_error(char type) {
  return invalid_argument(std::string("line '") + type + "=' out of order", std::string(kErrorLineOrder));
}

void append_connection(std::string& out, const Connection& connection) {
  out += "IN ";
  out += address_type_name(connection.address_type);
  out += ' ';
  out += connection.address;
}

}  // namespace

std::string_view direction_name(Direction direction) {
  switch (direction) {
    case Direction::kSendRecv: return "sendrecv";
    case Direction::kSendOnly: return "sendonly";
    case Direction::kRecvOnly: return "recvonly";
    case Direction::kInactive: return "inactive";
  }
  return "sendrecv";
}

const RtpMap* MediaDescription::rtpmap_for(int payload_type) const {
  for (const auto& map : rtpmaps) {
    if (map.payload_type == payload_type) return &map;
  }
  return nullptr;
}

const Fmtp* MediaDescription::fmtp_for(int payload_type) const {
  for (const auto& fmtp : fmtps) {
    if (fmtp.payload_type == payload_type) return &fmtp;
  }
  return nullptr;
}

const Connection* SessionDescription::connection_for(const MediaDescription& m) const {
  if (m.connection) return &*m.connection;
  if (connection) return &*connection;
  return nullptr;
}

Direction SessionDescription::direction_for(const MediaDescription& m) const {
  if (m.direction) return *m.direction;
  return direction.value_or(Direction::kSendRecv);
}

Result<SessionDescription> parse(std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_bytes) {
    return invalid_argument("session description larger than " + std::to_string(limits.max_bytes) + " bytes",
                            std::string(kErrorTooLarge));
  }
  SessionDescription description;
  int rank = -1;
  char previous = 0;
  bool seen_origin = false;
  bool seen_name = false;
  bool seen_time = false;
  size_t session_attributes = 0;
  size_t media_attributes = 0;
  MediaDescription* media = nullptr;
  size_t position = 0;
  while (position < text.size()) {
    size_t end = text.find('\n', position);
    if (end == std::string_view::npos) {
      // RFC 4566 ends every line with CRLF; a final line without one is tolerated, as most stacks do.
      end = text.size();
    }
    std::string_view line = text.substr(position, end - position);
    position = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      // Only trailing blank lines are tolerated (some stacks add one).
      if (text.substr(std::min(position, text.size())).find_first_not_of("\r\n") != std::string_view::npos) {
        return syntax_error("empty line inside the description");
      }
      break;
    }
    if (line.size() > limits.max_line_bytes) {
      return invalid_argument("line longer than " + std::to_string(limits.max_line_bytes) + " bytes",
                              std::string(kErrorTooLarge));
    }
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
      return syntax_error("line is not <type>=<value>");
    }
    for (char c : line) {
      if (c == '\0' || c == '\r') return syntax_error("control character in line");
    }
    char type = line[0];
    std::string_view value = line.substr(2);
    // RFC 4566 wants "s= " for no name, but RFC 3264's own examples write "s=": tolerate that one.
    if (value.empty() && type != 's') return syntax_error(std::string("empty value for '") + type + "='");

    if (type == 'm') {
      if (!seen_time) return invalid_argument("m= before t=", std::string(kErrorMissingLine));
      if (description.media.size() >= limits.max_media) {
        return invalid_argument("too many m= sections", std::string(kErrorTooLarge));
      }
      VONTRES_ASSIGN_OR_RETURN(MediaDescription parsed, parse_media_line(value, limits));
      description.media.push_back(std::move(parsed));
      media = &description.media.back();
      rank = 0;
      previous = 'm';
      media_attributes = 0;
      continue;
    }

    int line_rank = media != nullptr ? media_rank(type) : session_rank(type);
    if (line_rank < 0) {
      return media != nullptr ? order_error(type) : syntax_error(std::string("unknown line type '") + type + "='");
    }
    if (line_rank < rank || (line_rank == rank && !repeatable(type))) return order_error(type);
    if (media == nullptr && type == 'r' && previous != 't' && previous != 'r') return order_error(type);
    if (media == nullptr && rank < 2 && line_rank != rank + 1) {
      return invalid_argument("description must start with v=, o=, s=", std::string(kErrorMissingLine));
    }
    rank = line_rank;
    previous = type;

    switch (type) {
      case 'v':
        if (value != "0") return syntax_error("only v=0 is supported");
        break;
      case 'o': {
        VONTRES_ASSIGN_OR_RETURN(description.origin, parse_origin(value));
        seen_origin = true;
        break;
      }
      case 's':
        description.session_name = std::string(value);
        seen_name = true;
        break;
      case 'c': {
        VONTRES_ASSIGN_OR_RETURN(auto fields, split_fields(value, "c="));
        VONTRES_ASSIGN_OR_RETURN(Connection connection, parse_connection_fields(fields, 0));
        if (media != nullptr) {
          media->connection = std::move(connection);
        } else {
          description.connection = std::move(connection);
        }
        break;
      }
      case 'b': {
        size_t colon = value.find(':');
        uint64_t bandwidth = 0;
        if (colon == std::string_view::npos || !is_token(value.substr(0, colon)) ||
            !parse_number(value.substr(colon + 1), bandwidth)) {
          return syntax_error("b= must be <bwtype>:<bandwidth>");
        }
        auto& list = media != nullptr ? media->bandwidths : description.bandwidths;
        if (list.size() >= limits.max_attributes_per_section) {
          return invalid_argument("too many b= lines", std::string(kErrorTooLarge));
        }
        list.emplace_back(value);
        break;
      }
      case 't': {
        VONTRES_ASSIGN_OR_RETURN(auto fields, split_fields(value, "t="));
        uint64_t start = 0;
        uint64_t stop = 0;
        if (fields.size() != 2 || !parse_number(fields[0], start) || !parse_number(fields[1], stop)) {
          return syntax_error("t= must be <start> <stop>");
        }
        if (!seen_time) {
          description.start_time = start;
          description.stop_time = stop;
        }
        seen_time = true;
        break;
      }
      case 'a': {
        size_t& count = media != nullptr ? media_attributes : session_attributes;
        if (++count > limits.max_attributes_per_section) {
          return invalid_argument("too many a= lines", std::string(kErrorTooLarge));
        }
        if (media != nullptr) {
          VONTRES_RETURN_IF_ERROR(parse_attribute(value, media->direction, media->attributes, media));
        } else {
          VONTRES_RETURN_IF_ERROR(parse_attribute(value, description.direction, description.attributes, nullptr));
        }
        break;
      }
      default: break;  // i, u, e, p, r, z, k: order-checked, not used
    }
  }
  if (!seen_origin || !seen_name || !seen_time) {
    return invalid_argument("v=, o=, s= and t= are required", std::string(kErrorMissingLine));
  }
  for (const auto& m : description.media) {
    if (description.connection_for(m) == nullptr) {
      return invalid_argument("m=" + m.media + " has no c= line", std::string(kErrorMissingLine));
    }
  }
  return description;
}

std::string serialize(const SessionDescription& description) {
  std::string out;
  out.reserve(512);
  const auto& origin = description.origin;
  out += "v=0\r\no=" + origin.username + ' ' + std::to_string(origin.session_id) + ' ' +
         std::to_string(origin.session_version) + " IN ";
  out += address_type_name(origin.address_type);
  out += ' ' + origin.address + "\r\ns=" + description.session_name + "\r\n";
  if (description.connection) {
    out += "c=";
    append_connection(out, *description.connection);
    out += "\r\n";
  }
  for (const auto& bandwidth : description.bandwidths) out += "b=" + bandwidth + "\r\n";
  out += "t=" + std::to_string(description.start_time) + ' ' + std::to_string(description.stop_time) + "\r\n";
  auto append_attributes = [&out](const std::vector<Attribute>& attributes) {
    for (const auto& attribute : attributes) {
      out += "a=" + attribute.name;
      if (attribute.has_value) out += ':' + attribute.value;
      out += "\r\n";
    }
  };
  if (description.direction) {
    out += "a=";
    out += direction_name(*description.direction);
    out += "\r\n";
  }
  append_attributes(description.attributes);
  for (const auto& media : description.media) {
    out += "m=" + media.media + ' ' + std::to_string(media.port);
    if (media.port_count > 1) out += '/' + std::to_string(media.port_count);
    out += ' ' + media.protocol;
    for (const auto& format : media.formats) out += ' ' + format;
    out += "\r\n";
    if (media.connection) {
      out += "c=";
      append_connection(out, *media.connection);
      out += "\r\n";
    }
    for (const auto& bandwidth : media.bandwidths) out += "b=" + bandwidth + "\r\n";
    for (const auto& map : media.rtpmaps) {
      out += "a=rtpmap:" + std::to_string(map.payload_type) + ' ' + map.encoding + '/' + std::to_string(map.clock_rate);
      if (map.channels > 0) out += '/' + std::to_string(map.channels);
      out += "\r\n";
    }
    for (const auto& fmtp : media.fmtps) {
      out += "a=fmtp:" + std::to_string(fmtp.payload_type) + ' ' + fmtp.parameters + "\r\n";
    }
    if (media.ptime) out += "a=ptime:" + std::to_string(*media.ptime) + "\r\n";
    if (media.rtcp) {
      out += "a=rtcp:" + std::to_string(media.rtcp->port);
      if (media.rtcp->connection) {
        out += ' ';
        append_connection(out, *media.rtcp->connection);
      }
      out += "\r\n";
    }
    if (media.direction) {
      out += "a=";
      out += direction_name(*media.direction);
      out += "\r\n";
    }
    append_attributes(media.attributes);
  }
  return out;
}

}  // namespace vontres::telephony::sdp
