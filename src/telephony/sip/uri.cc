// URI, name-addr, Via and CSeq parsing (RFC 3261 sections 19.1, 20, 25.1) and their wire forms.
#include <string>
#include <string_view>

#include "telephony/sip/detail/scan.h"
#include "telephony/sip/message.h"

namespace vontres::telephony::sip {
namespace {

using detail::is_alnum;
using detail::is_alpha;
using detail::is_digit;
using detail::is_hex;
using detail::is_token_char;
using detail::is_ws;
using detail::skip_ws;
using detail::trim;

Status bad(std::string message) { return invalid_argument(std::move(message), "sip_bad_syntax"); }

std::optional<std::string_view> find_param(const std::vector<Param>& params, std::string_view name) {
  for (const auto& p : params) {
    if (detail::iequals(p.name, name)) return p.value ? std::string_view(*p.value) : std::string_view();
  }
  return std::nullopt;
}

bool valid_ipv6(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  int colons = 0;
  for (char c : s) {
    if (c == ':') {
      ++colons;
    } else if (!is_hex(c) && c != '.') {
      return false;
    }
  }
  return colons >= 2 && colons <= 7;
}

bool valid_hostname(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  if (s.front() == '-' || s.front() == '.') return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

// host [":" port]; host keeps IPv6 brackets and is lower-cased.
Status parse_hostport(std::string_view text, std::string& host, std::optional<uint16_t>& port) {
  std::string_view rest;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || !valid_ipv6(text.substr(1, close - 1))) return bad("bad IPv6 reference");
    host = detail::lower(text.substr(0, close + 1));
    rest = text.substr(close + 1);
  } else {
    size_t colon = text.find(':');
    std::string_view h = text.substr(0, colon);
    if (!valid_hostname(h)) return bad("bad host");
    host = detail::lower(h);
    rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
  }
  if (!rest.empty()) {
    if (rest[0] != ':') return bad("junk after host");
    auto p = detail::parse_decimal(rest.substr(1), 65535);
    if (!p) return bad("bad port");
    port = static_cast<uint16_t>(*p);
  }
  return Status::ok();
}

// Parses ";name[=value]" URI parameters (escaped allowed; names lower-cased).
Status parse_uri_params(std::string_view text, std::vector<Param>& out) {
  while (!text.empty()) {
    if (text[0] != ';') return bad("expected ';' in URI parameters");
    text.remove_prefix(1);
    size_t end = text.find(';');
    std::string_view item = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end);
    size_t eq = item.find('=');
    auto name = detail::decode_escaped(item.substr(0, eq), detail::is_param_char);
    if (!name || name->empty()) return bad("bad URI parameter name");
    Param p{detail::lower(*name), std::nullopt};
    if (eq != std::string_view::npos) {
      auto value = detail::decode_escaped(item.substr(eq + 1), detail::is_param_char);
      if (!value || value->empty()) return bad("bad URI parameter value");
      p.value = std::move(*value);
    }
    out.push_back(std::move(p));
  }
  return Status::ok();
}

Status parse_uri_headers(std::string_view text, std::vector<std::pair<std::string, std::string>>& out) {
  while (true) {
    size_t amp = text.find('&');
    std::string_view item = text.substr(0, amp);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return bad("URI header without '='");
    auto name = detail::decode_escaped(item.substr(0, eq), detail::is_header_char);
    auto value = detail::decode_escaped(item.substr(eq + 1), detail::is_header_char);
    if (!name || name->empty() || !value) return bad("bad URI header");
    out.emplace_back(std::move(*name), std::move(*value));
    if (amp == std::string_view::npos) break;
    text.remove_prefix(amp + 1);
  }
  return Status::ok();
}

// Generic header parameters: *( SEMI generic-param ), LWS allowed around ';' and '='. gen-value is
// token / host / quoted-string; quotes are removed.
Status parse_generic_params(std::string_view text, std::vector<Param>& out) {
  text = trim(text);
  while (!text.empty()) {
    if (text[0] != ';') return bad("expected ';' before parameter");
    text = skip_ws(text.substr(1));
    size_t n = 0;
    while (n < text.size() && is_token_char(text[n])) ++n;
    if (n == 0) return bad("empty parameter");
    Param p{detail::lower(text.substr(0, n)), std::nullopt};
    text = skip_ws(text.substr(n));
    if (!text.empty() && text[0] == '=') {
      text = skip_ws(text.substr(1));
      if (!text.empty() && text[0] == '"') {
        auto len = detail::scan_quoted(text);
        if (!len) return bad("unterminated quoted parameter value");
        p.value = detail::unquote(text.substr(0, *len));
        text = text.substr(*len);
      } else {
        size_t v = 0;
        while (v < text.size() && (is_token_char(text[v]) || text[v] == ':' || text[v] == '[' || text[v] == ']')) ++v;
        if (v == 0) return bad("empty parameter value");
        p.value = std::string(text.substr(0, v));
        text = text.substr(v);
      }
      text = skip_ws(text);
    }
    out.push_back(std::move(p));
  }
  return Status::ok();
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (!is_token_char(c) && c != ':' && c != '[' && c != ']') return true;
  }
  return false;
}

void append_params(std::string& out, const std::vector<Param>& params, bool uri_form) {
  for (const auto& p : params) {
    out.push_back(';');
    out += uri_form ? detail::encode_escaped(p.name, detail::is_param_char) : p.name;
    if (p.value) {
      out.push_back('=');
      if (uri_form) {
        out += detail::encode_escaped(*p.value, detail::is_param_char);
      } else {
        out += needs_quotes(*p.value) ? detail::quote(*p.value) : *p.value;
      }
    }
  }
}

bool valid_scheme(std::string_view s) {
  if (s.empty() || !is_alpha(s[0])) return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> Uri::param(std::string_view name) const { return find_param(params, name); }
std::optional<std::string_view> NameAddr::param(std::string_view name) const { return find_param(params, name); }
std::optional<std::string_view> Via::param(std::string_view name) const { return find_param(params, name); }

std::string Via::branch() const { return std::string(param("branch").value_or("")); }

Result<Uri> parse_uri(std::string_view text) {
  if (text.size() > kMaxRequestUriBytes) return bad("URI too long");
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || !valid_scheme(text.substr(0, colon))) return bad("URI without scheme");
  Uri uri;
  uri.scheme = detail::lower(text.substr(0, colon));
  std::string_view rest = text.substr(colon + 1);
  if (uri.scheme == "sip" || uri.scheme == "sips") {
    size_t at = rest.find('@');
    if (at != std::string_view::npos) {
      std::string_view userinfo = rest.substr(0, at);
      rest.remove_prefix(at + 1);
      size_t pw = userinfo.find(':');
      auto user = detail::decode_escaped(userinfo.substr(0, pw), detail::is_user_char);
      if (!user || user->empty()) return bad("bad URI user");
      uri.user = std::move(*user);
      if (pw != std::string_view::npos) {
        auto password = detail::decode_escaped(userinfo.substr(pw + 1), detail::is_password_char);
        if (!password) return bad("bad URI password");
        uri.password = std::move(*password);
      }
    }
    size_t q = rest.find('?');
    std::string_view headers;
    if (q != std::string_view::npos) {
      headers = rest.substr(q + 1);
      rest = rest.substr(0, q);
      VONTRES_RETURN_IF_ERROR(parse_uri_headers(headers, uri.headers));
    }
    size_t semi = rest.find(';');
    VONTRES_RETURN_IF_ERROR(parse_hostport(rest.substr(0, semi), uri.host, uri.port));
    if (semi != std::string_view::npos) VONTRES_RETURN_IF_ERROR(parse_uri_params(rest.substr(semi), uri.params));
    return uri;
  }
  if (uri.scheme == "tel") {
    size_t semi = rest.find(';');
    std::string_view number = rest.substr(0, semi);
    if (number.empty()) return bad("empty tel number");
    for (char c : number) {
      if (!is_hex(c) && c != '+' && c != '-' && c != '.' && c != '(' && c != ')' && c != '*' && c != '#' && c != 'p' &&
          c != 'w' && c != 'P' && c != 'W') {
        return bad("bad tel number");
      }
    }
    uri.user = std::string(number);
    if (semi != std::string_view::npos) VONTRES_RETURN_IF_ERROR(parse_uri_params(rest.substr(semi), uri.params));
    return uri;
  }
  if (rest.empty()) return bad("empty absoluteURI");
  for (char c : rest) {
    if (!detail::is_uric(c)) return bad("bad character in absoluteURI");
  }
  uri.opaque = std::string(rest);
  return uri;
}

std::string Uri::to_string() const {
  std::string out = scheme;
  out.push_back(':');
  if (scheme != "sip" && scheme != "sips" && scheme != "tel") {
    out += opaque;
    return out;
  }
  if (scheme == "tel") {
    out += user;
  } else {
    if (!user.empty()) {
      out += detail::encode_escaped(user, [](char c) { return detail::is_user_char(c) && c != '?' && c != ';'; });
      if (password) {
        out.push_back(':');
        out += detail::encode_escaped(*password, detail::is_password_char);
      }
      out.push_back('@');
    }
    out += host;
    if (port) out += ":" + std::to_string(*port);
  }
  append_params(out, params, true);
  char sep = '?';
  for (const auto& [name, value] : headers) {
    out.push_back(sep);
    out += detail::encode_escaped(name, detail::is_header_char);
    out.push_back('=');
    out += detail::encode_escaped(value, detail::is_header_char);
    sep = '&';
  }
  return out;
}

Result<NameAddr> parse_name_addr(std::string_view text) {
  text = trim(text);
  NameAddr out;
  if (text == "*") {
    out.wildcard = true;
    return out;
  }
  // Find a top-level '<' (outside a quoted display name).
  size_t i = 0;
  bool has_angle = false;
  if (!text.empty() && text[0] == '"') {
    auto len = detail::scan_quoted(text);
    if (!len) return bad("unterminated quoted display name");
    out.display_name = detail::unquote(text.substr(0, *len));
    i = *len;
    while (i < text.size() && is_ws(text[i])) ++i;
    if (i >= text.size() || text[i] != '<') return bad("display name without <URI>");
    has_angle = true;
  } else {
    size_t lt = text.find('<');
    size_t semi = text.find(';');
    if (lt != std::string_view::npos && (semi == std::string_view::npos || lt < semi)) {
      // display-name = *(token LWS): tokens separated by whitespace, nothing else.
      std::string_view display = trim(text.substr(0, lt));
      for (char c : display) {
        if (!is_token_char(c) && !is_ws(c)) return bad("non-token character in display name");
      }
      std::string collapsed;
      bool space = false;
      for (char c : display) {
        if (is_ws(c)) {
          space = true;
          continue;
        }
        if (space && !collapsed.empty()) collapsed.push_back(' ');
        space = false;
        collapsed.push_back(c);
      }
      out.display_name = std::move(collapsed);
      i = lt;
      has_angle = true;
    }
  }
  std::string_view params;
  if (has_angle) {
    size_t close = text.find('>', i);
    if (close == std::string_view::npos) return bad("missing '>'");
    std::string_view spec = text.substr(i + 1, close - i - 1);
    for (char c : spec) {
      if (is_ws(c)) return bad("whitespace inside <addr-spec>");
    }
    VONTRES_ASSIGN_OR_RETURN(out.uri, parse_uri(spec));
    params = text.substr(close + 1);
  } else {
    // addr-spec form: the URI ends at the first ';' and may not contain '?' or ',' (RFC 3261 20).
    size_t semi = text.find(';');
    std::string_view spec = trim(text.substr(0, semi));
    for (char c : spec) {
      if (is_ws(c) || c == '?' || c == ',' || c == '<' || c == '>' || c == '"') return bad("bad addr-spec");
    }
    VONTRES_ASSIGN_OR_RETURN(out.uri, parse_uri(spec));
    params = semi == std::string_view::npos ? std::string_view() : text.substr(semi);
  }
  VONTRES_RETURN_IF_ERROR(parse_generic_params(params, out.params));
  return out;
}

std::string NameAddr::to_string() const {
  if (wildcard) return "*";
  std::string out;
  if (!display_name.empty()) out = detail::quote(display_name) + " ";
  out += "<" + uri.to_string() + ">";
  append_params(out, params, false);
  return out;
}

Result<Via> parse_via(std::string_view text) {
  text = trim(text);
  Via via;
  std::string parts[3];
  for (int k = 0; k < 3; ++k) {
    text = skip_ws(text);
    size_t n = 0;
    while (n < text.size() && is_token_char(text[n])) ++n;
    if (n == 0) return bad("bad Via sent-protocol");
    parts[k] = std::string(text.substr(0, n));
    text = skip_ws(text.substr(n));
    if (k < 2) {
      if (text.empty() || text[0] != '/') return bad("bad Via sent-protocol");
      text.remove_prefix(1);
    }
  }
  if (!detail::iequals(parts[0], "SIP")) return bad("Via protocol is not SIP");
  via.protocol = "SIP/" + parts[1];
  via.transport = parts[2];
  for (char& c : via.transport) c = detail::to_upper(c);
  // sent-by = host [ COLON port ], LWS allowed around the colon.
  size_t n = 0;
  if (!text.empty() && text[0] == '[') {
    n = text.find(']');
    if (n == std::string_view::npos) return bad("bad Via IPv6 reference");
    ++n;
  } else {
    while (n < text.size() && (detail::is_alnum(text[n]) || text[n] == '-' || text[n] == '.')) ++n;
  }
  std::string hostport(text.substr(0, n));
  text = skip_ws(text.substr(n));
  if (!text.empty() && text[0] == ':') {
    text = skip_ws(text.substr(1));
    size_t d = 0;
    while (d < text.size() && is_digit(text[d])) ++d;
    hostport += ":" + std::string(text.substr(0, d));
    text = text.substr(d);
  }
  VONTRES_RETURN_IF_ERROR(parse_hostport(hostport, via.host, via.port));
  VONTRES_RETURN_IF_ERROR(parse_generic_params(text, via.params));
  return via;
}

std::string Via::to_string() const {
  std::string out = protocol + "/" + transport + " " + host;
  if (port) out += ":" + std::to_string(*port);
  append_params(out, params, false);
  return out;
}

Result<CSeq> parse_cseq(std::string_view text) {
  text = trim(text);
  size_t n = 0;
  while (n < text.size() && is_digit(text[n])) ++n;
  auto seq = detail::parse_decimal(text.substr(0, n), 0xFFFFFFFFULL);
  if (!seq) return bad("bad CSeq number");
  std::string_view method = text.substr(n);
  if (method.empty() || !is_ws(method[0])) return bad("CSeq without method");
  method = trim(method);
  if (!detail::is_token(method)) return bad("bad CSeq method");
  return CSeq{static_cast<uint32_t>(*seq), std::string(method)};
}

}  // namespace vontres::telephony::sip
