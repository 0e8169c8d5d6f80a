// The `mamba:PATH` factory: on the CPU (a thread count, when given, sizes the OpenMP pool that
// OpenBLAS and the scan share) or on a CUDA GPU with bf16 weights.
#include "backends/native/mamba_registration.h"

#include <omp.h>

#include "backends/native/cuda/device_selection.h"
#include "backends/native/mamba_backend.h"
#include "backends/native_backend_registry.h"

namespace llive::backends::native {

void RegisterMambaBackend() {
  RegisterNativeBackendFactory(
      BackendSpec::Kind::kMamba,
      [](const std::string& model_path,
         const NativeBackendOptions& options) -> absl::StatusOr<std::unique_ptr<StatefulBackend>> {
        // A device that cannot work fails before the weights are read.
        absl::StatusOr<Device> device = cuda::SelectDevice(options.device);
        if (!device.ok()) return device.status();
        if (options.threads > 0) omp_set_num_threads(options.threads);
        absl::StatusOr<std::unique_ptr<MambaBackend>> backend = MambaBackend::Open(model_path);
        if (!backend.ok()) return backend.status();
        if (device->kind == Device::Kind::kCuda) {
          if (absl::Status s = (*backend)->UseDevice(options.device); !s.ok()) return s;
        }
        return std::unique_ptr<StatefulBackend>(*std::move(backend));
      });
}

}  // namespace llive::backends::native
