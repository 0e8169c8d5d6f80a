// Where the native model backends (mamba:PATH, rwkv7:PATH) plug into backend
// resolution, so that `backends/` resolves names without depending on their code.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "backends/backend_spec.h"
#include "backends/stateful_backend.h"

namespace llive::backends {

struct NativeBackendOptions {
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N" (backends/device.h)
  int threads = 0;             // CPU threads; 0: cpu_threads.h chooses
  std::string gpu_weights;     // weights on a GPU: "bf16" (also when empty), "fp16" or "fp32"
};

// Loads the model at `model_path` and returns the backend over it.
using NativeBackendFactory = std::function<absl::StatusOr<std::unique_ptr<StatefulBackend>>(
    const std::string& model_path, const NativeBackendOptions& options)>;

// Installs the factory for `kind` (kMamba or kRwkv7), replacing an earlier one.
// Thread-safe. Call it explicitly at start-up (e.g. from the runtime): a static
// initialiser inside a static library is dropped by the linker when nothing else
// references its object file.
void RegisterNativeBackendFactory(BackendSpec::Kind kind, NativeBackendFactory factory);

// Runs the registered factory for `spec`. FailedPrecondition saying that this build has
// no native backend of that kind when none is registered; InvalidArgument for a spec
// that is not native; otherwise what the factory returns.
absl::StatusOr<std::unique_ptr<StatefulBackend>> CreateNativeBackend(
    const BackendSpec& spec, const NativeBackendOptions& options = {});

}  // namespace llive::backends
