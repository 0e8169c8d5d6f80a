// Finds a native model by path or by name. The models the project ships
// (backends/models/NAME) are found without configuration, so a fresh build runs a real model.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace llive::backends {

// The model every native default names: the small Mamba trained by the project.
inline constexpr char kDefaultModelName[] = "llive-mamba-small";
// The backend used when nothing chooses one (no --backend, LLIVE_LLM_BACKEND or backend.llm).
inline constexpr char kDefaultLlmBackend[] = "mamba:llive-mamba-small";

// Where shipped models are looked for, in order: each folder of $LLIVE_MODELS_PATH
// (colon-separated), the install's share/llive/models next to the running executable, and
// the source tree's backends/models this binary was built from.
std::vector<std::string> ShippedModelDirs();

// `name_or_path` unchanged when it is a path (has a '/') or names something in the current
// folder; otherwise the first `dir/name` that exists, trying `dirs` in order. NotFound names
// the model and every place looked in.
absl::StatusOr<std::string> LocateModel(absl::string_view name_or_path,
                                        absl::Span<const std::string> dirs);

}  // namespace llive::backends
