// GemmContext over cublasGemmEx.
#include "backends/native/cuda/cublas_gemm.h"

#include "absl/strings/str_cat.h"
#include "backends/native/cuda/skinny_gemm.h"

namespace llive::backends::cuda {

absl::StatusOr<std::unique_ptr<GemmContext>> GemmContext::Create(cudaStream_t stream,
                                                                 size_t workspace_bytes) {
  auto context = std::unique_ptr<GemmContext>(new GemmContext());
  context->stream_ = stream;
  LLIVE_CUBLAS_RETURN_IF_ERROR(cublasCreate(&context->handle_), "cublasCreate");
  absl::StatusOr<DeviceBuffer<uint8_t>> workspace =
      DeviceBuffer<uint8_t>::Allocate(workspace_bytes);
  if (!workspace.ok()) return workspace.status();
  context->workspace_ = *std::move(workspace);
  LLIVE_CUBLAS_RETURN_IF_ERROR(cublasSetStream(context->handle_, stream), "cublasSetStream");
  LLIVE_CUBLAS_RETURN_IF_ERROR(
      cublasSetWorkspace(context->handle_, context->workspace_.data(), context->workspace_.size()),
      "cublasSetWorkspace");
  // Plain fp32 products for fp32 weights (TF32 would miss the 1e-5 parity with the CPU path).
  LLIVE_CUBLAS_RETURN_IF_ERROR(cublasSetMathMode(context->handle_, CUBLAS_DEFAULT_MATH),
                               "cublasSetMathMode");
  return context;
}

GemmContext::~GemmContext() {
  if (handle_ != nullptr) cublasDestroy(handle_);
}

absl::Status GemmContext::Linear(const void* x, int64_t rows, int64_t in, int64_t ldx,
                                 const DeviceTensor& weight, int64_t out, void* y,
                                 WeightDtype y_dtype, int64_t ldy, float alpha, float beta) {
  if (rows == 0) return absl::OkStatus();
  if (rows < 0 || in <= 0 || out <= 0 || ldx < in || ldy < out ||
      weight.size() != static_cast<size_t>(in * out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("GEMM sizes do not agree: rows=", rows, " in=", in, " out=", out, " ldx=", ldx,
                     " ldy=", ldy, " weight elements=", weight.size()));
  }
  if (y_dtype != WeightDtype::kFp32 && y_dtype != weight.dtype()) {
    return absl::InvalidArgumentError(absl::StrCat("GEMM output type ", WeightDtypeName(y_dtype),
                                                   " with ", WeightDtypeName(weight.dtype()),
                                                   " weights: use fp32 or the weights' type"));
  }
  if (SkinnyLinearApplies(x, rows, in, ldx, weight.data())) {
    return SkinnyLinear(x, rows, in, ldx, weight.data(), weight.dtype(), out, y, y_dtype, ldy,
                        alpha, beta, stream_);
  }
  // Row-major y = x W^T is column-major y^T = W x^T: W^T of the column-major [in, out] view.
  LLIVE_CUBLAS_RETURN_IF_ERROR(
      cublasGemmEx(handle_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(out), static_cast<int>(rows),
                   static_cast<int>(in), &alpha, weight.data(), CudaDataType(weight.dtype()),
                   static_cast<int>(in), x, CudaDataType(weight.dtype()), static_cast<int>(ldx),
                   &beta, y, CudaDataType(y_dtype), static_cast<int>(ldy), CUBLAS_COMPUTE_32F,
                   CUBLAS_GEMM_DEFAULT),
      absl::StrCat("cublasGemmEx ", rows, "x", in, " by ", out, "x", in, " (",
                   WeightDtypeName(weight.dtype()), ")"));
  return absl::OkStatus();
}

}  // namespace llive::backends::cuda
