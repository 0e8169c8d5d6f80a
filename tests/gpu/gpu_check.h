// The GPU check program (scripts/gpu_check): every CUDA kernel and device model path against
// the CPU path on fresh random inputs, with its relative error and its time. Each model's
// checks live in their own file and register themselves here.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace llive::gpu_check {

// One compared output. `relative_error` is max|gpu - cpu| / max(max|cpu|, tiny) unless the
// check says otherwise in `note`; the row fails when it exceeds `tolerance`.
struct CheckRow {
  std::string kernel;  // "mamba.selective_scan"
  std::string shape;   // "b=2 t=1000 d=1536 n=16"
  std::string dtype;   // "fp32", "bf16"
  double relative_error = 0;
  double tolerance = 0;
  double gpu_us = 0;  // one call, after a warm-up; 0 when not timed
  double cpu_us = 0;
  std::string note;
};

using CheckGroup = std::function<absl::StatusOr<std::vector<CheckRow>>()>;

// Adds a group of checks run by the program in registration order; use from a namespace-scope
// initialiser (`const bool kRegistered = RegisterCheckGroup("mamba", &RunMambaChecks);`).
// The program links the check files directly, so the registrations are kept.
bool RegisterCheckGroup(const char* name, CheckGroup group);

}  // namespace llive::gpu_check
