// `llive devices`: the compute devices this build can use.
#include <iostream>
#include <thread>

#include "backends/native/cuda/cuda_runtime_check.h"
#include "runtime/cli/cli.h"

namespace llive::cli {

void RegisterDevicesCommand(CLI::App& app, CliContext& context) {
  auto* command = app.add_subcommand("devices", "List the CPU and the CUDA GPUs llive can use");
  command->callback([&context] {
    namespace cuda = backends::cuda;
    absl::StatusOr<std::vector<cuda::GpuInfo>> gpus = cuda::ListGpus();
    nlohmann::json out = {{"cpu", {{"threads", std::thread::hardware_concurrency()}}},
                          {"cuda_built", cuda::BuiltWithCuda()},
                          {"gpus", nlohmann::json::array()}};
    if (gpus.ok()) {
      for (const cuda::GpuInfo& gpu : *gpus) {
        out["gpus"].push_back({{"device", "cuda:" + std::to_string(gpu.ordinal)},
                               {"name", gpu.name},
                               {"compute_capability", std::to_string(gpu.compute_major) + "." +
                                                          std::to_string(gpu.compute_minor)},
                               {"memory_bytes", gpu.total_memory_bytes},
                               {"multiprocessors", gpu.multiprocessors}});
      }
    } else {
      out["gpu_status"] = std::string(gpus.status().message());
    }
    if (context.json) {
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::cout << "cpu      " << std::thread::hardware_concurrency() << " hardware threads\n";
    if (!gpus.ok()) {
      std::cout << "cuda     none (" << gpus.status().message() << ")\n";
      return;
    }
    for (const cuda::GpuInfo& gpu : *gpus) {
      std::cout << "cuda:" << gpu.ordinal << "   " << gpu.name << ", sm_" << gpu.compute_major
                << gpu.compute_minor << ", " << gpu.total_memory_bytes / (1 << 20) << " MiB, "
                << gpu.multiprocessors << " SMs\n";
    }
  });
}

}  // namespace llive::cli
