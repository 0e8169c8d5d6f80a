// The RWKV-7 backend on a CUDA device: a clear error where none can be used (CI: no GPU, or no
// CUDA part), and on a GPU the same logits, steps and states as the CPU path within bf16
// rounding. The GPU half skips itself without a GPU; scripts/gpu_check runs the kernel-level
// checks on the GPU machine.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend_spec.h"
#include "backends/native/cuda/cuda_runtime_check.h"
#include "backends/native/rwkv7_backend.h"
#include "backends/native_backend_registry.h"
#include "gtest/gtest.h"

namespace llive::backends::native {
namespace {

const char* const kSmallModel = LLIVE_SOURCE_DIR "/tests/fixtures/rwkv7/small";

bool HaveGpu() { return cuda::ListGpus().ok(); }

double RelativeError(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0.0, scale = 1e-30;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(got[i] - want[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(want[i])));
  }
  return diff / scale;
}

TEST(Rwkv7CudaBackendTest, CudaWithoutAUsableGpuSaysWhyAndWhatToDo) {
  if (HaveGpu()) GTEST_SKIP() << "a CUDA GPU is present, so cuda:0 is usable here";
  RegisterRwkv7Backend();
  absl::StatusOr<BackendSpec> spec = ParseBackendSpec(std::string("rwkv7:") + kSmallModel);
  ASSERT_TRUE(spec.ok()) << spec.status();
  NativeBackendOptions options;
  options.device = "cuda";
  absl::StatusOr<std::unique_ptr<StatefulBackend>> backend = CreateNativeBackend(*spec, options);
  ASSERT_FALSE(backend.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(backend.status()) || absl::IsUnavailable(backend.status()))
      << backend.status();
  EXPECT_NE(backend.status().message().find("--device cpu"), std::string::npos) << backend.status();
}

TEST(Rwkv7CudaBackendTest, CpuDeviceIsTheCpuPath) {
  RegisterRwkv7Backend();
  absl::StatusOr<BackendSpec> spec = ParseBackendSpec(std::string("rwkv7:") + kSmallModel);
  ASSERT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<std::unique_ptr<StatefulBackend>> backend = CreateNativeBackend(*spec, {});
  ASSERT_TRUE(backend.ok()) << backend.status();
  auto* rwkv7 = dynamic_cast<Rwkv7Backend*>(backend->get());
  ASSERT_NE(rwkv7, nullptr);
  EXPECT_EQ(rwkv7->device().kind, Device::Kind::kCpu);
}

TEST(Rwkv7CudaBackendTest, GpuFollowsTheCpuPath) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA GPU here (CI has none); run on the GPU machine";
  absl::StatusOr<std::unique_ptr<Rwkv7Backend>> cpu = Rwkv7Backend::Open(kSmallModel);
  absl::StatusOr<std::unique_ptr<Rwkv7Backend>> gpu = Rwkv7Backend::Open(kSmallModel);
  ASSERT_TRUE(cpu.ok() && gpu.ok());
  ASSERT_TRUE((*gpu)->MoveToDevice({Device::Kind::kCuda, 0}).ok());
  const std::vector<int32_t> prompt = {3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46, 26};
  auto cpu_state = (*cpu)->NewState();
  auto gpu_state = (*gpu)->NewState();
  ASSERT_TRUE(cpu_state.ok() && gpu_state.ok());
  absl::StatusOr<std::vector<float>> cpu_logits = (*cpu)->Feed(**cpu_state, prompt);
  absl::StatusOr<std::vector<float>> gpu_logits = (*gpu)->Feed(**gpu_state, prompt);
  ASSERT_TRUE(cpu_logits.ok() && gpu_logits.ok());
  EXPECT_LT(RelativeError(*gpu_logits, *cpu_logits), 2e-2);  // bf16 weights on the GPU
  EXPECT_EQ((*gpu_state)->position(), static_cast<int64_t>(prompt.size()));
  // A batched step of three states (one of them a clone) through the decode graph.
  std::unique_ptr<ModelState> clone = (*gpu_state)->Clone();
  auto fresh = (*gpu)->NewState();
  ASSERT_TRUE(fresh.ok());
  std::vector<ModelState*> states = {gpu_state->get(), clone.get(), fresh->get()};
  absl::StatusOr<std::vector<std::vector<float>>> step =
      (*gpu)->StepBatch(states, std::vector<int32_t>{7, 7, 7});
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ((*step)[0], (*step)[1]);  // same state, same token: identical
  absl::StatusOr<std::vector<float>> cpu_step = (*cpu)->Feed(**cpu_state, std::vector<int32_t>{7});
  ASSERT_TRUE(cpu_step.ok());
  EXPECT_LT(RelativeError((*step)[0], *cpu_step), 2e-2);
}

}  // namespace
}  // namespace llive::backends::native
