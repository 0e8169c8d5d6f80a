// What CUDA devices this process can use, and a self-test that runs a kernel on one.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace llive::backends::cuda {

struct GpuInfo {
  int ordinal = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  size_t total_memory_bytes = 0;
  int multiprocessors = 0;
};

// True when this build contains the CUDA part (LLIVE_CUDA found nvcc).
bool BuiltWithCuda();

// The GPUs the CUDA runtime reports. Returns FailedPrecondition when the build has no
// CUDA part, Unavailable when the runtime reports no usable device (no driver, no GPU).
absl::StatusOr<std::vector<GpuInfo>> ListGpus();

// Computes y = a*x + y for `x.size()` elements on GPU `ordinal` with llive's own
// kernel and returns the result, so that a caller can check the whole CUDA path
// (build architecture, driver, memory transfers) against the CPU. Errors as ListGpus,
// plus FailedPrecondition when the GPU's architecture was not compiled in.
absl::StatusOr<std::vector<float>> AxpyOnGpu(int ordinal, float a, const std::vector<float>& x,
                                             const std::vector<float>& y);

}  // namespace llive::backends::cuda
