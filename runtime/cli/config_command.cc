// `llive config show|get|set|keys`: read and change llive.json.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "runtime/cli/cli.h"

namespace llive::cli {
namespace {

void PrintKeys(const CliContext& context) {
  if (context.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const runtime::ConfigKey& key : runtime::ConfigSchema()) {
      out.push_back({{"key", key.path},
                     {"type", runtime::TypeName(key.type)},
                     {"default", key.default_value},
                     {"description", key.description}});
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  for (const runtime::ConfigKey& key : runtime::ConfigSchema()) {
    std::cout << key.path << " (" << runtime::TypeName(key.type) << ", default "
              << key.default_value.dump() << ")\n    " << key.description << "\n";
  }
}

}  // namespace

void RegisterConfigCommand(CLI::App& app, CliContext& context) {
  auto* config = app.add_subcommand("config", "Show or change the home's llive.json");
  config->require_subcommand(1);

  auto* show = config->add_subcommand("show", "Print the whole configuration as JSON");
  show->callback([&context] {
    std::optional<runtime::Home> home = OpenHomeOrReport(context);
    if (!home) return;
    std::cout << home->config.json().dump(2) << "\n";
  });

  auto* get =
      config->add_subcommand("get", "Print one key (e.g. memory.surprise_theta) or section");
  auto get_key = std::make_shared<std::string>();
  get->add_option("KEY", *get_key, "Dotted key path")->required();
  get->callback([&context, get_key] {
    std::optional<runtime::Home> home = OpenHomeOrReport(context);
    if (!home) return;
    absl::StatusOr<nlohmann::json> value = home->config.Get(*get_key);
    if (!value.ok()) return ReportError(context, value.status(), kExitUsage);
    if (value->is_string() && !context.json) {
      std::cout << value->get<std::string>() << "\n";
    } else {
      std::cout << value->dump(value->is_object() ? 2 : -1) << "\n";
    }
  });

  auto* set = config->add_subcommand("set", "Change one key, checking the new value");
  auto set_key = std::make_shared<std::string>();
  auto set_value = std::make_shared<std::string>();
  set->add_option("KEY", *set_key, "Dotted key path")->required();
  set->add_option("VALUE", *set_value, "New value, as text (true/false for booleans)")->required();
  set->callback([&context, set_key, set_value] {
    std::optional<runtime::Home> home = OpenHomeOrReport(context);
    if (!home) return;
    if (absl::Status s = home->config.Set(*set_key, *set_value); !s.ok()) {
      return ReportError(context, s, kExitUsage);
    }
    if (absl::Status s = home->config.Save(home->config_file); !s.ok()) {
      return ReportError(context, s);
    }
    std::cout << *set_key << " = " << home->config.Get(*set_key)->dump() << "\n";
  });

  auto* keys = config->add_subcommand("keys", "List every key with its type, default and meaning");
  keys->callback([&context] { PrintKeys(context); });
}

}  // namespace llive::cli
