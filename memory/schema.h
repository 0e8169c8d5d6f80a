// The memory database's schema and its forward migrations, versioned by PRAGMA user_version.
#pragma once

#include "absl/status/status.h"
#include "memory/database.h"

namespace llive::memory {

// The schema version this build writes. Version 0 is an empty database.
inline constexpr int kSchemaVersion = 3;

// Brings `db` to kSchemaVersion, one migration per version, each in its own transaction
// with the version bump, so a crash leaves the database at a whole version. Returns
// FailedPrecondition when the database was written by a newer llive (its version is above
// kSchemaVersion): it is left untouched.
absl::Status MigrateSchema(Database& db);

}  // namespace llive::memory
