// Shared pieces of the `llive` command line: global options and error reporting.
#pragma once

#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/home.h"

namespace llive::cli {

// Exit codes, documented in docs/cli.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Options every subcommand understands, and the exit code a command leaves.
struct CliContext {
  std::optional<std::string> home_flag;  // --home DIR
  bool json = false;                     // --json
  int exit_code = kExitOk;
};

// Prints "llive: error: MESSAGE" to stderr and records the failure exit code
// (kExitUsage for InvalidArgument raised by the user's own arguments is the
// caller's choice through `code`).
void ReportError(CliContext& context, const absl::Status& status, int code = kExitFailure);

// Option checks with plain messages ("--max-tokens: must be at least 1, not -3"; CLI11's own
// NonNegativeNumber prints the whole range of a double). Both refuse text that is not a number.
CLI::Validator AtLeast(double minimum);
CLI::Validator Between(double minimum, double maximum);

// Opens the home chosen by --home / $LLIVE_HOME / ~/.llive, or reports why not.
std::optional<runtime::Home> OpenHomeOrReport(CliContext& context);

// Subcommand registration; each lives in its own file.
void RegisterInitCommand(CLI::App& app, CliContext& context);
void RegisterConfigCommand(CLI::App& app, CliContext& context);
void RegisterDevicesCommand(CLI::App& app, CliContext& context);
void RegisterModelCommand(CLI::App& app, CliContext& context);
void RegisterModelEvalCommand(CLI::App& model, CliContext& context);  // under `model`
void RegisterGenerateCommand(CLI::App& app, CliContext& context);
void RegisterTokenizeCommand(CLI::App& app, CliContext& context);
void RegisterMemoryCommand(CLI::App& app, CliContext& context);
void RegisterBridgeCommand(CLI::App& app, CliContext& context);

}  // namespace llive::cli
