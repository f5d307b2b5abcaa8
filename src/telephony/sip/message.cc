// Message value type, the strict RFC 3261 parser, the serializer and the stream framer.
#include "telephony/sip/message.h"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "telephony/sip/detail/scan.h"

namespace vontres::telephony::sip {
namespace {

using detail::iequals;
using detail::is_digit;
using detail::is_ws;
using detail::trim;

struct NameEntry {
  std::string_view lower;  // lower-case long or compact name
  std::string_view canonical;
};

// RFC 3261 7.3.3 compact forms plus those IANA registered later (RFC 3515, 3841, 3892, 4028, 4474,
// 6665, 8224): a Accept-Contact, b Referred-By, d Request-Disposition, j Reject-Contact,
// n Identity-Info, o Event, r Refer-To, u Allow-Events, x Session-Expires, y Identity.
constexpr std::array<NameEntry, 22> kCompact = {{{"a", "Accept-Contact"},
                                                 {"b", "Referred-By"},
                                                 {"c", "Content-Type"},
                                                 {"d", "Request-Disposition"},
                                                 {"e", "Content-Encoding"},
                                                 {"f", "From"},
                                                 {"i", "Call-ID"},
                                                 {"j", "Reject-Contact"},
                                                 {"k", "Supported"},
                                                 {"l", "Content-Length"},
                                                 {"m", "Contact"},
                                                 {"n", "Identity-Info"},
                                                 {"o", "Event"},
                                                 {"r", "Refer-To"},
                                                 {"s", "Subject"},
                                                 {"t", "To"},
                                                 {"u", "Allow-Events"},
                                                 {"v", "Via"},
                                                 {"x", "Session-Expires"},
                                                 {"y", "Identity"},
                                                 {"", ""},
                                                 {"", ""}}};

constexpr std::array<std::string_view, 64> kKnown = {"Via",
                                                     "Warning",
                                                     "User-Agent",
                                                     "Unsupported",
                                                     "WWW-Authenticate",
                                                     "Content-Transfer-Encoding",
                                                     "Accept",
                                                     "Accept-Contact",
                                                     "Accept-Encoding",
                                                     "Accept-Language",
                                                     "Alert-Info",
                                                     "Allow",
                                                     "Allow-Events",
                                                     "Authentication-Info",
                                                     "Authorization",
                                                     "Call-ID",
                                                     "Call-Info",
                                                     "Contact",
                                                     "Content-Disposition",
                                                     "Content-Encoding",
                                                     "Content-Language",
                                                     "Content-Length",
                                                     "Content-Type",
                                                     "CSeq",
                                                     "Date",
                                                     "Error-Info",
                                                     "Event",
                                                     "Expires",
                                                     "From",
                                                     "History-Info",
                                                     "Identity",
                                                     "Identity-Info",
                                                     "In-Reply-To",
                                                     "Max-Forwards",
                                                     "Min-Expires",
                                                     "Min-SE",
                                                     "MIME-Version",
                                                     "Organization",
                                                     "P-Asserted-Identity",
                                                     "Path",
                                                     "Priority",
                                                     "Proxy-Authenticate",
                                                     "Proxy-Authorization",
                                                     "Proxy-Require",
                                                     "RAck",
                                                     "Reason",
                                                     "Record-Route",
                                                     "Refer-To",
                                                     "Referred-By",
                                                     "Reject-Contact",
                                                     "Reply-To",
                                                     "Request-Disposition",
                                                     "Require",
                                                     "Retry-After",
                                                     "Route",
                                                     "RSeq",
                                                     "Server",
                                                     "Service-Route",
                                                     "Session-Expires",
                                                     "Subject",
                                                     "Subscription-State",
                                                     "Supported",
                                                     "Timestamp",
                                                     "To"};

// Headers whose grammar is a comma-separated list; a line carrying several values is split.
// Not here: the *-Authenticate/Authorization family and Date (their grammar contains commas), and
// unknown headers (their grammar is unknown, RFC 4475 3.1.1.1).
constexpr std::array<std::string_view, 27> kListHeaders = {"Via",
                                                           "Warning",
                                                           "Accept",
                                                           "Accept-Contact",
                                                           "Accept-Encoding",
                                                           "Accept-Language",
                                                           "Alert-Info",
                                                           "Allow",
                                                           "Allow-Events",
                                                           "Call-Info",
                                                           "Contact",
                                                           "Content-Encoding",
                                                           "Content-Language",
                                                           "Error-Info",
                                                           "History-Info",
                                                           "In-Reply-To",
                                                           "P-Asserted-Identity",
                                                           "Path",
                                                           "Proxy-Require",
                                                           "Reason",
                                                           "Record-Route",
                                                           "Reject-Contact",
                                                           "Require",
                                                           "Route",
                                                           "Service-Route",
                                                           "Supported",
                                                           "Unsupported"};

// List headers that may be empty (RFC 3261 20: Accept, Accept-Encoding, Accept-Language, Allow, Supported).
bool may_be_empty(std::string_view name) {
  return name == "Accept" || name == "Accept-Encoding" || name == "Accept-Language" || name == "Allow" ||
         name == "Supported" || name == "Unsupported" || name == "Require" || name == "Proxy-Require";
}

bool is_list_header(std::string_view canonical) {
  return std::find(kListHeaders.begin(), kListHeaders.end(), canonical) != kListHeaders.end();
}

ParseError make_error(int status, std::string detail) {
  return ParseError{status, std::string(reason_phrase(status)), std::move(detail), {}};
}

// rfc1123-date = wkday "," SP date1 SP time SP "GMT"; date1 = 2DIGIT SP month SP 4DIGIT.
bool valid_sip_date(std::string_view v) {
  static constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (v.size() != 29) return false;
  if (std::find(kDays.begin(), kDays.end(), v.substr(0, 3)) == kDays.end()) return false;
  if (v.substr(3, 2) != ", " || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' || v[25] != ' ') return false;
  if (std::find(kMonths.begin(), kMonths.end(), v.substr(8, 3)) == kMonths.end()) return false;
  auto digits = [&](size_t pos, size_t n) {
    for (size_t k = pos; k < pos + n; ++k) {
      if (!is_digit(v[k])) return false;
    }
    return true;
  };
  return digits(5, 2) && digits(12, 4) && digits(17, 2) && v[19] == ':' && digits(20, 2) && v[22] == ':' &&
         digits(23, 2) && v.substr(26) == "GMT";
}

bool valid_media_type(std::string_view v) {
  size_t slash = v.find('/');
  if (slash == std::string_view::npos) return false;
  if (!detail::is_token(trim(v.substr(0, slash)))) return false;
  std::string_view rest = v.substr(slash + 1);
  size_t semi = rest.find(';');
  if (!detail::is_token(trim(rest.substr(0, semi)))) return false;
  if (semi == std::string_view::npos) return true;
  // m-parameter = token EQUAL (token / quoted-string)
  rest = rest.substr(semi);
  while (!rest.empty()) {
    rest = detail::skip_ws(rest.substr(1));
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos || !detail::is_token(trim(rest.substr(0, eq)))) return false;
    rest = detail::skip_ws(rest.substr(eq + 1));
    if (!rest.empty() && rest[0] == '"') {
      auto len = detail::scan_quoted(rest);
      if (!len) return false;
      rest = detail::skip_ws(rest.substr(*len));
    } else {
      size_t n = 0;
      while (n < rest.size() && detail::is_token_char(rest[n])) ++n;
      if (n == 0) return false;
      rest = detail::skip_ws(rest.substr(n));
    }
    if (!rest.empty() && rest[0] != ';') return false;
  }
  return true;
}

bool valid_call_id(std::string_view v) {
  if (v.empty()) return false;
  size_t at = 0;
  for (char c : v) {
    if (c == '@') {
      ++at;
    } else if (!detail::is_word_char(c)) {
      return false;
    }
  }
  return at <= 1 && v.front() != '@' && v.back() != '@';
}

// Validates one (already split) value of a header we know the grammar of.
std::optional<ParseError> validate_value(std::string_view name, std::string_view value) {
  auto fail = [&](std::string_view what) {
    return make_error(400, "invalid " + std::string(name) + ": " + std::string(what));
  };
  if (name == "Via") {
    auto via = parse_via(value);
    if (!via) return fail(via.status().message());
  } else if (name == "From" || name == "To" || name == "Route" || name == "Record-Route" || name == "Reply-To" ||
             name == "Refer-To" || name == "Referred-By" || name == "Path" || name == "Service-Route" ||
             name == "P-Asserted-Identity") {
    auto addr = parse_name_addr(value);
    if (!addr || addr->wildcard) return fail(addr ? "wildcard" : addr.status().message());
  } else if (name == "Contact") {
    auto addr = parse_name_addr(value);
    if (!addr) return fail(addr.status().message());
  } else if (name == "CSeq") {
    auto cseq = parse_cseq(value);
    if (!cseq) return fail(cseq.status().message());
  } else if (name == "Call-ID") {
    if (!valid_call_id(value)) return fail("not a word[@word]");
  } else if (name == "Max-Forwards") {
    if (!detail::parse_decimal(value, 255)) return fail("not 0..255");
  } else if (name == "Content-Length") {
    if (!detail::parse_decimal(value, kMaxMessageBytes * 16)) return fail("not a length");
  } else if (name == "Expires" || name == "Min-Expires") {
    if (value.empty() || !std::all_of(value.begin(), value.end(), is_digit)) return fail("not delta-seconds");
  } else if (name == "Date") {
    if (!valid_sip_date(value)) return fail("not an RFC 1123 date in GMT");
  } else if (name == "Content-Type") {
    if (!valid_media_type(value)) return fail("not a media type");
  } else if (name == "Require" || name == "Proxy-Require" || name == "Supported" || name == "Unsupported" ||
             name == "Allow" || name == "Content-Encoding") {
    if (!detail::is_token(value)) return fail("not a token");
  }
  return std::nullopt;
}

size_t find_crlf(std::string_view data, size_t from) { return data.find("\r\n", from); }

bool valid_version(std::string_view v) {
  if (v.size() < 7 || !iequals(v.substr(0, 4), "SIP/")) return false;
  std::string_view num = v.substr(4);
  size_t dot = num.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == num.size()) return false;
  for (size_t k = 0; k < num.size(); ++k) {
    if (k != dot && !is_digit(num[k])) return false;
  }
  return true;
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 181: return "Call Is Being Forwarded";
    case 182: return "Queued";
    case 183: return "Session Progress";
    case 200: return "OK";
    case 202: return "Accepted";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 380: return "Alternative Service";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 423: return "Interval Too Brief";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 484: return "Address Incomplete";
    case 485: return "Ambiguous";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 491: return "Request Pending";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    default: return "Unknown";
  }
}

std::string canonical_header_name(std::string_view name) {
  if (name.size() == 1) {
    for (const auto& entry : kCompact) {
      if (!entry.lower.empty() && detail::to_lower(name[0]) == entry.lower[0]) return std::string(entry.canonical);
    }
    return std::string(name);
  }
  // Bucketed by length so a lookup compares against a handful of names, not all of them.
  static const auto kByLength = [] {
    std::array<std::vector<std::string_view>, 32> table;
    for (std::string_view known : kKnown) table[known.size()].push_back(known);
    return table;
  }();
  if (name.size() < kByLength.size()) {
    for (std::string_view known : kByLength[name.size()]) {
      if (iequals(known, name)) return std::string(known);
    }
  }
  return std::string(name);
}

// ---- Message -------------------------------------------------------------------------------

Message Message::request(std::string method, std::string request_uri) {
  Message m;
  m.method_ = std::move(method);
  m.request_uri_ = std::move(request_uri);
  return m;
}

Message Message::response(int status, std::string reason) {
  Message m;
  m.status_ = status;
  m.reason_ = reason.empty() ? std::string(reason_phrase(status)) : std::move(reason);
  return m;
}

std::optional<std::string_view> Message::header(std::string_view name) const {
  std::string canonical = canonical_header_name(name);
  for (const auto& h : headers_) {
    if (iequals(h.name, canonical)) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::vector<std::string_view> Message::headers_named(std::string_view name) const {
  std::string canonical = canonical_header_name(name);
  std::vector<std::string_view> out;
  for (const auto& h : headers_) {
    if (iequals(h.name, canonical)) out.emplace_back(h.value);
  }
  return out;
}

void Message::add_header(std::string_view name, std::string value) {
  headers_.push_back(Header{canonical_header_name(name), std::move(value)});
}

void Message::prepend_header(std::string_view name, std::string value) {
  std::string canonical = canonical_header_name(name);
  auto it = std::find_if(headers_.begin(), headers_.end(), [&](const Header& h) { return iequals(h.name, canonical); });
  headers_.insert(it, Header{std::move(canonical), std::move(value)});
}

void Message::set_header(std::string_view name, std::string value) {
  std::string canonical = canonical_header_name(name);
  auto it = std::find_if(headers_.begin(), headers_.end(), [&](const Header& h) { return iequals(h.name, canonical); });
  if (it == headers_.end()) {
    headers_.push_back(Header{std::move(canonical), std::move(value)});
    return;
  }
  it->value = std::move(value);
  ++it;
  headers_.erase(std::remove_if(it, headers_.end(), [&](const Header& h) { return iequals(h.name, canonical); }),
                 headers_.end());
}

size_t Message::remove_header(std::string_view name) {
  std::string canonical = canonical_header_name(name);
  size_t before = headers_.size();
  headers_.erase(
      std::remove_if(headers_.begin(), headers_.end(), [&](const Header& h) { return iequals(h.name, canonical); }),
      headers_.end());
  return before - headers_.size();
}

bool Message::remove_first_header(std::string_view name) {
  std::string canonical = canonical_header_name(name);
  auto it = std::find_if(headers_.begin(), headers_.end(), [&](const Header& h) { return iequals(h.name, canonical); });
  if (it == headers_.end()) return false;
  headers_.erase(it);
  return true;
}

void Message::set_body(std::string body, std::string content_type) {
  body_ = std::move(body);
  if (!content_type.empty()) set_header("Content-Type", std::move(content_type));
}

std::string Message::serialize() const {
  size_t size = 64 + body_.size() + request_uri_.size() + reason_.size();
  for (const auto& h : headers_) size += h.name.size() + h.value.size() + 4;
  std::string out;
  out.reserve(size);
  if (is_request()) {
    out += method_;
    out.push_back(' ');
    out += request_uri_;
    out += " SIP/2.0\r\n";
  } else {
    out += "SIP/2.0 ";
    out += std::to_string(status_);
    out.push_back(' ');
    out += reason_;
    out += "\r\n";
  }
  for (const auto& h : headers_) {
    if (h.name == "Content-Length") continue;
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(body_.size());
  out += "\r\n\r\n";
  out += body_;
  return out;
}

// ---- Parser --------------------------------------------------------------------------------

namespace {

// One logical header line (folding already resolved into `value`).
struct RawHeader {
  std::string_view name;
  std::string_view value;  // into the input; replaced by `folded` once a continuation line is seen
  std::string folded;
  bool is_folded = false;
  std::string_view text() const { return is_folded ? std::string_view(folded) : value; }
};

}  // namespace

ParseResult parse_message(std::string_view data) {
  ParseResult result;
  // RFC 3261 7.5: ignore CRLFs before the start line (also keep-alives).
  size_t pos = 0;
  while (pos + 1 < data.size() && data[pos] == '\r' && data[pos + 1] == '\n') pos += 2;
  size_t line_end = find_crlf(data, pos);
  std::string_view start =
      data.substr(pos, line_end == std::string_view::npos ? std::string_view::npos : line_end - pos);
  bool is_response = start.size() >= 4 && iequals(start.substr(0, 4), "SIP/");
  // A response cannot be answered: its parse errors carry status 0 (drop it).
  auto fail = [&](int status, std::string detail) {
    result.error = make_error(is_response ? 0 : status, std::move(detail));
    return result;
  };
  if (line_end == std::string_view::npos) return fail(400, "no complete start line");
  if (data.size() > kMaxMessageBytes) return fail(413, "message larger than limit");

  Message msg;
  if (is_response) {
    size_t sp1 = start.find(' ');
    std::string_view version = start.substr(0, sp1);
    if (sp1 == std::string_view::npos || !valid_version(version)) return fail(400, "bad status line");
    if (!iequals(version, "SIP/2.0")) return fail(505, "unsupported SIP version");
    std::string_view rest = start.substr(sp1 + 1);
    if (rest.size() < 3 || !is_digit(rest[0]) || !is_digit(rest[1]) || !is_digit(rest[2]) ||
        (rest.size() > 3 && rest[3] != ' ')) {
      return fail(400, "bad status code");
    }
    int status = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
    if (status < 100 || status > 699) return fail(400, "status code out of range");
    std::string_view reason = rest.size() > 3 ? rest.substr(4) : std::string_view();
    for (char c : reason) {
      if (c == '\0' || c == '\r' || c == '\n') return fail(400, "bad reason phrase");
    }
    msg = Message::response(status, "-");
    msg.set_reason(std::string(reason));
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version: exactly one SP each (RFC 4475 3.1.2.9/10).
    size_t sp1 = start.find(' ');
    if (sp1 == std::string_view::npos) return fail(400, "bad request line");
    size_t sp2 = start.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return fail(400, "request line without SIP version");
    std::string_view method = start.substr(0, sp1);
    std::string_view uri = start.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = start.substr(sp2 + 1);
    if (!detail::is_token(method)) return fail(400, "bad method");
    if (uri.size() > kMaxRequestUriBytes) return fail(414, "Request-URI too long");
    if (!valid_version(version)) return fail(400, "bad SIP version");
    if (!iequals(version, "SIP/2.0")) return fail(505, "unsupported SIP version");
    auto parsed_uri = parse_uri(uri);
    if (!parsed_uri) return fail(400, "bad Request-URI: " + parsed_uri.status().message());
    if (!parsed_uri->headers.empty()) return fail(400, "Request-URI carries headers");
    msg = Message::request(std::string(method), std::string(uri));
  }

  // Header lines up to the empty line.
  std::vector<RawHeader> raw;
  pos = line_end + 2;
  bool terminated = false;
  while (pos <= data.size()) {
    size_t end = find_crlf(data, pos);
    if (end == std::string_view::npos) break;
    if (end == pos) {
      pos += 2;
      terminated = true;
      break;
    }
    std::string_view line = data.substr(pos, end - pos);
    pos = end + 2;
    if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
      return fail(400, "bare CR or LF in header");
    }
    if (is_ws(line[0])) {
      if (raw.empty()) return fail(400, "continuation line before first header");
      RawHeader& last = raw.back();
      if (!last.is_folded) {
        last.folded = std::string(last.value);
        last.is_folded = true;
      }
      // Folding (LWS with CRLF) collapses to one space.
      while (!last.folded.empty() && is_ws(last.folded.back())) last.folded.pop_back();
      std::string_view more = trim(line);
      if (!more.empty()) {
        if (!last.folded.empty()) last.folded.push_back(' ');
        last.folded.append(more);
      }
      if (last.folded.size() > kMaxHeaderLineBytes) return fail(400, "header line too long");
      continue;
    }
    if (line.size() > kMaxHeaderLineBytes) return fail(400, "header line too long");
    if (raw.size() >= kMaxHeaderFields) return fail(400, "too many header fields");
    size_t n = 0;
    while (n < line.size() && detail::is_token_char(line[n])) ++n;
    std::string_view name = line.substr(0, n);
    std::string_view rest = detail::skip_ws(line.substr(n));
    if (n == 0 || rest.empty() || rest[0] != ':') return fail(400, "malformed header line");
    raw.push_back(RawHeader{name, trim(rest.substr(1)), {}, false});
  }
  if (!terminated) return fail(400, "header section not terminated by an empty line");

  std::optional<size_t> content_length;
  msg.reserve_headers(raw.size() + 4);
  for (const auto& raw_header : raw) {
    std::string_view value = raw_header.text();
    std::string canonical = canonical_header_name(raw_header.name);
    for (char c : value) {
      if (c == '\0' && canonical != "To" && canonical != "From" && canonical != "Contact") {
        return fail(400, "NUL in " + canonical);
      }
    }
    if (canonical == "Content-Length") {
      auto cl = detail::parse_decimal(value, kMaxMessageBytes * 16);
      if (!cl) return fail(400, "bad Content-Length");
      if (content_length) return fail(400, "more than one Content-Length");  // RFC 4475 3.3.9
      content_length = static_cast<size_t>(*cl);
    }
    if (is_list_header(canonical) && !(canonical == "Contact" && trim(value) == "*")) {
      auto parts = detail::split_commas(value);
      if (!parts) return fail(400, "unbalanced quotes or <> in " + canonical);
      if (parts->size() == 1 && (*parts)[0].empty() && may_be_empty(canonical)) {
        msg.add_header(canonical, std::string());
        continue;
      }
      for (std::string_view part : *parts) {
        if (part.empty()) return fail(400, "empty element in " + canonical);
        if (auto bad = validate_value(canonical, part)) return fail(bad->response_status, bad->detail);
        msg.add_header(canonical, std::string(part));
      }
      continue;
    }
    if (auto bad = validate_value(canonical, value)) return fail(bad->response_status, bad->detail);
    msg.add_header(canonical, std::string(value));
  }

  std::string_view rest = data.substr(std::min(pos, data.size()));
  if (content_length) {
    if (*content_length > rest.size()) return fail(400, "Content-Length larger than the message");
    rest = rest.substr(0, *content_length);  // RFC 3261 18.3: extra datagram bytes are ignored
  }
  msg.set_body(std::string(rest));
  result.message = std::move(msg);
  return result;
}

// ---- MessageFramer -------------------------------------------------------------------------

void MessageFramer::feed(std::string_view bytes) {
  if (error_) return;
  buffer_.append(bytes);
}

std::optional<std::string> MessageFramer::next() {
  if (error_) return std::nullopt;
  size_t skip = 0;
  while (skip + 1 < buffer_.size() && buffer_[skip] == '\r' && buffer_[skip + 1] == '\n') skip += 2;
  if (skip > 0) buffer_.erase(0, skip);  // keep-alive CRLFs (RFC 5626 4.4.1)
  size_t end = buffer_.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (buffer_.size() > max_header_bytes_) error_ = make_error(413, "header section larger than limit");
    return std::nullopt;
  }
  if (end + 4 > max_header_bytes_) {
    error_ = make_error(413, "header section larger than limit");
    return std::nullopt;
  }
  // Find Content-Length (long or compact form) among the header lines.
  std::string_view head(buffer_.data(), end + 2);
  std::optional<size_t> length;
  size_t line = head.find("\r\n") + 2;
  while (line < head.size()) {
    size_t eol = head.find("\r\n", line);
    std::string_view text = head.substr(line, eol - line);
    line = eol + 2;
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim(text.substr(0, colon));
    if (!iequals(name, "Content-Length") && !iequals(name, "l")) continue;
    auto value = detail::parse_decimal(trim(text.substr(colon + 1)), max_body_bytes_ + 1);
    if (!value || (length && *length != *value)) {
      error_ = make_error(400, "invalid Content-Length on a stream");
      return std::nullopt;
    }
    length = static_cast<size_t>(*value);
  }
  if (!length) {
    error_ = make_error(400, "missing Content-Length on a stream");
    return std::nullopt;
  }
  if (*length > max_body_bytes_) {
    error_ = make_error(413, "body larger than limit");
    return std::nullopt;
  }
  size_t total = end + 4 + *length;
  if (buffer_.size() < total) return std::nullopt;
  std::string out = buffer_.substr(0, total);
  buffer_.erase(0, total);
  return out;
}

}  // namespace vontres::telephony::sip
