// Settings and model choice shared by the model-using commands.
#include "runtime/cli/command_settings.h"

#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/backend_factory.h"
#include "backends/model_locator.h"

namespace llive::cli {

absl::StatusOr<CommandSettings> SettingsOrDefaults(const CliContext& context) {
  CommandSettings settings{runtime::Config::Defaults(), ""};
  absl::StatusOr<std::string> dir = runtime::ResolveHomeDir(context.home_flag);
  if (!dir.ok()) return settings;
  std::error_code error;
  if (!std::filesystem::exists(std::filesystem::path(*dir) / runtime::kConfigFileName, error)) {
    if (context.home_flag.has_value()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--home ", *dir, " has no ", runtime::kConfigFileName, "; run `llive init ", *dir, "`"));
    }
    return settings;
  }
  absl::StatusOr<runtime::Home> home = runtime::OpenHome(*dir);
  if (!home.ok()) return home.status();
  settings.config = home->config;
  settings.models_dir = home->models_dir;
  return settings;
}

absl::StatusOr<std::unique_ptr<backends::StatefulBackend>> OpenStatefulModel(
    const CliContext& context, absl::string_view backend_flag,
    backends::NativeBackendOptions options) {
  absl::StatusOr<CommandSettings> settings = SettingsOrDefaults(context);
  if (!settings.ok()) return settings.status();
  absl::StatusOr<backends::BackendSpec> spec =
      backends::ResolveBackendSpec(backend_flag, settings->config.GetString("backend.llm"));
  if (!spec.ok()) return spec.status();
  if (spec->kind != backends::BackendSpec::Kind::kMamba &&
      spec->kind != backends::BackendSpec::Kind::kRwkv7) {
    return absl::InvalidArgumentError(
        absl::StrCat("this command needs a stateful model (mamba:PATH or rwkv7:PATH), not \"",
                     spec->ToString(), "\""));
  }
  std::vector<std::string> dirs;
  if (!settings->models_dir.empty()) dirs.push_back(settings->models_dir);
  for (std::string& dir : backends::ShippedModelDirs()) dirs.push_back(std::move(dir));
  absl::StatusOr<std::string> path = backends::LocateModel(spec->model_path, dirs);
  if (!path.ok()) return path.status();
  spec->model_path = *std::move(path);
  if (options.device.empty()) options.device = settings->config.GetString("backend.device");
  if (options.gpu_weights.empty()) {
    options.gpu_weights = settings->config.GetString("backend.gpu_weights");
  }
  return backends::CreateNativeBackend(*spec, options);
}

}  // namespace llive::cli
