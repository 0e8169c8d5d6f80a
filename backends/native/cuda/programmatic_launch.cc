// The programmatic-launch switch and the per-kernel support check (programmatic_launch.cuh).
#include "backends/native/cuda/programmatic_launch.h"

#include <cuda_runtime.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace llive::backends::cuda {
namespace {

std::atomic<bool> rwkv7_programmatic{true};
std::atomic<MambaPdl> mamba_programmatic{MambaPdl::kAuto};
thread_local int64_t mamba_capture_rows = 0;  // 0: no decode graph being captured
thread_local bool mamba_capture_split = false;

}  // namespace

void SetRwkv7ProgrammaticLaunch(bool enabled) { rwkv7_programmatic.store(enabled); }
bool Rwkv7ProgrammaticLaunch() { return rwkv7_programmatic.load(std::memory_order_relaxed); }
void SetMambaProgrammaticLaunch(MambaPdl mode) { mamba_programmatic.store(mode); }
MambaPdl MambaProgrammaticLaunchMode() {
  return mamba_programmatic.load(std::memory_order_relaxed);
}
bool MambaProgrammaticLaunch() {
  switch (MambaProgrammaticLaunchMode()) {
    case MambaPdl::kOn:
      return true;
    case MambaPdl::kAuto:
      return mamba_capture_rows == 1 || (mamba_capture_rows > 0 && mamba_capture_split);
    case MambaPdl::kOff:
      break;
  }
  return false;
}

MambaCaptureRows::MambaCaptureRows(int64_t rows, bool split_products)
    : previous_rows_(mamba_capture_rows), previous_split_(mamba_capture_split) {
  mamba_capture_rows = rows;
  mamba_capture_split = split_products;
}
MambaCaptureRows::~MambaCaptureRows() {
  mamba_capture_rows = previous_rows_;
  mamba_capture_split = previous_split_;
}

bool StreamCapturing(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &status) != cudaSuccess) {
    cudaGetLastError();  // consumed here, not by the next launch check
    return false;
  }
  return status == cudaStreamCaptureStatusActive;
}

bool KernelSupportsProgrammaticLaunch(const void* kernel) {
  static std::mutex mutex;
  static std::unordered_map<const void*, bool> known;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = known.find(kernel);
  if (found != known.end()) return found->second;
  cudaFuncAttributes attributes = {};
  const cudaError_t queried = cudaFuncGetAttributes(&attributes, kernel);
  if (queried != cudaSuccess) cudaGetLastError();  // consumed here, not by the next launch check
  const bool supported = queried == cudaSuccess && attributes.ptxVersion >= 90;
  known.emplace(kernel, supported);
  return supported;
}

}  // namespace llive::backends::cuda
