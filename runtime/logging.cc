// spdlog set-up for llive processes.
#include "runtime/logging.h"

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace llive::runtime {

absl::Status SetLogLevel(absl::string_view level) {
  spdlog::level::level_enum parsed = spdlog::level::from_str(std::string(level));
  // from_str maps unknown names to "off"; only "off" itself may mean off.
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown log level \"", level, "\"; use trace, debug, info, warn, error, critical or off"));
  }
  spdlog::set_level(parsed);
  return absl::OkStatus();
}

absl::Status InitLogging() {
  auto logger = spdlog::stderr_color_mt("llive");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::warn);
  const char* env = std::getenv("LLIVE_LOG_LEVEL");
  if (env == nullptr || *env == '\0') return absl::OkStatus();
  absl::Status status = SetLogLevel(env);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("LLIVE_LOG_LEVEL: ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace llive::runtime
