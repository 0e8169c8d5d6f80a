// The programmatic-launch switch and the per-kernel support check (programmatic_launch.cuh).
#include "backends/native/cuda/programmatic_launch.h"

#include <cuda_runtime.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace llive::backends::cuda {
namespace {

std::atomic<bool> rwkv7_programmatic{true};
std::atomic<MambaPdl> mamba_programmatic{MambaPdl::kSingleRow};
thread_local int64_t mamba_capture_rows = 0;  // 0: no decode graph being captured

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
    case MambaPdl::kSingleRow:
      return mamba_capture_rows == 1;
    case MambaPdl::kOff:
      break;
  }
  return false;
}

MambaCaptureRows::MambaCaptureRows(int64_t rows) : previous_(mamba_capture_rows) {
  mamba_capture_rows = rows;
}
MambaCaptureRows::~MambaCaptureRows() { mamba_capture_rows = previous_; }

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
