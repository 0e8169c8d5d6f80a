// Writing whole files so that a crash leaves the old contents or the new, never half.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace llive::runtime {

// Writes `contents` to `path` through a temporary file in the same folder, fsyncs
// it, renames it over `path` and fsyncs the folder. Unavailable on an I/O error
// (naming the file and the system's reason); `path` is then untouched.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);

// Reads a whole file. NotFound when it does not exist, Unavailable on other errors.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace llive::runtime
