// gpu_check: runs every registered group (or those named on the command line), prints one
// table, and exits 1 when a row is over its tolerance or a group fails.
#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "backends/native/cuda/cuda_runtime_check.h"
#include "tests/gpu/gpu_check.h"

namespace llive::gpu_check {
namespace {

std::vector<std::pair<std::string, CheckGroup>>& Groups() {
  static auto* groups = new std::vector<std::pair<std::string, CheckGroup>>();
  return *groups;
}

}  // namespace

bool RegisterCheckGroup(const char* name, CheckGroup group) {
  Groups().emplace_back(name, std::move(group));
  return true;
}

}  // namespace llive::gpu_check

int main(int argc, char** argv) {
  using llive::gpu_check::CheckRow;
  absl::StatusOr<std::vector<llive::backends::cuda::GpuInfo>> gpus =
      llive::backends::cuda::ListGpus();
  if (!gpus.ok()) {
    std::fprintf(stderr, "gpu_check: no GPU to check: %s\n", gpus.status().ToString().c_str());
    return 2;
  }
  std::printf("GPU: %s (sm_%d%d, %d SMs)\n", gpus->front().name.c_str(),
              gpus->front().compute_major, gpus->front().compute_minor,
              gpus->front().multiprocessors);
  std::vector<std::string> wanted(argv + 1, argv + argc);
  std::vector<CheckRow> rows;
  int failures = 0;
  for (const auto& [name, group] : llive::gpu_check::Groups()) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
    std::fprintf(stderr, "gpu_check: running %s\n", name.c_str());
    absl::StatusOr<std::vector<CheckRow>> result = group();
    if (!result.ok()) {
      std::printf("FAIL group %s: %s\n", name.c_str(), result.status().ToString().c_str());
      ++failures;
      continue;
    }
    rows.insert(rows.end(), result->begin(), result->end());
  }
  std::printf("\n%-34s %-30s %-5s %11s %9s %11s %11s  %s\n", "kernel", "shape", "dtype",
              "rel.error", "tolerance", "gpu us", "cpu us", "result");
  for (const CheckRow& row : rows) {
    const bool ok = row.relative_error <= row.tolerance;  // NaN fails
    if (!ok) ++failures;
    std::printf("%-34s %-30s %-5s %11.3e %9.1e %11.1f %11.1f  %s%s%s\n", row.kernel.c_str(),
                row.shape.c_str(), row.dtype.c_str(), row.relative_error, row.tolerance, row.gpu_us,
                row.cpu_us, ok ? "ok" : "FAIL", row.note.empty() ? "" : "  ", row.note.c_str());
  }
  std::printf("\n%zu rows, %d failure(s)\n", rows.size(), failures);
  return failures == 0 ? 0 : 1;
}
