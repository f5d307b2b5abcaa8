// Feeds arbitrary bytes to the RESP2 reply parser twice, whole and split into three pieces at
// positions taken from the input, and checks that both give the same replies and the same verdict
// (split invariance: a connection reads whatever the socket delivers), and that every reply
// survives encode_reply + parse unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "redis/resp.h"

using vontres::redis::Reply;
using vontres::redis::RespLimits;
using vontres::redis::RespParser;

namespace {

RespLimits limits() {
  RespLimits l;
  l.max_bulk_bytes = 1 << 20;
  l.max_array_elements = 1 << 12;
  return l;
}

// Drains every complete reply; returns false if the parser refused the stream.
bool drain(RespParser& parser, std::vector<Reply>& out) {
  for (int i = 0; i < 100000; ++i) {
    auto next = parser.next();
    if (!next.is_ok()) return false;
    if (!next->has_value()) return true;
    out.push_back(std::move(**next));
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::size_t split_a = data[0];
  const std::size_t split_b = data[1];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 2), size - 2);

  RespParser whole(limits());
  std::vector<Reply> whole_replies;
  whole.feed(bytes);
  const bool whole_ok = drain(whole, whole_replies);

  RespParser pieces(limits());
  std::vector<Reply> piece_replies;
  const std::size_t a = std::min(split_a, bytes.size());
  const std::size_t b = std::min(a + split_b, bytes.size());
  bool pieces_ok = true;
  for (std::string_view piece : {bytes.substr(0, a), bytes.substr(a, b - a), bytes.substr(b)}) {
    pieces.feed(piece);
    pieces_ok = drain(pieces, piece_replies) && pieces_ok;
    if (!pieces_ok) break;
  }
  if (whole_ok != pieces_ok) std::abort();
  if (whole_ok && whole_replies != piece_replies) std::abort();
  if (!whole_ok && piece_replies.size() > whole_replies.size()) std::abort();

  for (const Reply& reply : whole_replies) {
    std::string wire;
    vontres::redis::encode_reply(wire, reply);
    RespParser again(limits());
    again.feed(wire);
    auto parsed = again.next();
    if (!parsed.is_ok() || !parsed->has_value() || **parsed != reply || again.buffered() != 0) std::abort();
  }
  return 0;
}
