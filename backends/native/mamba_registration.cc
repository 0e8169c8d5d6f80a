// The `mamba:PATH` factory: CPU only for now; a thread count, when given, sizes the OpenMP
// pool that OpenBLAS and the scan share.
#include "backends/native/mamba_registration.h"

#include <omp.h>

#include "absl/strings/str_cat.h"
#include "backends/native/mamba_backend.h"
#include "backends/native_backend_registry.h"

namespace llive::backends::native {

void RegisterMambaBackend() {
  RegisterNativeBackendFactory(
      BackendSpec::Kind::kMamba,
      [](const std::string& model_path,
         const NativeBackendOptions& options) -> absl::StatusOr<std::unique_ptr<StatefulBackend>> {
        if (options.device != "cpu") {
          return absl::FailedPreconditionError(
              absl::StrCat("the mamba backend runs on the CPU; device \"", options.device,
                           "\" is not supported by it yet (use --device cpu)"));
        }
        if (options.threads > 0) omp_set_num_threads(options.threads);
        absl::StatusOr<std::unique_ptr<MambaBackend>> backend = MambaBackend::Open(model_path);
        if (!backend.ok()) return backend.status();
        return std::unique_ptr<StatefulBackend>(*std::move(backend));
      });
}

}  // namespace llive::backends::native
