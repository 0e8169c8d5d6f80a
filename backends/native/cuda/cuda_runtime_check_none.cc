// The CUDA probe of a build without the CUDA part: every call says how to get one.
#include "backends/native/cuda/cuda_runtime_check.h"

namespace llive::backends::cuda {
namespace {

absl::Status NotBuilt() {
  return absl::FailedPreconditionError(
      "this llive was built without CUDA; rebuild with the CUDA toolkit installed "
      "(-DLLIVE_CUDA=ON) to use a GPU");
}

}  // namespace

bool BuiltWithCuda() { return false; }

absl::StatusOr<std::vector<GpuInfo>> ListGpus() { return NotBuilt(); }

absl::StatusOr<std::vector<float>> AxpyOnGpu(int, float, const std::vector<float>&,
                                             const std::vector<float>&) {
  return NotBuilt();
}

}  // namespace llive::backends::cuda
