// llive's own CUDA kernels for RWKV-7: everything of the forward pass but the matrix products
// of many rows (those go through cuBLAS; the few rows of a decode step through
// SmallBatchLinear below). Each kernel follows one step of Rwkv7Forward
// (backends/native/rwkv7_model.cc) and is checked against it by tests/gpu/rwkv7_checks.cc.
//
// Layouts: a block of `rows = batch * length` tokens, row = b * length + t, is [rows, D]
// row-major; the per-sequence state of one layer is shift [batch, D] and wkv [batch, H, N, N]
// (row = value index, column = key index, as in Rwkv7StateData). `Act` is the element type of
// the matrix-product inputs these kernels write (float, __nv_bfloat16 or __half: the weights'
// type, so that cuBLAS multiplies like with like); everything else is fp32.
//
// Every launcher enqueues on `stream` and returns the launch error (cudaSuccess when
// enqueued); none synchronises, so all of them can be captured into a CUDA graph.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace llive::backends::cuda::rwkv7 {

// Every kernel below is launched with programmatic dependent launch where
// cuda::ProgrammaticLaunch() is on (programmatic_launch.cuh), so that in a captured decode step
// each kernel starts while the one before it drains.

// x[r] = LayerNorm(embedding[tokens[r]]) with ln0. embedding: [vocab, D] of type `Weight`;
// tokens: [rows], already checked to lie in [0, vocab).
template <typename Weight>
cudaError_t EmbedLayerNorm(const int32_t* tokens, const Weight* embedding, const float* ln_weight,
                           const float* ln_bias, int64_t rows, int64_t d, float eps, float* x,
                           cudaStream_t stream);

// The input side of a time mix (lerps = 6: r, w, k, v, a, g) or channel mix (lerps = 1):
//   xa = LayerNorm(x);  prev = previous row of the same sequence, or shift[b] for t = 0;
//   mixed[l, row] = xa + (prev - xa) * mu[l]  for l < lerps;  shift[b] = xa of the last row.
// mu: [lerps, D]; mixed: [lerps, rows, D]. One pass over x; no block waits on another.
template <typename Act>
cudaError_t NormShiftLerp(const float* x, const float* ln_weight, const float* ln_bias,
                          const float* mu, int lerps, float* shift, int64_t batch, int64_t length,
                          int64_t d, float eps, Act* mixed, cudaStream_t stream);

// The per-head preparation of the WKV inputs, in place, one warp per (row, head):
//   w = exp(-exp(-0.5) sigmoid(w0 + w));  a = sigmoid(a0 + a);
//   v = v + (v_first - v) sigmoid(v0 + v_gate)   (layers > 0; layer 0 stores v_first = v);
//   kappa = L2normalise(k * k_k) per head;  k = k * (1 + (a - 1) k_a).
// All [rows, D] fp32; w0, a0, v0, k_k, k_a: [D]. `v_gate` and `v0` are null in layer 0.
struct WkvPrepare {
  float* w = nullptr;
  float* a = nullptr;
  float* k = nullptr;
  float* v = nullptr;
  float* kappa = nullptr;  // written
  float* v_first = nullptr;
  const float* v_gate = nullptr;
  const float *w0 = nullptr, *a0 = nullptr, *v0 = nullptr, *k_k = nullptr, *k_a = nullptr;
};
cudaError_t PrepareWkv(const WkvPrepare& p, int64_t rows, int64_t d, int64_t head_size,
                       cudaStream_t stream);

// The WKV recurrence of `length` tokens for each of `batch` sequences, per head:
//   S = S diag(w) - (S kappa) (kappa a)^T + v k^T;  y = S r
// state: [batch, H, N, N] fp32, carried in and out. r, w, k, v, kappa, a: [rows, D]; y:
// [rows, D]. One thread block per (sequence, head) holds S in registers for the whole run and
// stages the inputs through shared memory a chunk of tokens at a time, so a prefill costs one
// read and one write of the state however long it is, and any length works (the last chunk
// may be partial). head_size must be 32, 64 or 128 (InvalidValue otherwise).
cudaError_t Wkv(const float* r, const float* w, const float* k, const float* v, const float* kappa,
                const float* a, float* state, int64_t batch, int64_t length, int64_t heads,
                int64_t head_size, float* y, cudaStream_t stream);

// One token per sequence (a decode step): PrepareWkv, one step of Wkv and GroupNormBonusGate
// fused into one launch per (sequence, head), with the same equations and the same layouts
// (rows = batch). `p.kappa` is not used; p.w, p.a, p.k, p.v are only read (only p.v_first is
// written, in layer 0). r, g: [batch, D]; state: [batch, H, N, N]; out: [batch, D] in Act.
// head_size must be 32, 64 or 128.
struct WkvStepNorm {
  const float* r = nullptr;
  const float* g = nullptr;
  const float* ln_x_weight = nullptr;
  const float* ln_x_bias = nullptr;
  const float* r_k = nullptr;
};
template <typename Act>
cudaError_t WkvDecodeStep(const WkvPrepare& p, const WkvStepNorm& n, float* state, int64_t batch,
                          int64_t heads, int64_t head_size, float eps, Act* out,
                          cudaStream_t stream);

// After the recurrence, one warp per (row, head):
//   out = (GroupNorm(y) * ln_x_weight + ln_x_bias + (sum(r * k * r_k)) v) * g
// with the group norm's eps = head_size * eps (as the CPU path). out: [rows, D] in `Act`.
template <typename Act>
cudaError_t GroupNormBonusGate(const float* y, const float* r, const float* k, const float* v,
                               const float* g, const float* ln_x_weight, const float* ln_x_bias,
                               const float* r_k, int64_t rows, int64_t d, int64_t head_size,
                               float eps, Act* out, cudaStream_t stream);

// out[b] = LayerNorm(x[b * length + length - 1]): the last token of each sequence, before the
// head. out: [batch, D].
template <typename Act>
cudaError_t LastRowLayerNorm(const float* x, const float* ln_weight, const float* ln_bias,
                             int64_t batch, int64_t length, int64_t d, float eps, Act* out,
                             cudaStream_t stream);

// Several PyTorch-layout linear layers over the same few rows (decoding) in one launch:
//   y[r, o] (op)= sum_i f(x[r, i]) * weight[o, i],  r < rows <= kMaxSmallLinearRows.
// One warp per output column reads its weight row once with 16-byte loads and applies it to
// every row, so a decode step reads each weight once at close to the memory bandwidth, and
// the projections that share an input (r, k, v and the low-rank down matrices) or follow one
// activation (the low-rank up matrices, with tanh/sigmoid applied to x on load) cost one
// launch instead of one cuBLAS call each. `in` must be a multiple of 8 and every row of x and
// weight 16-byte aligned (InvalidValue otherwise); at most kMaxSmallLinears problems.
constexpr int kMaxSmallLinearRows = 16;
constexpr int kMaxSmallLinears = 8;
enum class SmallLinearInput { kAct, kFloat, kFloatTanh, kFloatSigmoid };
enum class SmallLinearOutput {
  kStore,          // y: float, y = product
  kAdd,            // y: float, y += product (a residual)
  kReluSquareAct,  // y: Act, y = relu(product)^2 (the channel mix's key)
};
struct SmallLinear {
  const void* x = nullptr;  // [rows, ldx]: Act for kAct, else float
  int64_t ldx = 0;
  SmallLinearInput input = SmallLinearInput::kAct;
  const void* weight = nullptr;  // [out, in] of Act
  int64_t in = 0;
  int64_t out = 0;
  void* y = nullptr;  // [rows, ldy]
  int64_t ldy = 0;
  SmallLinearOutput output = SmallLinearOutput::kStore;
};
template <typename Act>
cudaError_t SmallBatchLinear(const SmallLinear* problems, int count, int64_t rows,
                             cudaStream_t stream);

// The same activations for the cuBLAS path of many rows: out = f(in) over n values, f the
// identity (kFloat), tanh (kFloatTanh) or sigmoid (kFloatSigmoid); kAct is InvalidValue.
template <typename Act>
cudaError_t ActivateInto(const float* in, int64_t n, SmallLinearInput f, Act* out,
                         cudaStream_t stream);

// x = relu(x)^2 in place over n values: the channel mix's activation after cuBLAS wrote the
// key product in the weights' type.
template <typename Act>
cudaError_t ReluSquareInPlace(Act* x, int64_t n, cudaStream_t stream);

// tokens[b] = the next token from logits[b] ([batch, vocab] fp32): the argmax (lowest index
// among equal maxima) when temperature is 0, otherwise a draw from softmax(logits /
// temperature) by the Gumbel-max trick, whose noise is a hash of (seed, step, b, index), so a
// run is reproducible and needs no random state on the device.
cudaError_t SampleTokens(const float* logits, int64_t batch, int64_t vocab, float temperature,
                         uint64_t seed, uint64_t step, int32_t* tokens, cudaStream_t stream);

}  // namespace llive::backends::cuda::rwkv7
