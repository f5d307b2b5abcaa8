// Redis Cluster key slots: CRC16 (XMODEM: polynomial 0x1021, initial value 0) of the key modulo
// 16384. When the key contains "{...}" with at least one character between the first '{' and the
// next '}', only that hash tag is hashed, so "{user1000}.following" and "{user1000}.followers" land
// in the same slot (and may be used together in one script or transaction).
#pragma once

#include <cstdint>
#include <string_view>

namespace vontres::redis {

inline constexpr uint16_t kSlotCount = 16384;

uint16_t crc16(std::string_view bytes);
// The part of `key` that is hashed: its hash tag, or the whole key.
std::string_view hash_tag(std::string_view key);
uint16_t key_slot(std::string_view key);

}  // namespace vontres::redis
