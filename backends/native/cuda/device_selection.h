// Turns the device a user asked for ("cpu", "cuda", "cuda:N") into one this process can run
// on, or says precisely why not.
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/device.h"

namespace llive::backends::cuda {

// "cpu" always succeeds. "cuda" (ordinal 0) and "cuda:N" succeed only when all of these hold,
// and otherwise return:
//  - InvalidArgument for a spelling other than cpu, cuda, cuda:N;
//  - FailedPrecondition when this build has no CUDA part (rebuild with -DLLIVE_CUDA=ON);
//  - Unavailable when the CUDA runtime sees no GPU (no driver, no device);
//  - InvalidArgument when N is not below the number of GPUs (the message lists them);
//  - FailedPrecondition when the GPU's architecture was not compiled in (the message names
//    the GPU's compute capability, the architectures built, and the
//    -DCMAKE_CUDA_ARCHITECTURES flag to rebuild with).
// The CUDA checks run a tiny kernel on the GPU, so this costs a CUDA context start-up
// (tens of milliseconds) the first time. Thread-safe.
absl::StatusOr<Device> SelectDevice(absl::string_view text);

// The CUDA architectures this build compiled kernels for, as CMake was given them ("90"), or
// "" in a build without CUDA.
absl::string_view BuiltCudaArchitectures();

}  // namespace llive::backends::cuda
