// gpu_bench group "rwkv7": the RWKV-7 0.1B shape (tests/gpu/rwkv7_random_weights.h) with random
// bf16 weights: prefill at 1x2048 and 16x2048, greedy decoding at batch 1, 8, 64, 256 (graph
// replay + on-device sampling, no host round trip per token), the WKV kernel alone, and a long
// stream fed in pieces with its device memory.
#include <cuda_runtime.h>

#include <chrono>
#include <memory>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/native/cuda/device_buffer.h"
#include "backends/native/cuda/programmatic_launch.h"
#include "backends/native/cuda/rwkv7_cuda_kernels.h"
#include "backends/native/cuda/rwkv7_cuda_model.h"
#include "bench/gpu_bench.h"
#include "tests/gpu/rwkv7_random_weights.h"

namespace llive::gpu_bench {
namespace {

using backends::cuda::DeviceBuffer;
using backends::cuda::Rwkv7CudaBatch;
using backends::cuda::Rwkv7CudaModel;
using backends::cuda::WeightDtype;
using backends::native::Rwkv7Config;

#define BENCH_ASSIGN_IMPL(lhs, expr, tmp) \
  auto tmp = (expr);                      \
  if (!tmp.ok()) return tmp.status();     \
  lhs = *std::move(tmp)
#define BENCH_CONCAT_INNER(a, b) a##b
#define BENCH_CONCAT(a, b) BENCH_CONCAT_INNER(a, b)
#define BENCH_ASSIGN(lhs, expr) BENCH_ASSIGN_IMPL(lhs, expr, BENCH_CONCAT(result_, __LINE__))

constexpr double kPeakTbPerSecond = 4.3;  // H200 device copy bandwidth measured there
const char* const kModel = "rwkv7-0.1b shape";

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double UsedMib() {
  size_t free_bytes = 0, total_bytes = 0;
  cudaMemGetInfo(&free_bytes, &total_bytes);
  return static_cast<double>(total_bytes - free_bytes) / (1 << 20);
}

std::vector<int32_t> Tokens(int64_t n, int64_t vocab, std::mt19937_64& random) {
  std::vector<int32_t> tokens(n);
  for (int32_t& t : tokens) t = static_cast<int32_t>(random() % vocab);
  return tokens;
}

absl::StatusOr<BenchRow> Prefill(Rwkv7CudaModel& model, int64_t batch, int64_t length, int repeats,
                                 std::mt19937_64& random) {
  const Rwkv7Config& c = model.config();
  BENCH_ASSIGN(std::unique_ptr<Rwkv7CudaBatch> states, model.NewBatch(batch));
  const std::vector<int32_t> tokens = Tokens(batch * length, c.vocab_size, random);
  BENCH_OK(model.Forward(*states, tokens, length));  // warm-up: cuBLAS picks its kernels
  BENCH_ASSIGN(std::vector<float> logits, states->Logits());
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) BENCH_OK(model.Forward(*states, tokens, length));
  BENCH_ASSIGN(logits, states->Logits());  // waits for the work
  const double seconds = Seconds(start) / repeats;
  BenchRow row;
  row.model = kModel;
  row.what = "prefill";
  row.dtype = "bf16";
  row.batch = static_cast<int>(batch);
  row.length = length;
  row.tokens_per_second = static_cast<double>(batch * length) / seconds;
  row.microseconds_per_step = seconds * 1e6;
  row.device_memory_mib = UsedMib();
  row.note = absl::StrCat("logits of the last token copied out; ", repeats, " runs");
  return row;
}

absl::StatusOr<BenchRow> Decode(Rwkv7CudaModel& model, int64_t batch, int steps, bool programmatic,
                                std::mt19937_64& random) {
  const Rwkv7Config& c = model.config();
  backends::cuda::SetRwkv7ProgrammaticLaunch(programmatic);  // read when the graph is captured
  BENCH_ASSIGN(std::unique_ptr<Rwkv7CudaBatch> states, model.NewBatch(batch));
  BENCH_OK(model.Forward(*states, Tokens(batch * 16, c.vocab_size, random), 16));  // a prompt
  BENCH_OK(model.Sample(*states, 0.0f, 0, 0));
  for (int i = 0; i < 3; ++i) {  // capture the graph, warm up
    BENCH_OK(model.StepSampled(*states));
    BENCH_OK(model.Sample(*states, 0.0f, 0, 0));
  }
  BENCH_ASSIGN(std::vector<int32_t> sampled, states->SampledTokens());
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) {
    BENCH_OK(model.StepSampled(*states));
    BENCH_OK(model.Sample(*states, 0.0f, 0, 0));
  }
  BENCH_ASSIGN(sampled, states->SampledTokens());
  const double seconds = Seconds(start) / steps;
  // Bytes one step must move: every weight but the embedding (of which `batch` rows are read),
  // each slot's state read and written, and the logits written and read by the sampler.
  const double d = static_cast<double>(c.d_model);
  const double embedding_bytes = static_cast<double>(c.vocab_size) * d * 2;
  const double state_bytes = static_cast<double>(c.n_layer) *
                             (static_cast<double>(c.n_head()) * c.head_size * c.head_size + 2 * d) *
                             4;
  const double bytes = static_cast<double>(model.weight_bytes()) - embedding_bytes +
                       batch * (d * 2 + 2 * state_bytes + 2.0 * c.vocab_size * 4);
  BenchRow row;
  row.model = kModel;
  row.what = "decode (greedy)";
  row.dtype = "bf16";
  row.batch = static_cast<int>(batch);
  row.length = steps;
  row.tokens_per_second = static_cast<double>(batch) / seconds;
  row.microseconds_per_step = seconds * 1e6;
  row.bandwidth_tb_s = bytes / seconds / 1e12;
  row.device_memory_mib = UsedMib();
  row.note = absl::StrCat(programmatic ? "PDL, " : "", "graph step + device argmax; ",
                          static_cast<int>(100 * row.bandwidth_tb_s / kPeakTbPerSecond),
                          "% of 4.3 TB/s for ", static_cast<int>(bytes / 1e6), " MB/step");
  return row;
}

// The WKV kernel alone on one layer's shapes: its bytes are the state in and out plus the six
// inputs and the output.
absl::StatusOr<BenchRow> WkvKernel(const Rwkv7Config& c, int64_t batch, int64_t length,
                                   int repeats) {
  const int64_t d = c.d_model, rows = batch * length;
  const int64_t state_floats = batch * c.n_head() * c.head_size * c.head_size;
  BENCH_ASSIGN(DeviceBuffer<float> inputs, DeviceBuffer<float>::Allocate(6 * rows * d));
  BENCH_ASSIGN(DeviceBuffer<float> state, DeviceBuffer<float>::Allocate(state_floats));
  BENCH_ASSIGN(DeviceBuffer<float> y, DeviceBuffer<float>::Allocate(rows * d));
  // r, w, k, v, kappa, a: decays below 1 and a unit-length kappa keep the state finite over
  // any number of repeats.
  std::vector<float> host;
  for (float value : {0.5f, 0.9f, 0.1f, 0.1f, 0.125f, 0.5f})
    host.resize(host.size() + rows * d, value);
  BENCH_OK(inputs.CopyFromHost(host.data(), host.size()));
  LLIVE_CUDA_RETURN_IF_ERROR(cudaMemset(state.data(), 0, state.bytes()), "zeroing");
  float* in = inputs.data();
  auto launch = [&]() {
    return backends::cuda::rwkv7::Wkv(in, in + rows * d, in + 2 * rows * d, in + 3 * rows * d,
                                      in + 4 * rows * d, in + 5 * rows * d, state.data(), batch,
                                      length, c.n_head(), c.head_size, y.data(), nullptr);
  };
  LLIVE_CUDA_RETURN_IF_ERROR(launch(), "WKV warm-up");
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  cudaEventRecord(start);
  for (int i = 0; i < repeats; ++i) LLIVE_CUDA_RETURN_IF_ERROR(launch(), "WKV");
  cudaEventRecord(stop);
  LLIVE_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(stop), "WKV timing");
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  const double seconds = ms / 1e3 / repeats;
  const double bytes = (2.0 * state_floats + 7.0 * rows * d) * 4;
  BenchRow row;
  row.model = kModel;
  row.what = "wkv kernel (1 layer)";
  row.dtype = "fp32";
  row.batch = static_cast<int>(batch);
  row.length = length;
  row.tokens_per_second = static_cast<double>(rows) / seconds;
  row.microseconds_per_step = seconds * 1e6;
  row.bandwidth_tb_s = bytes / seconds / 1e12;
  row.note =
      absl::StrCat(static_cast<int>(100 * row.bandwidth_tb_s / kPeakTbPerSecond), "% of 4.3 TB/s");
  return row;
}

// One sequence fed `total` tokens in pieces of `piece`: throughput and device memory.
absl::StatusOr<BenchRow> Stream(Rwkv7CudaModel& model, int64_t total, int64_t piece,
                                std::mt19937_64& random) {
  BENCH_ASSIGN(std::unique_ptr<Rwkv7CudaBatch> states, model.NewBatch(1));
  const std::vector<int32_t> tokens = Tokens(piece, model.config().vocab_size, random);
  BENCH_OK(model.Forward(*states, tokens, piece));
  BENCH_ASSIGN(std::vector<float> logits, states->Logits());
  const auto start = std::chrono::steady_clock::now();
  for (int64_t fed = 0; fed < total; fed += piece) {
    BENCH_OK(model.Forward(*states, tokens, piece));
  }
  BENCH_ASSIGN(logits, states->Logits());
  const double seconds = Seconds(start);
  BenchRow row;
  row.model = kModel;
  row.what = absl::StrCat("stream ", total / 1000, "k");
  row.dtype = "bf16";
  row.batch = 1;
  row.length = total;
  row.tokens_per_second = static_cast<double>(total) / seconds;
  row.device_memory_mib = UsedMib();
  row.note = absl::StrCat("pieces of ", piece, " tokens");
  return row;
}

absl::StatusOr<std::vector<BenchRow>> RunRwkv7Bench(const BenchOptions& options) {
  const Rwkv7Config c = gpu_check::Rwkv7Shape01B();
  std::mt19937_64 random(7);
  BENCH_ASSIGN(std::unique_ptr<Rwkv7CudaModel> model,
               Rwkv7CudaModel::Create(gpu_check::RandomRwkv7Weights(c, 1), WeightDtype::kBf16, 0));
  std::vector<BenchRow> rows;
  const int repeats = options.quick ? 2 : 5;
  for (int64_t batch : {1, 16}) {
    BENCH_ASSIGN(BenchRow row, Prefill(*model, batch, 2048, repeats, random));
    rows.push_back(row);
  }
  const int steps = options.quick ? 50 : 200;
  for (bool programmatic : {false, true}) {
    for (int64_t batch : {1, 8, 64, 256}) {
      BENCH_ASSIGN(BenchRow row, Decode(*model, batch, steps, programmatic, random));
      rows.push_back(row);
    }
  }
  backends::cuda::SetRwkv7ProgrammaticLaunch(true);  // the default
  for (auto [batch, length] :
       {std::pair<int64_t, int64_t>{1, 1}, {64, 1}, {256, 1}, {1, 2048}, {16, 2048}}) {
    BENCH_ASSIGN(BenchRow row, WkvKernel(c, batch, length, length == 1 ? 200 : 5));
    rows.push_back(row);
  }
  for (int64_t total : {int64_t{16384}, int64_t{131072}, int64_t{1048576}}) {
    if (options.quick && total > 131072) continue;
    BENCH_ASSIGN(BenchRow row, Stream(*model, total, 16384, random));
    rows.push_back(row);
  }
  return rows;
}

// Prefill at 16 x 2048 or decoding at batch 64 alone, for a profiler (ncu) to attach to.
absl::StatusOr<std::vector<BenchRow>> RunPrefill16(const BenchOptions& options) {
  const Rwkv7Config c = gpu_check::Rwkv7Shape01B();
  std::mt19937_64 random(7);
  BENCH_ASSIGN(std::unique_ptr<Rwkv7CudaModel> model,
               Rwkv7CudaModel::Create(gpu_check::RandomRwkv7Weights(c, 1), WeightDtype::kBf16, 0));
  BENCH_ASSIGN(BenchRow row, Prefill(*model, 16, 2048, options.quick ? 1 : 5, random));
  return std::vector<BenchRow>{row};
}
absl::StatusOr<std::vector<BenchRow>> RunDecode64(const BenchOptions& options) {
  const Rwkv7Config c = gpu_check::Rwkv7Shape01B();
  std::mt19937_64 random(7);
  BENCH_ASSIGN(std::unique_ptr<Rwkv7CudaModel> model,
               Rwkv7CudaModel::Create(gpu_check::RandomRwkv7Weights(c, 1), WeightDtype::kBf16, 0));
  BENCH_ASSIGN(BenchRow row, Decode(*model, 64, options.quick ? 20 : 200, true, random));
  return std::vector<BenchRow>{row};
}

const bool kRegistered = RegisterBenchGroup("rwkv7", &RunRwkv7Bench);
const bool kRegisteredPrefill16 = RegisterBenchGroup("rwkv7-prefill16", &RunPrefill16);
const bool kRegisteredDecode64 = RegisterBenchGroup("rwkv7-decode64", &RunDecode64);

}  // namespace
}  // namespace llive::gpu_bench
