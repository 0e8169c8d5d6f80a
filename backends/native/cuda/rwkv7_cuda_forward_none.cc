// CreateRwkv7CudaForward in a build without the CUDA part.
#include "absl/strings/str_cat.h"
#include "backends/native/rwkv7_device_forward.h"

namespace llive::backends::native {

absl::StatusOr<std::unique_ptr<Rwkv7DeviceForward>> CreateRwkv7CudaForward(const Rwkv7Weights&,
                                                                           int ordinal,
                                                                           cuda::WeightDtype) {
  return absl::FailedPreconditionError(
      absl::StrCat("rwkv7 on cuda:", ordinal,
                   " needs the CUDA part, and this llive was built without it: rebuild with "
                   "-DLLIVE_CUDA=ON, or use --device cpu"));
}

}  // namespace llive::backends::native
