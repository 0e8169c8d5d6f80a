// When llive's CUDA kernels use programmatic dependent launch (the device side and the launch
// helper are in programmatic_launch.cuh).
#pragma once

#include <cuda_runtime.h>

namespace llive::backends::cuda {

// Per model family, whether the kernels of a decode step captured into a CUDA graph from now
// on use programmatic dependent launch; never outside a capture (a long, narrow prefill kernel
// ran at half speed beside the next kernel's waiting blocks). Measured on the H200
// (docs/benchmarks.md, 2026-12-02): RWKV-7 decode at batch 1 took 485 us a step with it and
// 594 without; Mamba 888 with and 648 without. So on for RWKV-7, off for Mamba by default.
// Process-wide, read when a graph is captured (a graph keeps what it was captured with).
void SetRwkv7ProgrammaticLaunch(bool enabled);
bool Rwkv7ProgrammaticLaunch();
void SetMambaProgrammaticLaunch(bool enabled);
bool MambaProgrammaticLaunch();

// True when `kernel` was compiled for sm_90 or newer (its PTX holds the griddepcontrol
// instructions; a kernel JIT-compiled from older PTX lacks them and must not get the attribute).
bool KernelSupportsProgrammaticLaunch(const void* kernel);

// True while `stream` is being captured into a graph.
bool StreamCapturing(cudaStream_t stream);

}  // namespace llive::backends::cuda
