#include "store/detail/common.h"

#include <algorithm>
#include <cctype>

namespace vontres::store::detail {

std::string_view skip_blank(std::string_view sql) {
  while (!sql.empty()) {
    if (std::isspace(static_cast<unsigned char>(sql.front())) || sql.front() == ';') {
      sql.remove_prefix(1);
    } else if (sql.starts_with("--")) {
      const size_t end = sql.find('\n');
      sql = end == std::string_view::npos ? std::string_view() : sql.substr(end + 1);
    } else if (sql.starts_with("/*")) {
      const size_t end = sql.find("*/", 2);
      sql = end == std::string_view::npos ? std::string_view() : sql.substr(end + 2);
    } else {
      break;
    }
  }
  return sql;
}

bool starts_with_keyword(std::string_view sql, std::string_view keyword) {
  if (sql.size() < keyword.size()) return false;
  for (size_t i = 0; i < keyword.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(sql[i])) != keyword[i]) return false;
  }
  return sql.size() == keyword.size() ||
         !(std::isalnum(static_cast<unsigned char>(sql[keyword.size()])) || sql[keyword.size()] == '_');
}

Result<MigrationPlan> MigrationPlan::check(const std::vector<Migration>& migrations) {
  MigrationPlan plan;
  for (const Migration& migration : migrations) {
    if (migration.component.empty() || migration.version < 1) {
      return invalid_argument("migration needs a component and a version >= 1 (got '" + migration.component + "' v" +
                                  std::to_string(migration.version) + ")",
                              "store_error");
    }
    plan.component_rank_.emplace(migration.component, plan.component_rank_.size());
    if (!plan.wanted_.emplace(std::pair(migration.component, migration.version), &migration).second) {
      return invalid_argument(
          "migration " + migration.component + " v" + std::to_string(migration.version) + " is listed twice",
          "store_error");
    }
  }
  return plan;
}

Result<std::vector<const Migration*>> MigrationPlan::pending(const AppliedDescriptions& applied) const {
  std::vector<const Migration*> pending;
  for (const auto& [key, migration] : wanted_) {
    auto found = applied.find(key);
    if (found == applied.end()) {
      pending.push_back(migration);
    } else if (found->second != migration->description) {
      return failed_precondition("migration " + key.first + " v" + std::to_string(key.second) + " was applied as '" +
                                     found->second + "' but is now described as '" + migration->description + "'",
                                 "migration_conflict");
    }
  }
  std::stable_sort(pending.begin(), pending.end(), [&](const Migration* a, const Migration* b) {
    const size_t rank_a = component_rank_.at(a->component);
    const size_t rank_b = component_rank_.at(b->component);
    return rank_a != rank_b ? rank_a < rank_b : a->version < b->version;
  });
  return pending;
}

AppliedDescriptions applied_descriptions(const Rows& rows) {
  AppliedDescriptions out;
  for (const Row& row : rows.rows) {
    out.emplace(std::pair(row.get_string(0), static_cast<int>(row.get_int(1))), row.get_string(2));
  }
  return out;
}

std::vector<AppliedMigration> applied_migrations_of(const Rows& rows) {
  std::vector<AppliedMigration> applied;
  applied.reserve(rows.size());
  for (const Row& row : rows.rows) {
    applied.push_back({row.get_string(0), static_cast<int>(row.get_int(1)), row.get_string(2), row.get_int(3)});
  }
  return applied;
}

}  // namespace vontres::store::detail
