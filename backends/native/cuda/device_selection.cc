// Device selection: parse, then check build, runtime, ordinal and architecture in that order,
// so that the first thing a user has to fix is the one reported.
#include "backends/native/cuda/device_selection.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/native/cuda/cuda_runtime_check.h"

#ifndef LLIVE_CUDA_ARCHITECTURES
#define LLIVE_CUDA_ARCHITECTURES ""
#endif

namespace llive::backends::cuda {

absl::string_view BuiltCudaArchitectures() { return LLIVE_CUDA_ARCHITECTURES; }

absl::StatusOr<Device> SelectDevice(absl::string_view text) {
  absl::StatusOr<Device> device = ParseDevice(text);
  if (!device.ok() || device->kind == Device::Kind::kCpu) return device;
  const std::string name = device->ToString();
  if (!BuiltWithCuda()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device ", name,
        " needs the CUDA part, and this llive was built without it: rebuild with the CUDA "
        "toolkit and -DLLIVE_CUDA=ON (docs/building.md), or use --device cpu"));
  }
  absl::StatusOr<std::vector<GpuInfo>> gpus = ListGpus();
  if (!gpus.ok()) {
    return absl::UnavailableError(
        absl::StrCat("device ", name, " was asked for but the CUDA runtime finds no usable GPU (",
                     gpus.status().message(), "); use --device cpu"));
  }
  if (device->index >= static_cast<int>(gpus->size())) {
    std::vector<std::string> present;
    for (const GpuInfo& gpu : *gpus) {
      present.push_back(absl::StrCat("cuda:", gpu.ordinal, " (", gpu.name, ")"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("device ", name, " does not exist; this machine has ", gpus->size(),
                     " GPU(s): ", absl::StrJoin(present, ", ")));
  }
  const GpuInfo& gpu = (*gpus)[device->index];
  // Running a kernel is the one reliable test that the fat binary has code the GPU can run
  // (an exact cubin, an older cubin of the same major version, or PTX to JIT).
  absl::StatusOr<std::vector<float>> probe = AxpyOnGpu(device->index, 1.0f, {1.0f}, {1.0f});
  if (!probe.ok()) {
    if (probe.status().code() == absl::StatusCode::kFailedPrecondition) {
      return absl::FailedPreconditionError(absl::StrCat(
          "device ", name, " (", gpu.name, ", compute capability ", gpu.compute_major, ".",
          gpu.compute_minor,
          ") has no code in this build, which was compiled for CUDA "
          "architecture(s) ",
          BuiltCudaArchitectures(), ": rebuild with -DCMAKE_CUDA_ARCHITECTURES=", gpu.compute_major,
          gpu.compute_minor, " (docs/building.md), or use --device cpu"));
    }
    return probe.status();
  }
  if (probe->size() != 1 || (*probe)[0] != 2.0f) {
    return absl::UnavailableError(absl::StrCat("device ", name, " (", gpu.name,
                                               ") computed a wrong result in its self-test"));
  }
  return device;
}

}  // namespace llive::backends::cuda
