#include "redis/resp.h"

#include <charconv>

namespace vontres::redis {

std::string_view Reply::error_code() const {
  if (type != Type::kError) return {};
  std::string_view view(text);
  return view.substr(0, view.find(' '));
}

std::string Reply::debug_string() const {
  switch (type) {
    case Type::kSimpleString: return "+" + text;
    case Type::kError: return "-" + text;
    case Type::kInteger: return ":" + std::to_string(integer);
    case Type::kBulkString: return "\"" + (text.size() > 64 ? text.substr(0, 64) + "..." : text) + "\"";
    case Type::kNil: return "(nil)";
    case Type::kArray: {
      std::string out = "[";
      for (size_t i = 0; i < elements.size(); ++i) {
        if (i > 0) out += ", ";
        out += elements[i].debug_string();
      }
      return out + "]";
    }
  }
  return {};
}

void encode_command(std::string& out, const std::vector<std::string>& args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& arg : args) {
    out += '$';
    out += std::to_string(arg.size());
    out += "\r\n";
    out += arg;
    out += "\r\n";
  }
}

std::string encode_command(const std::vector<std::string>& args) {
  std::string out;
  encode_command(out, args);
  return out;
}

void encode_reply(std::string& out, const Reply& reply) {
  switch (reply.type) {
    case Reply::Type::kSimpleString: out += "+" + reply.text + "\r\n"; return;
    case Reply::Type::kError: out += "-" + reply.text + "\r\n"; return;
    case Reply::Type::kInteger: out += ":" + std::to_string(reply.integer) + "\r\n"; return;
    case Reply::Type::kBulkString:
      out += "$" + std::to_string(reply.text.size()) + "\r\n" + reply.text + "\r\n";
      return;
    case Reply::Type::kNil: out += "$-1\r\n"; return;
    case Reply::Type::kArray:
      out += "*" + std::to_string(reply.elements.size()) + "\r\n";
      for (const auto& element : reply.elements) encode_reply(out, element);
      return;
  }
}

void RespParser::feed(std::string_view bytes) {
  if (consumed_ > 0 && consumed_ >= buffer_.size() / 2) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

RespParser::Outcome RespParser::read_line(size_t& pos, std::string_view& line) {
  const size_t end = buffer_.find("\r\n", pos);
  if (end == std::string::npos) {
    return buffer_.size() - pos > limits_.max_line_bytes ? Outcome::kInvalid : Outcome::kIncomplete;
  }
  if (end - pos > limits_.max_line_bytes) return Outcome::kInvalid;
  line = std::string_view(buffer_).substr(pos, end - pos);
  pos = end + 2;
  return Outcome::kDone;
}

namespace {

bool parse_int(std::string_view text, int64_t& value) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end;
}

}  // namespace

RespParser::Outcome RespParser::parse(size_t& pos, int depth, Reply& out) {
  if (depth > limits_.max_depth) return Outcome::kInvalid;
  if (pos >= buffer_.size()) return Outcome::kIncomplete;
  const char marker = buffer_[pos];
  size_t cursor = pos + 1;
  std::string_view line;
  if (Outcome o = read_line(cursor, line); o != Outcome::kDone) return o;
  switch (marker) {
    case '+': out = Reply::simple(std::string(line)); break;
    case '-': out = Reply::error(std::string(line)); break;
    case ':': {
      int64_t value = 0;
      if (!parse_int(line, value)) return Outcome::kInvalid;
      out = Reply::number(value);
      break;
    }
    case '$': {
      int64_t length = 0;
      if (!parse_int(line, length) || length < -1) return Outcome::kInvalid;
      if (length == -1) {
        out = Reply::nil();
        break;
      }
      if (static_cast<uint64_t>(length) > limits_.max_bulk_bytes) return Outcome::kInvalid;
      const auto size = static_cast<size_t>(length);
      if (buffer_.size() - cursor < size + 2) return Outcome::kIncomplete;
      if (buffer_[cursor + size] != '\r' || buffer_[cursor + size + 1] != '\n') return Outcome::kInvalid;
      out = Reply::bulk(buffer_.substr(cursor, size));
      cursor += size + 2;
      break;
    }
    case '*': {
      int64_t count = 0;
      if (!parse_int(line, count) || count < -1) return Outcome::kInvalid;
      if (count == -1) {
        out = Reply::nil();
        break;
      }
      if (static_cast<uint64_t>(count) > limits_.max_array_elements) return Outcome::kInvalid;
      // Every element takes at least 3 bytes; a count the buffer cannot hold yet is incomplete
      // without reserving memory for it first.
      std::vector<Reply> items;
      for (int64_t i = 0; i < count; ++i) {
        Reply item;
        if (Outcome o = parse(cursor, depth + 1, item); o != Outcome::kDone) return o;
        items.push_back(std::move(item));
      }
      out = Reply::array(std::move(items));
      break;
    }
    default: return Outcome::kInvalid;
  }
  pos = cursor;
  return Outcome::kDone;
}

Result<std::optional<Reply>> RespParser::next() {
  if (!failure_.empty()) return internal_error(failure_, "redis_protocol");
  size_t pos = consumed_;
  Reply reply;
  switch (parse(pos, 0, reply)) {
    case Outcome::kIncomplete: return std::optional<Reply>();
    case Outcome::kInvalid:
      failure_ = "malformed or oversized RESP reply";
      return internal_error(failure_, "redis_protocol");
    case Outcome::kDone: break;
  }
  consumed_ = pos;
  return std::optional<Reply>(std::move(reply));
}

}  // namespace vontres::redis
