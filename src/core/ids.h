// Strongly typed identifiers. `Id<Tag>` wraps a string so a CallId cannot be passed where a UserId
// is expected. New ids are UUIDv7 (RFC 9562): time-ordered, so they index well in every Store.
//
// Thread-safety: IdGenerator::next() is safe to call from any thread.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace vontres {

template <typename Tag>
class Id {
 public:
  Id() = default;
  explicit Id(std::string value) : value_(std::move(value)) {}
  const std::string& str() const { return value_; }
  bool empty() const { return value_.empty(); }
  auto operator<=>(const Id&) const = default;  // NOLINT(modernize-use-nullptr): clang-tidy 14 false positive

 private:
  std::string value_;
};

struct CallTag {};
struct UserTag {};
struct OrgTag {};
struct AgentTag {};
struct QueueTag {};
struct EventTag {};
using CallId = Id<CallTag>;
using UserId = Id<UserTag>;
using OrgId = Id<OrgTag>;
using AgentId = Id<AgentTag>;
using QueueId = Id<QueueTag>;
using EventId = Id<EventTag>;

// Makes UUIDv7 strings from an injected clock and a seeded random source.
class IdGenerator {
 public:
  IdGenerator(const Clock& clock, uint64_t seed) : clock_(clock), rng_(seed) {}
  // Seeds from std::random_device.
  explicit IdGenerator(const Clock& clock);

  std::string next();
  template <typename IdType>
  IdType next_id() {
    return IdType(next());
  }

 private:
  const Clock& clock_;
  std::mutex mu_;
  std::mt19937_64 rng_;  // GUARDED_BY(mu_)
};

// True if `s` is a canonical lowercase 8-4-4-4-12 hex UUID.
bool is_uuid(std::string_view s);

}  // namespace vontres

template <typename Tag>
struct std::hash<vontres::Id<Tag>> {
  size_t operator()(const vontres::Id<Tag>& id) const noexcept { return std::hash<std::string>{}(id.str()); }
};
