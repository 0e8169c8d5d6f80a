// gpu_bench: runs every registered group (or those named), printing one table. --quick
// shortens the timing loops.
#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "backends/native/cuda/cuda_runtime_check.h"
#include "bench/gpu_bench.h"

namespace llive::gpu_bench {
namespace {

std::vector<std::pair<std::string, BenchGroup>>& Groups() {
  static auto* groups = new std::vector<std::pair<std::string, BenchGroup>>();
  return *groups;
}

std::string Number(double value, const char* format) {
  if (value == 0) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), format, value);
  return buffer;
}

}  // namespace

bool RegisterBenchGroup(const char* name, BenchGroup group) {
  Groups().emplace_back(name, std::move(group));
  return true;
}

}  // namespace llive::gpu_bench

int main(int argc, char** argv) {
  using llive::gpu_bench::BenchRow;
  using llive::gpu_bench::Number;
  absl::StatusOr<std::vector<llive::backends::cuda::GpuInfo>> gpus =
      llive::backends::cuda::ListGpus();
  if (!gpus.ok()) {
    std::fprintf(stderr, "gpu_bench: no GPU: %s\n", gpus.status().ToString().c_str());
    return 2;
  }
  llive::gpu_bench::BenchOptions options;
  std::vector<std::string> wanted;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      options.quick = true;
    } else {
      wanted.push_back(arg);
    }
  }
  std::printf("GPU: %s\n", gpus->front().name.c_str());
  std::vector<BenchRow> rows;
  int failures = 0;
  for (const auto& [name, group] : llive::gpu_bench::Groups()) {
    // Groups named with a '-' (one shape for a profiler) run only when named.
    if (wanted.empty() ? name.find('-') != std::string::npos
                       : std::find(wanted.begin(), wanted.end(), name) == wanted.end()) {
      continue;
    }
    std::fprintf(stderr, "gpu_bench: running %s\n", name.c_str());
    absl::StatusOr<std::vector<BenchRow>> result = group(options);
    if (!result.ok()) {
      std::printf("FAIL group %s: %s\n", name.c_str(), result.status().ToString().c_str());
      ++failures;
      continue;
    }
    rows.insert(rows.end(), result->begin(), result->end());
  }
  std::printf(
      "\n| model | what | dtype | batch | length | tok/s | us/step | TB/s | MiB | note |\n");
  std::printf("|---|---|---|---:|---:|---:|---:|---:|---:|---|\n");
  for (const BenchRow& row : rows) {
    std::printf("| %s | %s | %s | %d | %lld | %s | %s | %s | %s | %s |\n", row.model.c_str(),
                row.what.c_str(), row.dtype.c_str(), row.batch, static_cast<long long>(row.length),
                Number(row.tokens_per_second, "%.0f").c_str(),
                Number(row.microseconds_per_step, "%.1f").c_str(),
                Number(row.bandwidth_tb_s, "%.2f").c_str(),
                Number(row.device_memory_mib, "%.0f").c_str(), row.note.c_str());
  }
  return failures == 0 ? 0 : 1;
}
