// The llive home directory: configuration, database, index caches and models.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/config.h"

namespace llive::runtime {

// The name of the configuration file inside a home directory.
inline constexpr char kConfigFileName[] = "llive.json";

// An opened home directory with its validated configuration. A plain value; the
// files it names are owned by whoever opens them.
struct Home {
  std::string root;           // absolute path of the home directory
  std::string config_file;    // root/llive.json
  std::string database_file;  // memory.database, resolved against root
  std::string index_dir;      // memory.index_dir, resolved against root
  std::string models_dir;     // models.dir, resolved against root
  Config config;
};

// The home directory to use: `flag` when given (--home), else $LLIVE_HOME, else
// ~/.llive. FailedPrecondition when none applies ($HOME unset).
absl::StatusOr<std::string> ResolveHomeDir(const std::optional<std::string>& flag);

// Creates a home at `dir` (and its parents): llive.json with the defaults, the
// database file, the index and models folders. An existing home is kept as it is
// (its configuration must still be valid) and opened. Unavailable on I/O errors.
absl::StatusOr<Home> InitHome(const std::string& dir);

// Opens an existing home. FailedPrecondition saying to run `llive init` when `dir`
// has no llive.json; InvalidArgument naming the key when the configuration is bad.
absl::StatusOr<Home> OpenHome(const std::string& dir);

}  // namespace llive::runtime
