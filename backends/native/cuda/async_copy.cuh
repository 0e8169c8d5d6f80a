// Asynchronous global -> shared copies (cp.async, sm_80 and later) for the kernels that stage
// tiles in shared memory without passing them through registers.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace llive::backends::cuda {

// 16 bytes from global to shared memory.
__device__ __forceinline__ void CopyAsync16(void* shared_target, const void* global_source) {
  const uint32_t target = static_cast<uint32_t>(__cvta_generic_to_shared(shared_target));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(target), "l"(global_source)
               : "memory");
}

// 16 bytes from global memory where `copy`, else 16 zero bytes (`global_source` must still be a
// valid address: nothing is read from it).
__device__ __forceinline__ void CopyAsync16OrZero(void* shared_target, const void* global_source,
                                                  bool copy) {
  const uint32_t target = static_cast<uint32_t>(__cvta_generic_to_shared(shared_target));
  const int source_bytes = copy ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(target), "l"(global_source),
               "r"(source_bytes)
               : "memory");
}

// 4 bytes from global memory where `copy`, else 4 zero bytes (through L1: cp.async of fewer
// than 16 bytes has no L2-only form). For gathers that scatter single words, such as a
// transposed tile, issued all at once instead of a load-then-store round trip each.
__device__ __forceinline__ void CopyAsync4OrZero(void* shared_target, const void* global_source,
                                                 bool copy) {
  const uint32_t target = static_cast<uint32_t>(__cvta_generic_to_shared(shared_target));
  const int source_bytes = copy ? 4 : 0;
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" ::"r"(target), "l"(global_source),
               "r"(source_bytes)
               : "memory");
}

// Closes the group of copies issued since the last commit.
__device__ __forceinline__ void CopyAsyncCommit() {
  asm volatile("cp.async.commit_group;" ::: "memory");
}

// Waits for every committed group of this thread (other threads' copies need a barrier after).
__device__ __forceinline__ void CopyAsyncWait() {
  asm volatile("cp.async.wait_group 0;" ::: "memory");
}

// Waits for every committed group of this thread but the latest.
__device__ __forceinline__ void CopyAsyncWaitAllButLatest() {
  asm volatile("cp.async.wait_group 1;" ::: "memory");
}

}  // namespace llive::backends::cuda
