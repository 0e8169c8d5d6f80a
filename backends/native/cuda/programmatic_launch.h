// When llive's CUDA kernels use programmatic dependent launch (the device side and the launch
// helper are in programmatic_launch.cuh).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace llive::backends::cuda {

// Per model family, whether the kernels of a decode step captured into a CUDA graph from now
// on use programmatic dependent launch; never outside a capture (a long, narrow prefill kernel
// ran at half speed beside the next kernel's waiting blocks). Measured on the H200
// (docs/benchmarks.md, 2026-12-02): RWKV-7 decode at batch 1 took 485 us a step with it and
// 594 without, so it is on for RWKV-7. Mamba's kernels release their successor only after
// their own wait (but the split decode step's residual norm, which releases in_proj first);
// so launched, a Mamba decode step at batch 1 took 471 us with it and 589
// without, but batches 8 and 64 through cuBLAS's products took 2% longer with it (2026-12-02
// 08:27): by default (MambaPdl::kAuto) it is on for Mamba graphs of one sequence and for those
// whose products are llive's split kernels (split_linear.h), which load their weights during
// the kernel before only under it.
// Process-wide, read when a graph is captured (a graph keeps what it was captured with).
void SetRwkv7ProgrammaticLaunch(bool enabled);
bool Rwkv7ProgrammaticLaunch();

enum class MambaPdl { kOff, kOn, kAuto };
void SetMambaProgrammaticLaunch(MambaPdl mode);
MambaPdl MambaProgrammaticLaunchMode();
// Whether a Mamba kernel launched now uses it: the mode, applied to the decode graph this
// thread is capturing (MambaCaptureRows; none: no).
bool MambaProgrammaticLaunch();

// Marks the decode graph this thread captures while it lives: `rows` sequences, and whether
// its products are split kernels.
class MambaCaptureRows {
 public:
  MambaCaptureRows(int64_t rows, bool split_products);
  ~MambaCaptureRows();
  MambaCaptureRows(const MambaCaptureRows&) = delete;
  MambaCaptureRows& operator=(const MambaCaptureRows&) = delete;

 private:
  int64_t previous_rows_;
  bool previous_split_;
};

// True when `kernel` was compiled for sm_90 or newer (its PTX holds the griddepcontrol
// instructions; a kernel JIT-compiled from older PTX lacks them and must not get the attribute).
bool KernelSupportsProgrammaticLaunch(const void* kernel);

// True while `stream` is being captured into a graph.
bool StreamCapturing(cudaStream_t stream);

}  // namespace llive::backends::cuda
