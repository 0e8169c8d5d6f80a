// The GPU benchmark program (bench/gpu_bench): each model's measurements live in their own
// file and register themselves here; the program prints one table.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

// Returns the status of `expr` from the enclosing function when it is an error.
#define BENCH_OK(expr)                                                                  \
  do {                                                                                  \
    if (absl::Status bench_status_ = (expr); !bench_status_.ok()) return bench_status_; \
  } while (false)

namespace llive::gpu_bench {

// One measured configuration. Rates the row does not measure stay 0 and print as "-".
struct BenchRow {
  std::string model;  // "mamba-130m shape", "rwkv7-0.1b shape"
  std::string what;   // "prefill", "decode", "scan kernel", "stream 1M"
  std::string dtype;  // "bf16"
  int batch = 0;
  int64_t length = 0;  // tokens per sequence (prefill) or steps timed (decode)
  double tokens_per_second = 0;
  double microseconds_per_step = 0;
  double bandwidth_tb_s = 0;  // achieved bytes moved / time
  double device_memory_mib = 0;
  std::string note;
};

struct BenchOptions {
  bool quick = false;  // fewer repetitions: a smoke run
};

using BenchGroup = std::function<absl::StatusOr<std::vector<BenchRow>>(const BenchOptions&)>;

// Adds a group run by the program in registration order; use from a namespace-scope
// initialiser. The program links the benchmark files directly, so registrations are kept.
bool RegisterBenchGroup(const char* name, BenchGroup group);

}  // namespace llive::gpu_bench
