// Error reporting and home resolution shared by the subcommands.
#include "runtime/cli/cli.h"

#include <iostream>

namespace llive::cli {

void ReportError(CliContext& context, const absl::Status& status, int code) {
  std::cerr << "llive: error: " << status.message() << "\n";
  context.exit_code = code;
}

std::optional<runtime::Home> OpenHomeOrReport(CliContext& context) {
  absl::StatusOr<std::string> dir = runtime::ResolveHomeDir(context.home_flag);
  if (!dir.ok()) {
    ReportError(context, dir.status());
    return std::nullopt;
  }
  absl::StatusOr<runtime::Home> home = runtime::OpenHome(*dir);
  if (!home.ok()) {
    ReportError(context, home.status());
    return std::nullopt;
  }
  return *std::move(home);
}

}  // namespace llive::cli
