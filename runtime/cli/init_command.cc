// `llive init [DIR]`: create a home directory.
#include <iostream>

#include "nlohmann/json.hpp"
#include "runtime/cli/cli.h"

namespace llive::cli {

void RegisterInitCommand(CLI::App& app, CliContext& context) {
  auto* command = app.add_subcommand(
      "init",
      "Create a home directory (llive.json, database, indexes/, models/); an existing "
      "one is kept");
  auto dir = std::make_shared<std::string>();
  command->add_option("DIR", *dir, "Home directory (default: --home, $LLIVE_HOME, ~/.llive)");
  command->callback([&context, dir] {
    std::optional<std::string> chosen = dir->empty() ? context.home_flag : std::optional(*dir);
    absl::StatusOr<std::string> root = runtime::ResolveHomeDir(chosen);
    if (!root.ok()) return ReportError(context, root.status());
    absl::StatusOr<runtime::Home> home = runtime::InitHome(*root);
    if (!home.ok()) return ReportError(context, home.status());
    if (context.json) {
      nlohmann::json out = {{"home", home->root},
                            {"config", home->config_file},
                            {"database", home->database_file},
                            {"indexes", home->index_dir},
                            {"models", home->models_dir}};
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << "llive home ready at " << home->root << "\n"
                << "  config    " << home->config_file << "\n"
                << "  database  " << home->database_file << "\n"
                << "  indexes   " << home->index_dir << "\n"
                << "  models    " << home->models_dir << "\n";
    }
  });
}

}  // namespace llive::cli
