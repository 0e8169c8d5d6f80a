// The settings a model-using command runs with, and the stateful model it opens, so that
// `generate`, `model run` and `bridge` choose and find models the same way.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/native_backend_registry.h"
#include "backends/stateful_backend.h"
#include "runtime/cli/cli.h"
#include "runtime/config.h"

namespace llive::cli {

struct CommandSettings {
  runtime::Config config;  // the home's, or the built-in defaults
  std::string models_dir;  // the home's models folder; empty without a home
};

// The home's settings when there is a home; the built-in defaults otherwise, so that model
// commands work before `llive init`. A home that exists but is broken is an error, and so is
// a --home without llive.json.
absl::StatusOr<CommandSettings> SettingsOrDefaults(const CliContext& context);

// The stateful (native) model chosen by `backend_flag`, else $LLIVE_LLM_BACKEND, else the
// home's backend.llm, else the shipped default; a bare model name is looked up in the home's
// models folder and then the shipped models; an empty options.device is the home's
// backend.device. InvalidArgument for a backend that keeps no
// state (mock, HTTP backends), naming it; NotFound for a model that is not there.
absl::StatusOr<std::unique_ptr<backends::StatefulBackend>> OpenStatefulModel(
    const CliContext& context, absl::string_view backend_flag,
    backends::NativeBackendOptions options = {});

}  // namespace llive::cli
