// Where an Rwkv7Backend runs its forward passes when its device is not the CPU. CUDA-free, so
// that the backend compiles the same with and without the CUDA part.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/native/cuda/weight_dtype.h"
#include "backends/native/rwkv7_model.h"

namespace llive::backends::native {

// Rwkv7Forward on another device: the host states of the segments are moved to the device,
// advanced there and moved back (on demand, per call), so that states stay in the CPU path's
// format between calls. Thread-safe (calls are serialised: one device stream).
class Rwkv7DeviceForward {
 public:
  virtual ~Rwkv7DeviceForward() = default;

  // The contract of Rwkv7Forward (distinct states, token ids already checked), with errors as
  // a Status instead of none: Unavailable/ResourceExhausted from the device.
  virtual absl::Status Forward(absl::Span<const Rwkv7Segment> segments) = 0;
};

// RWKV-7 on CUDA GPU `ordinal` (already checked by cuda::SelectDevice) with weights of
// `gpu_weights` (bf16, fp16 or fp32; the state is fp32 always):
// backends/native/cuda/rwkv7_cuda_model.h. FailedPrecondition in a build without the CUDA part;
// the errors of Rwkv7CudaModel::Create otherwise.
absl::StatusOr<std::unique_ptr<Rwkv7DeviceForward>> CreateRwkv7CudaForward(
    const Rwkv7Weights& weights, int ordinal, cuda::WeightDtype gpu_weights);

}  // namespace llive::backends::native
