// SIP messages (RFC 3261 section 7): the value type every telephony layer passes around, its
// parser and its serializer. Parsing is strict: a message that RFC 3261/RFC 4475 calls invalid
// is rejected with a ParseError that says which response the receiver should send (400, 413,
// 414, 416, 420, 505 ...), so the transport can answer a malformed request correctly instead of
// dropping it or crashing.
//
// Header names are stored in their canonical long form ("v" -> "Via", "i" -> "Call-ID"); lookup
// is case-insensitive and accepts compact forms. A header line that carries several
// comma-separated values (Via, Contact, Route, Record-Route ...) is split into one Header entry
// per value when parsed, so `headers_named("Via")` returns one entry per hop in order.
// serialize() writes the long names, one value per line, and a Content-Length that matches the
// body.
//
// Thread-safety: value type; a Message may be moved between threads but not shared mutably.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace vontres::telephony::sip {

struct Header {
  std::string name;   // canonical long form, e.g. "Call-ID"
  std::string value;  // trimmed; folding (LWS with CRLF) collapsed to one space
};

class Message {
 public:
  // Builders for messages this stack originates.
  static Message request(std::string method, std::string request_uri);
  static Message response(int status, std::string reason = {});

  bool is_request() const { return status_ == 0; }
  bool is_response() const { return status_ != 0; }

  // Request line. method() is case-sensitive as received (RFC 3261 methods are upper case).
  const std::string& method() const { return method_; }
  const std::string& request_uri() const { return request_uri_; }
  void set_request_uri(std::string uri) { request_uri_ = std::move(uri); }
  // Status line.
  int status() const { return status_; }
  const std::string& reason() const { return reason_; }
  void set_reason(std::string reason) { reason_ = std::move(reason); }

  const std::vector<Header>& headers() const { return headers_; }
  // First value of a header (long or compact name, any case), if present.
  std::optional<std::string_view> header(std::string_view name) const;
  // Every value of a header, in message order.
  std::vector<std::string_view> headers_named(std::string_view name) const;
  bool has_header(std::string_view name) const { return header(name).has_value(); }
  // Appends a value (keeps existing ones).
  void add_header(std::string_view name, std::string value);
  // Inserts a value before every existing value of that header (e.g. a new top Via).
  void prepend_header(std::string_view name, std::string value);
  // Replaces every value of the header by one value.
  void set_header(std::string_view name, std::string value);
  // Removes every value; returns how many were removed.
  size_t remove_header(std::string_view name);
  // Removes the first value only (e.g. the top Via of a response being forwarded).
  bool remove_first_header(std::string_view name);
  // Capacity hint for builders and the parser.
  void reserve_headers(size_t count) { headers_.reserve(count); }

  const std::string& body() const { return body_; }
  // Sets the body and, when non-empty, the Content-Type.
  void set_body(std::string body, std::string content_type = {});

  // Wire form: start line, headers (long names), Content-Length, blank line, body.
  std::string serialize() const;

 private:
  std::string method_;
  std::string request_uri_;
  int status_ = 0;
  std::string reason_;
  std::vector<Header> headers_;
  std::string body_;
};

// Why a message was rejected, and what to answer when it was a request that can be answered.
struct ParseError {
  int response_status = 400;  // 400, 413, 414, 416, 420, 505 ...; 0 when no response is possible
  std::string reason;         // reason phrase for that response, e.g. "Bad Request"
  std::string detail;         // what was wrong, for logs (never echoes the whole message)
  // Headers the response must carry: Unsupported (420), Allow (405), Accept/Accept-Encoding (415).
  std::vector<Header> response_headers = {};
};

// Standard reason phrase of a status code ("Bad Request"); "Unknown" for codes RFC 3261 does not name.
std::string_view reason_phrase(int status);

// Hard limits of parse_message; hostile input costs at most this much memory and linear CPU.
inline constexpr size_t kMaxMessageBytes = 64 * 1024;    // 413 when a datagram/message is larger
inline constexpr size_t kMaxHeaderFields = 256;          // header lines (after folding); 400 past it
inline constexpr size_t kMaxHeaderLineBytes = 8 * 1024;  // one logical header line; 400 past it
inline constexpr size_t kMaxRequestUriBytes = 4 * 1024;  // 414 past it

// Parses one complete message. Over UDP a datagram is one message; any bytes past the body
// announced by Content-Length are ignored (RFC 3261 18.3). Over a stream use MessageFramer.
// Returns the message or a ParseError; never throws, never reads past `data`.
struct ParseResult {
  std::optional<Message> message;
  std::optional<ParseError> error;
  explicit operator bool() const { return message.has_value(); }
};
ParseResult parse_message(std::string_view data);

// Splits a TCP/TLS byte stream into messages by the blank line and Content-Length (which is
// mandatory on streams). Feed bytes as they arrive; next() yields complete messages. A framing
// error (missing/invalid Content-Length, headers over `max_header_bytes`, body over
// `max_body_bytes`) is sticky: the connection must be closed after answering it.
class MessageFramer {
 public:
  explicit MessageFramer(size_t max_header_bytes = 16 * 1024, size_t max_body_bytes = 64 * 1024)
      : max_header_bytes_(max_header_bytes), max_body_bytes_(max_body_bytes) {}
  void feed(std::string_view bytes);
  // The next complete message's raw bytes, if any; pass them to parse_message.
  std::optional<std::string> next();
  const std::optional<ParseError>& error() const { return error_; }

 private:
  size_t max_header_bytes_;
  size_t max_body_bytes_;
  std::string buffer_;
  std::optional<ParseError> error_;
};

// ---- Structured header values -------------------------------------------------------------

struct Param {
  std::string name;                  // lower-cased
  std::optional<std::string> value;  // absent for flag params like ";lr"; quotes removed
};

// SIP/SIPS/TEL URI (RFC 3261 19.1). Host keeps IPv6 brackets ("[2001:db8::1]").
struct Uri {
  std::string scheme;  // lower-cased: "sip", "sips", "tel", or any other absoluteURI scheme
  std::string user;    // percent-decoded
  std::optional<std::string> password;
  std::string host;  // lower-cased
  std::optional<uint16_t> port;
  std::vector<Param> params;                                 // ;transport=tcp;lr ...
  std::vector<std::pair<std::string, std::string>> headers;  // ?subject=...
  std::string opaque;  // everything after "scheme:" for schemes other than sip/sips/tel (as received)
  std::optional<std::string_view> param(std::string_view name) const;
  std::string to_string() const;
};
Result<Uri> parse_uri(std::string_view text);

// name-addr / addr-spec with header params: From, To, Contact, Route, Record-Route, Refer-To.
struct NameAddr {
  std::string display_name;  // unquoted
  Uri uri;
  std::vector<Param> params;  // ;tag=...;expires=...
  bool wildcard = false;      // "Contact: *"
  std::optional<std::string_view> param(std::string_view name) const;
  std::string to_string() const;
};
Result<NameAddr> parse_name_addr(std::string_view text);

struct Via {
  std::string protocol = "SIP/2.0";
  std::string transport;  // upper-cased: "UDP", "TCP", "TLS"
  std::string host;
  std::optional<uint16_t> port;
  std::vector<Param> params;  // branch, received, rport (value may be empty), maddr, ttl
  std::optional<std::string_view> param(std::string_view name) const;
  std::string branch() const;
  std::string to_string() const;
};
Result<Via> parse_via(std::string_view text);

struct CSeq {
  uint32_t sequence = 0;
  std::string method;
};
Result<CSeq> parse_cseq(std::string_view text);

// Canonical long name of a header ("i" -> "Call-ID", "call-id" -> "Call-ID"); unknown names are
// returned with their original spelling.
std::string canonical_header_name(std::string_view name);

}  // namespace vontres::telephony::sip
