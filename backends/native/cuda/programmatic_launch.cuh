// Programmatic dependent launch (sm_90) for the many small kernels of a decode step (when it
// is used: programmatic_launch.h).
//
// Normally a kernel starts only once the one before it on the stream has finished, and each
// graph node of a decode step then costs a launch's latency on top of its work. Launched with
// programmatic stream serialisation, a kernel may start while its predecessor still runs:
// every kernel here calls LetDependentsStart() (so that its successor can launch; RWKV-7's
// kernels first, Mamba's right after their own wait: WaitThenRelease, but for the split decode
// step's residual norm, which releases in_proj first), may before its wait
// read what no earlier kernel of the step writes, and calls WaitForPrevious() before it
// touches anything an earlier kernel wrote; that wait returns once the predecessor has
// finished and its writes are visible, and since the predecessor itself waited for its own,
// everything earlier on the stream is complete too.
//
// Rule for every kernel launched through LaunchKernel: before WaitForPrevious(), read only
// constant weights, what the host wrote before the step began (a decode step's slots) and
// state that only this kernel of the step writes (the Mamba decode step's convolution history
// and scan state of its layer); call it on every path that reads or writes activations (a
// no-op when the kernel was launched without the attribute).
#pragma once

#include <cuda_runtime.h>

#include <utility>

#include "backends/native/cuda/programmatic_launch.h"

namespace llive::backends::cuda {

__device__ __forceinline__ void LetDependentsStart() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

__device__ __forceinline__ void WaitForPrevious() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// For a kernel with nothing to load ahead: lets its successor launch, then waits.
__device__ __forceinline__ void FollowPrevious() {
  LetDependentsStart();
  WaitForPrevious();
}

// Waits for the kernel before, then lets the successor launch: the successor's blocks load
// their weights while this kernel works, but nothing further ahead is launched. Letting the
// successor start before waiting (as FollowPrevious does) launches the step's kernels in a
// cascade, as far as the multiprocessors hold their blocks, and with the Mamba step's many
// small kernels that made decoding slower (docs/benchmarks.md, 2026-12-02), so the Mamba
// kernels release their successor only once they run (all but one: ResidualNormKernel).
__device__ __forceinline__ void WaitThenRelease() {
  WaitForPrevious();
  LetDependentsStart();
}

// Launches kernel<<<grid, block, shared_bytes, stream>>>(args...), with programmatic stream
// serialisation where `programmatic` (the model family's switch) holds, the stream is being
// captured into a graph and the kernel supports it.
template <typename... Params, typename... Args>
cudaError_t LaunchKernel(bool programmatic, void (*kernel)(Params...), dim3 grid, dim3 block,
                         size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  cudaLaunchAttribute attribute;
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = programmatic && StreamCapturing(stream) &&
                            KernelSupportsProgrammaticLaunch(reinterpret_cast<const void*>(kernel))
                        ? 1
                        : 0;
  return cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

}  // namespace llive::backends::cuda
