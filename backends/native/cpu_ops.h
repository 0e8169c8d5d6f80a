// CPU building blocks shared by the native models: matrix products through OpenBLAS and the
// element-wise functions of the Mamba and RWKV equations. All functions are pure (they write
// only their output arguments), so they may be called from several threads at once.
#pragma once

#include <cmath>
#include <cstdint>

namespace llive::backends::native::cpu {

// A PyTorch-layout linear layer over `rows` input rows:
//   y[r, o] = sum_i x[r * x_stride + i] * weight[o, i] + bias[o]
// x: [rows, in] with row stride `x_stride` (>= in), weight: [out, in], bias: [out] or null,
// y: [rows, out] contiguous. One row uses a matrix-vector product, several a matrix product.
void Linear(const float* x, int64_t rows, int64_t in, int64_t x_stride, const float* weight,
            int64_t out, const float* bias, float* y);

// y = x / sqrt(mean(x^2) + eps) * weight over one row of n values (y may alias x).
void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* y);

// x * sigmoid(x).
inline float Silu(float x) { return x / (1.0f + std::exp(-x)); }

// log(1 + exp(x)), returning x itself above 20 as PyTorch's softplus does (there the two
// agree to float precision and exp would overflow sooner or later).
inline float Softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

// exp(x) for 8 lanes at once is where the selective scan spends its time; this evaluates
// exp(x) for n values with AVX2 (relative error below 2e-7 over [-87, 88]; inputs below
// -87 give 0). out may alias x.
void ExpInPlace(float* x, int64_t n);

}  // namespace llive::backends::native::cpu
