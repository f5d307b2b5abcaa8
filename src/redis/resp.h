// RESP2, the Redis wire protocol: command encoding and an incremental reply parser.
//
// A command is an array of bulk strings; encode_command appends one to a buffer so pipelined
// commands go out in one write. RespParser takes bytes as they arrive and yields complete replies
// in order; it never reads past what it was given and refuses (error "redis_protocol") a stream
// that is malformed or exceeds its limits, after which the connection must be dropped.
//
// Thread-safety: RespParser is a value owned by one connection; not shared between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vontres::redis {

struct Reply {
  enum class Type { kSimpleString, kError, kInteger, kBulkString, kArray, kNil };

  Type type = Type::kNil;
  std::string text;             // simple string, error message or bulk string
  int64_t integer = 0;          // integer
  std::vector<Reply> elements;  // array

  static Reply simple(std::string s) { return Reply{Type::kSimpleString, std::move(s), 0, {}}; }
  static Reply error(std::string s) { return Reply{Type::kError, std::move(s), 0, {}}; }
  static Reply bulk(std::string s) { return Reply{Type::kBulkString, std::move(s), 0, {}}; }
  static Reply number(int64_t n) { return Reply{Type::kInteger, {}, n, {}}; }
  static Reply nil() { return Reply{}; }
  static Reply array(std::vector<Reply> items) { return Reply{Type::kArray, {}, 0, std::move(items)}; }

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
  bool is_string() const { return type == Type::kBulkString || type == Type::kSimpleString; }
  // The first word of an error reply ("MOVED", "ASK", "NOSCRIPT", "WRONGTYPE", ...); empty otherwise.
  std::string_view error_code() const;
  // A compact human-readable rendering for logs and test failures (bulk strings truncated).
  std::string debug_string() const;

  friend bool operator==(const Reply& a, const Reply& b) {
    return a.type == b.type && a.text == b.text && a.integer == b.integer && a.elements == b.elements;
  }
};

// Appends `args` as one RESP command (an array of bulk strings) to `out`.
void encode_command(std::string& out, const std::vector<std::string>& args);
std::string encode_command(const std::vector<std::string>& args);
// Encodes a reply (used by tests and the fuzz target to round-trip).
void encode_reply(std::string& out, const Reply& reply);

struct RespLimits {
  size_t max_bulk_bytes = 512ull * 1024 * 1024;  // Redis' own proto-max-bulk-len default
  size_t max_array_elements = 1u << 20;
  int max_depth = 16;  // CLUSTER SLOTS nests 3 deep
  size_t max_line_bytes = 64 * 1024;
};

class RespParser {
 public:
  explicit RespParser(RespLimits limits = {}) : limits_(limits) {}

  void feed(std::string_view bytes);
  // The next complete reply, nullopt when more bytes are needed, or a "redis_protocol" error (the
  // parser stays failed).
  Result<std::optional<Reply>> next();
  // Bytes fed but not yet consumed by a complete reply.
  size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  enum class Outcome { kDone, kIncomplete, kInvalid };
  Outcome parse(size_t& pos, int depth, Reply& out);
  Outcome read_line(size_t& pos, std::string_view& line);

  RespLimits limits_;
  std::string buffer_;
  size_t consumed_ = 0;
  std::string failure_;  // non-empty once the stream was found malformed
};

}  // namespace vontres::redis
