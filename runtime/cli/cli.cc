// Error reporting and home resolution shared by the subcommands.
#include "runtime/cli/cli.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"

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

namespace {

// The number `text` spells, or an explanation of why it is not one.
std::string ParseNumber(const std::string& text, double& value) {
  errno = 0;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || std::isnan(value)) {
    return absl::StrCat("'", text, "' is not a number");
  }
  return std::string();
}

}  // namespace

CLI::Validator AtLeast(double minimum) {
  return CLI::Validator(
      [minimum](std::string& text) {
        double value = 0;
        std::string error = ParseNumber(text, value);
        if (error.empty() && value < minimum) {
          error = absl::StrCat("must be at least ", minimum, ", not ", text);
        }
        return error;
      },
      absl::StrCat("NUMBER >= ", minimum));
}

CLI::Validator Between(double minimum, double maximum) {
  return CLI::Validator(
      [minimum, maximum](std::string& text) {
        double value = 0;
        std::string error = ParseNumber(text, value);
        if (error.empty() && !(value >= minimum && value <= maximum)) {
          error = absl::StrCat("must be from ", minimum, " to ", maximum, ", not ", text);
        }
        return error;
      },
      absl::StrCat("NUMBER in [", minimum, ", ", maximum, "]"));
}

}  // namespace llive::cli
