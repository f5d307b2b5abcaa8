#include "store/store.h"

namespace vontres::store {

// The accessors are strict on type on purpose: SQLite's dynamic typing would otherwise let a text
// "42" silently read as 42 here and fail on PostgreSQL.

int64_t Row::get_int(size_t i, int64_t fallback) const {
  const auto* value = std::get_if<int64_t>(&values.at(i));
  return value != nullptr ? *value : fallback;
}

double Row::get_double(size_t i, double fallback) const {
  const auto* value = std::get_if<double>(&values.at(i));
  return value != nullptr ? *value : fallback;
}

std::string Row::get_string(size_t i, const std::string& fallback) const {
  const auto* value = std::get_if<std::string>(&values.at(i));
  return value != nullptr ? *value : fallback;
}

std::optional<std::string> Row::get_optional_string(size_t i) const {
  const auto* value = std::get_if<std::string>(&values.at(i));
  return value != nullptr ? std::optional<std::string>(*value) : std::nullopt;
}

}  // namespace vontres::store
