// gpu_bench group "mamba-head-algos": the mamba-130m LM head (64 and 256 rows of 768 by the
// 50,280 x 768 head, bf16 operands, fp32 logits) through the GemmContext (cublasGemmEx's own
// choice, what the decode step runs) against every algorithm cuBLASLt's heuristic offers for
// the same product, each timed alone in the same process, with its largest difference from
// GemmContext's logits.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/native/cuda/cublas_gemm.h"
#include "backends/native/cuda/device_buffer.h"
#include "backends/native/cuda/device_tensor.h"
#include "bench/gpu_bench.h"

namespace llive::gpu_bench {
namespace {

using backends::cuda::DeviceBuffer;
using backends::cuda::DeviceTensor;
using backends::cuda::WeightDtype;

#define LT_OK(expr, what)                                                                  \
  do {                                                                                     \
    if (cublasStatus_t lt_status_ = (expr); lt_status_ != CUBLAS_STATUS_SUCCESS) {         \
      return absl::UnavailableError(absl::StrCat(what, ": cuBLASLt status ", lt_status_)); \
    }                                                                                      \
  } while (false)

// Microseconds a call of `call` over `repeats` calls after 3 untimed ones.
template <typename Call>
absl::StatusOr<double> TimeCalls(cudaStream_t stream, int repeats, Call call) {
  for (int i = 0; i < 3; ++i) BENCH_OK(call());
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  cudaEventRecord(start, stream);
  for (int i = 0; i < repeats; ++i) BENCH_OK(call());
  cudaEventRecord(stop, stream);
  const cudaError_t done = cudaEventSynchronize(stop);
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  if (done != cudaSuccess) return absl::UnavailableError(cudaGetErrorString(done));
  return 1000.0 * ms / repeats;
}

double MaxRelativeDifference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return scale > 0 ? worst / scale : worst;
}

absl::StatusOr<std::vector<BenchRow>> RunHeadAlgos(const BenchOptions& options) {
  const int64_t vocab = 50280, d_model = 768;
  const int repeats = options.quick ? 10 : 50;
  std::mt19937_64 random(11);
  std::normal_distribution<float> normal(0, 0.05f);
  std::vector<float> head(vocab * d_model);
  for (float& v : head) v = normal(random);
  absl::StatusOr<DeviceTensor> weights =
      DeviceTensor::Upload(head.data(), head.size(), WeightDtype::kBf16);
  if (!weights.ok()) return weights.status();
  cudaStream_t stream = nullptr;
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  absl::StatusOr<std::unique_ptr<backends::cuda::GemmContext>> gemm =
      backends::cuda::GemmContext::Create(stream);
  if (!gemm.ok()) return gemm.status();
  absl::StatusOr<DeviceBuffer<uint8_t>> workspace =
      DeviceBuffer<uint8_t>::Allocate(backends::cuda::GemmContext::kDefaultWorkspaceBytes);
  if (!workspace.ok()) return workspace.status();
  cublasLtHandle_t lt = nullptr;
  LT_OK(cublasLtCreate(&lt), "cublasLtCreate");
  std::vector<BenchRow> rows;
  for (int64_t m : {int64_t{64}, int64_t{256}}) {
    std::vector<float> input(m * d_model);
    for (float& v : input) v = 20 * normal(random);
    absl::StatusOr<DeviceTensor> x =
        DeviceTensor::Upload(input.data(), input.size(), WeightDtype::kBf16);
    absl::StatusOr<DeviceBuffer<float>> y = DeviceBuffer<float>::Allocate(m * vocab);
    if (!x.ok()) return x.status();
    if (!y.ok()) return y.status();
    const double bytes = static_cast<double>(weights->bytes() + x->bytes() + y->bytes());
    auto row = [&](double us, std::string note) {
      BenchRow r;
      r.model = "mamba-130m shape";
      r.what = absl::StrCat("LM head GEMM ", m, "x768 by 50280x768");
      r.dtype = "bf16";
      r.batch = static_cast<int>(m);
      r.length = 1;
      r.tokens_per_second = m / (us * 1e-6);
      r.microseconds_per_step = us;
      r.bandwidth_tb_s = bytes / (us * 1e-6) / 1e12;
      r.note = std::move(note);
      rows.push_back(r);
    };
    absl::StatusOr<double> own = TimeCalls(stream, repeats, [&] {
      return (*gemm)->Linear(x->data(), m, d_model, d_model, *weights, vocab, y->data(),
                             WeightDtype::kFp32, vocab);
    });
    if (!own.ok()) return own.status();
    std::vector<float> reference(m * vocab);
    cudaMemcpy(reference.data(), y->data(), y->bytes(), cudaMemcpyDeviceToHost);
    row(*own, "GemmContext (cublasGemmEx's choice)");

    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulPreference_t preference = nullptr;
    LT_OK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "matmul desc");
    const cublasOperation_t transpose = CUBLAS_OP_T, plain = CUBLAS_OP_N;
    LT_OK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &transpose,
                                         sizeof(transpose)),
          "transa");
    LT_OK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &plain, sizeof(plain)),
          "transb");
    // Column-major: logits^T [vocab, m] = head [d_model, vocab]^T x^T [d_model, m].
    LT_OK(cublasLtMatrixLayoutCreate(&a, CUDA_R_16BF, d_model, vocab, d_model), "layout a");
    LT_OK(cublasLtMatrixLayoutCreate(&b, CUDA_R_16BF, d_model, m, d_model), "layout b");
    LT_OK(cublasLtMatrixLayoutCreate(&c, CUDA_R_32F, vocab, m, vocab), "layout c");
    LT_OK(cublasLtMatmulPreferenceCreate(&preference), "preference");
    const size_t workspace_bytes = workspace->bytes();
    LT_OK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                               &workspace_bytes, sizeof(workspace_bytes)),
          "workspace preference");
    std::vector<cublasLtMatmulHeuristicResult_t> results(32);
    int found = 0;
    LT_OK(cublasLtMatmulAlgoGetHeuristic(lt, desc, a, b, c, c, preference,
                                         static_cast<int>(results.size()), results.data(), &found),
          "heuristic");
    const float alpha = 1.0f, beta = 0.0f;
    for (int i = 0; i < found; ++i) {
      if (results[i].state != CUBLAS_STATUS_SUCCESS) continue;
      const cublasLtMatmulAlgo_t* algo = &results[i].algo;
      cudaMemset(y->data(), 0, y->bytes());
      absl::StatusOr<double> us = TimeCalls(stream, repeats, [&]() -> absl::Status {
        LT_OK(cublasLtMatmul(lt, desc, &alpha, weights->data(), a, x->data(), b, &beta, y->data(),
                             c, y->data(), c, algo, workspace->data(), workspace_bytes, stream),
              "cublasLtMatmul");
        return absl::OkStatus();
      });
      if (!us.ok()) {
        row(0, absl::StrCat("heuristic ", i, ": ", us.status().message()));
        continue;
      }
      std::vector<float> logits(m * vocab);
      cudaMemcpy(logits.data(), y->data(), y->bytes(), cudaMemcpyDeviceToHost);
      int id = 0, tile = 0, split_k = 0, stages = 0, reduction = 0;
      size_t written = 0;
      cublasLtMatmulAlgoConfigGetAttribute(algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof(id),
                                           &written);
      cublasLtMatmulAlgoConfigGetAttribute(algo, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof(tile),
                                           &written);
      cublasLtMatmulAlgoConfigGetAttribute(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &split_k,
                                           sizeof(split_k), &written);
      cublasLtMatmulAlgoConfigGetAttribute(algo, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages,
                                           sizeof(stages), &written);
      cublasLtMatmulAlgoConfigGetAttribute(algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &reduction,
                                           sizeof(reduction), &written);
      row(*us, absl::StrCat("cuBLASLt heuristic ", i, ": algo ", id, " tile ", tile, " split-k ",
                            split_k, " stages ", stages, " reduction ", reduction, " workspace ",
                            results[i].workspaceSize, "; max diff ",
                            MaxRelativeDifference(logits, reference)));
    }
    cublasLtMatmulPreferenceDestroy(preference);
    cublasLtMatrixLayoutDestroy(a);
    cublasLtMatrixLayoutDestroy(b);
    cublasLtMatrixLayoutDestroy(c);
    cublasLtMatmulDescDestroy(desc);
  }
  cublasLtDestroy(lt);
  gemm->reset();
  cudaStreamDestroy(stream);
  return rows;
}

const bool kRegisteredHeadAlgos = RegisterBenchGroup("mamba-head-algos", &RunHeadAlgos);

}  // namespace
}  // namespace llive::gpu_bench
