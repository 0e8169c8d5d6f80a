// The native models' linear layers with AVX2/FMA, for the shapes they have: few rows (decoding
// one or a batch of states, bound by memory bandwidth) up to a few hundred (chunked prefill).
// OpenBLAS picks its kernels by CPU model and falls back to SSE3 ones on processors it does not
// recognise (seen on this project's virtual machines), which halves prefill and decode speed;
// these kernels need only AVX2 and FMA, which llive's x86-64-v3 build assumes anyway.
#pragma once

#include <cstdint>

namespace llive::backends::native::cpu {

// y[r, o] = sum_i x[r * x_stride + i] * weight[o * in + i] + (bias ? bias[o] : 0)
// x: [rows, in] with row stride x_stride >= in, weight: [out, in] row-major, bias: [out] or
// null, y: [rows, out] contiguous (must not alias x). Threads over blocks of outputs with
// OpenMP; the weight block of each thread stays in its cache while all rows pass over it.
// Pure: safe to call from several threads at once.
void MatMulTransposedAvx2(const float* x, int64_t rows, int64_t in, int64_t x_stride,
                          const float* weight, int64_t out, const float* bias, float* y);

}  // namespace llive::backends::native::cpu
