// Online backups of a PostgreSQL store with pg_dump (PostgreSQL's own consistent-snapshot dump: it
// runs in one REPEATABLE READ transaction, so the server keeps serving while it copies).
//
// The dump is pg_dump's custom format (compressed; restore with `pg_restore --clean --if-exists
// -d <conninfo> FILE`). It is written to a temporary file next to the destination and renamed over
// it only when pg_dump succeeded, so a failed backup never leaves a truncated file at the path.
// The password, if any, reaches pg_dump through its environment (PGPASSWORD), never its arguments.
// Thread-safety: may be called from any thread; it blocks until pg_dump exits.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "store/postgres_store.h"

namespace vontres::store {

// Where pg_dump is looked for, newest first: a pg_dump must be at least as new as the server.
std::vector<std::string> pg_dump_candidates();
// The first candidate that exists and is executable, then `pg_dump` on PATH; "" when none.
std::string find_pg_dump();

// Errors: failed_precondition "pg_dump_not_found"; internal "store_backup_failed" (pg_dump's
// message included) when pg_dump fails or the file cannot be moved into place.
Status dump_postgres(const PostgresOptions& options, const std::string& destination_path,
                     const std::string& pg_dump_path = find_pg_dump());

}  // namespace vontres::store
