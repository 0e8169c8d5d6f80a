// The `llive` program: parses the command line and runs one subcommand.
#include <iostream>

#include "backends/native/cuda/cuda_runtime_check.h"
#include "backends/native/mamba_registration.h"
#include "backends/native/rwkv7_backend.h"
#include "runtime/cli/cli.h"
#include "runtime/logging.h"
#include "runtime/version.h"

int main(int argc, char** argv) {
  using namespace llive::cli;
  if (absl::Status s = llive::runtime::InitLogging(); !s.ok()) {
    std::cerr << "llive: warning: " << s.message() << "\n";
  }
  llive::backends::native::RegisterMambaBackend();
  llive::backends::native::RegisterRwkv7Backend();
  CLI::App app("llive: a memory-centric agent runtime (memory, consolidation, stateful models)",
               "llive");
  app.set_version_flag("--version",
                       std::string("llive ") + llive::kVersion +
                           (llive::backends::cuda::BuiltWithCuda() ? " (CUDA)" : " (no CUDA)"));
  app.require_subcommand(1);
  app.fallthrough();
  app.footer("Exit codes: 0 success, 1 failure, 2 usage error. Docs: docs/cli.md");
  CliContext context;
  app.add_option("--home", context.home_flag,
                 "Home directory (default: $LLIVE_HOME, else ~/.llive)");
  app.add_flag("--json", context.json, "Machine-readable JSON output");

  RegisterInitCommand(app, context);
  RegisterConfigCommand(app, context);
  RegisterDevicesCommand(app, context);
  RegisterModelCommand(app, context);
  RegisterGenerateCommand(app, context);
  RegisterTokenizeCommand(app, context);
  RegisterMemoryCommand(app, context);
  RegisterBridgeCommand(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return context.exit_code;
}
