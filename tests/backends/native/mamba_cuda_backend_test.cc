// MambaBackend on a GPU against itself on the CPU, through the StatefulBackend interface; and
// the errors of asking for a GPU where there is none. The GPU tests skip without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "backends/backend_spec.h"
#include "backends/native/cuda/cuda_runtime_check.h"
#include "backends/native/mamba_backend.h"
#include "backends/native/mamba_random.h"
#include "backends/native/mamba_registration.h"
#include "backends/native/rwkv7_backend.h"
#include "backends/native_backend_registry.h"

namespace llive::backends::native {
namespace {

MambaConfig GpuShapedConfig() {
  MambaConfig config;
  config.d_model = 64;
  config.n_layer = 2;
  config.d_state = 16;  // the GPU kernels take 4, 8, 16 or 32
  config.d_inner = 128;
  config.d_conv = 4;
  config.dt_rank = 4;
  config.vocab_size = 301;
  return config;
}

std::unique_ptr<MambaBackend> Backend(const MambaConfig& config) {
  RandomMambaOptions options;
  options.seed = 9;
  auto model = MambaModel::FromWeights(config, RandomMambaWeights(config, options));
  EXPECT_TRUE(model.ok()) << model.status();
  return MambaBackend::FromModel(*std::move(model), nullptr, "mamba:test");
}

double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  double error = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    error = std::max(error, std::fabs(double{a[i]} - b[i]));
    scale = std::max(scale, std::fabs(double{b[i]}));
  }
  return a.size() == b.size() ? error / scale : INFINITY;
}

TEST(MambaCudaBackendTest, DeviceErrorsAreClear) {
  std::unique_ptr<MambaBackend> backend = Backend(GpuShapedConfig());
  EXPECT_EQ(backend->UseDevice("tpu").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(backend->UseDevice("cpu").ok());
  EXPECT_EQ(backend->device(), "cpu");
  if (!cuda::ListGpus().ok()) {
    const absl::Status status = backend->UseDevice("cuda");
    EXPECT_TRUE(status.code() == absl::StatusCode::kFailedPrecondition ||
                status.code() == absl::StatusCode::kUnavailable)
        << status;
    EXPECT_EQ(backend->device(), "cpu");
  }
}

// backend.gpu_weights reaches both native factories, which refuse a type they do not know
// before reading any weights, on any device.
TEST(MambaCudaBackendTest, UnknownGpuWeightTypesAreRefusedByBothFactories) {
  RegisterMambaBackend();
  RegisterRwkv7Backend();
  NativeBackendOptions options;
  options.gpu_weights = "fp8";
  for (const char* spec_text : {"mamba:" LLIVE_SOURCE_DIR "/backends/models/llive-mamba-small",
                                "rwkv7:" LLIVE_SOURCE_DIR "/backends/models/llive-rwkv7-small"}) {
    absl::StatusOr<BackendSpec> spec = ParseBackendSpec(spec_text);
    ASSERT_TRUE(spec.ok()) << spec.status();
    absl::StatusOr<std::unique_ptr<StatefulBackend>> backend = CreateNativeBackend(*spec, options);
    ASSERT_FALSE(backend.ok()) << spec_text;
    EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(backend.status().message().find("use bf16, fp16 or fp32"), absl::string_view::npos)
        << backend.status();
  }
  options.gpu_weights = "fp32";  // known: on the CPU it changes nothing
  absl::StatusOr<BackendSpec> spec =
      ParseBackendSpec("mamba:" LLIVE_SOURCE_DIR "/backends/models/llive-mamba-small");
  ASSERT_TRUE(spec.ok());
  EXPECT_TRUE(CreateNativeBackend(*spec, options).ok());
}

TEST(MambaCudaBackendTest, GpuMatchesCpuThroughTheBackend) {
  if (!cuda::ListGpus().ok()) GTEST_SKIP() << "no GPU to test on: " << cuda::ListGpus().status();
  const MambaConfig config = GpuShapedConfig();
  std::unique_ptr<MambaBackend> cpu = Backend(config);
  std::unique_ptr<MambaBackend> gpu = Backend(config);
  ASSERT_TRUE(gpu->UseDevice("cuda", cuda::WeightDtype::kFp32).ok());
  EXPECT_EQ(gpu->device(), "cuda:0");
  std::vector<int32_t> prompt(70);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 37) % 301);

  auto cpu_state = cpu->NewState();
  auto gpu_state = gpu->NewState();
  ASSERT_TRUE(cpu_state.ok() && gpu_state.ok());
  auto cpu_logits = cpu->Feed(**cpu_state, prompt);
  auto gpu_logits = gpu->Feed(**gpu_state, prompt);
  ASSERT_TRUE(cpu_logits.ok() && gpu_logits.ok()) << gpu_logits.status();
  EXPECT_LE(RelativeError(*gpu_logits, *cpu_logits), 1e-4);
  EXPECT_EQ((*gpu_state)->position(), 70);

  // A CPU state is not a GPU state.
  EXPECT_EQ(gpu->Feed(**cpu_state, prompt).status().code(), absl::StatusCode::kInvalidArgument);

  // Serialised on the GPU, restored on the CPU: the same continuation.
  auto blob = gpu->SerializeState(**gpu_state);
  ASSERT_TRUE(blob.ok()) << blob.status();
  auto restored = cpu->DeserializeState(*blob);
  ASSERT_TRUE(restored.ok()) << restored.status();
  const int32_t next[] = {5};
  auto from_cpu = cpu->Feed(**restored, next);
  auto gpu_clone = (*gpu_state)->Clone();
  ASSERT_NE(gpu_clone, nullptr);
  auto from_gpu = gpu->Feed(*gpu_clone, next);
  ASSERT_TRUE(from_cpu.ok() && from_gpu.ok());
  EXPECT_LE(RelativeError(*from_gpu, *from_cpu), 1e-4);

  // Writes through a view take effect at the next step: zeroing the state on the GPU backend
  // equals a fresh state.
  auto view = gpu->View(**gpu_state);
  ASSERT_TRUE(view.ok());
  for (StateTensor& tensor : view->tensors) {
    int64_t n = 1;
    for (int64_t d : tensor.shape) n *= d;
    std::fill(tensor.data, tensor.data + n, 0.0f);
  }
  auto fresh = gpu->NewState();
  ASSERT_TRUE(fresh.ok());
  ModelState* batch[] = {gpu_state->get(), fresh->get()};
  const int32_t tokens[] = {7, 7};
  auto stepped = gpu->StepBatch(batch, tokens);
  ASSERT_TRUE(stepped.ok()) << stepped.status();
  EXPECT_EQ((*stepped)[0], (*stepped)[1]);
}

}  // namespace
}  // namespace llive::backends::native
