// The `mamba:PATH` factory: on the CPU (a thread count, when given, sizes the OpenMP pool that
// OpenBLAS and the scan share; otherwise ChooseCpuThreads picks) or on a CUDA GPU with weights
// of options.gpu_weights (bf16 by default).
#include "backends/native/mamba_registration.h"

#include "backends/native/cpu_threads.h"
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
        absl::StatusOr<cuda::WeightDtype> gpu_weights =
            cuda::ParseWeightDtype(options.gpu_weights.empty() ? "bf16" : options.gpu_weights);
        if (!gpu_weights.ok()) return gpu_weights.status();
        absl::StatusOr<std::unique_ptr<MambaBackend>> backend = MambaBackend::Open(model_path);
        if (!backend.ok()) return backend.status();
        const MambaConfig& c = (*backend)->model().config();
        const int64_t per_layer = c.d_model * 2 * c.d_inner + c.d_inner * c.d_conv +
                                  c.d_inner * (c.dt_rank + 2 * c.d_state) + c.dt_rank * c.d_inner +
                                  c.d_inner * c.d_state + c.d_inner * c.d_model;
        ChooseCpuThreads(options.threads, c.vocab_size * c.d_model + c.n_layer * per_layer);
        if (device->kind == Device::Kind::kCuda) {
          if (absl::Status s = (*backend)->UseDevice(options.device, *gpu_weights); !s.ok())
            return s;
        }
        return std::unique_ptr<StatefulBackend>(*std::move(backend));
      });
}

}  // namespace llive::backends::native
