// What the Store implementations (SqliteStore, PostgresStore) share: reading SQL text and
// planning migrations. Not part of the Store interface; for src/store only.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace vontres::store::detail {

// Skips whitespace, ';' and SQL comments; returns the rest.
std::string_view skip_blank(std::string_view sql);
// Whether `sql` starts with `keyword` (upper case) as a whole word, in any case.
bool starts_with_keyword(std::string_view sql, std::string_view keyword);

// (component, version) -> description of the migrations a store has applied.
using AppliedDescriptions = std::map<std::pair<std::string, int>, std::string>;

// The migrations a caller asked for, checked: each names a component and a version >= 1 and none
// is listed twice (else invalid_argument "store_error").
class MigrationPlan {
 public:
  static Result<MigrationPlan> check(const std::vector<Migration>& migrations);
  // Those not in `applied`, in the order to apply them: components in the order the caller first
  // listed them (a later one may use an earlier one's tables), versions ascending within each.
  // Fails with "migration_conflict" if an applied version's description differs.
  Result<std::vector<const Migration*>> pending(const AppliedDescriptions& applied) const;

 private:
  std::map<std::string, size_t> component_rank_;
  std::map<std::pair<std::string, int>, const Migration*> wanted_;
};

// Rows of "SELECT component, version, description[, applied_at_ms] FROM schema_migrations".
AppliedDescriptions applied_descriptions(const Rows& rows);
std::vector<AppliedMigration> applied_migrations_of(const Rows& rows);

}  // namespace vontres::store::detail
