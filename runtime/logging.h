// Process-wide logging set-up: spdlog to stderr, level from LLIVE_LOG_LEVEL.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace llive::runtime {

// Points spdlog's default logger at stderr with the level named by
// LLIVE_LOG_LEVEL (trace, debug, info, warn, error, critical, off; default warn).
// Returns InvalidArgument naming the variable for an unknown level (logging is then
// set up at the default level anyway). Call once at start-up.
absl::Status InitLogging();

// Sets the level by name, as LLIVE_LOG_LEVEL does.
absl::Status SetLogLevel(absl::string_view level);

}  // namespace llive::runtime
