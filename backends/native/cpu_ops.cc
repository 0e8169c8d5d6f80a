// OpenBLAS-backed matrix products and vectorised element-wise functions for the CPU path.
#include "backends/native/cpu_ops.h"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>

namespace llive::backends::native::cpu {

void Linear(const float* x, int64_t rows, int64_t in, int64_t x_stride, const float* weight,
            int64_t out, const float* bias, float* y) {
  if (rows == 1) {
    // Decoding: the weight is streamed once; sgemv is bound by memory bandwidth.
    if (bias != nullptr) {
      std::copy(bias, bias + out, y);
    }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(out), static_cast<int>(in), 1.0f,
                weight, static_cast<int>(in), x, 1, bias != nullptr ? 1.0f : 0.0f, y, 1);
    return;
  }
  if (bias != nullptr) {
    for (int64_t r = 0; r < rows; ++r) {
      std::copy(bias, bias + out, y + r * out);
    }
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows),
              static_cast<int>(out), static_cast<int>(in), 1.0f, x, static_cast<int>(x_stride),
              weight, static_cast<int>(in), bias != nullptr ? 1.0f : 0.0f, y,
              static_cast<int>(out));
}

void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* y) {
  // Accumulate in double: the reference computes the mean in fp32 over up to thousands of
  // values, and a double sum keeps llive at least as close to the exact value.
  double sum_squares = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    sum_squares += static_cast<double>(x[i]) * x[i];
  }
  const float scale = static_cast<float>(1.0 / std::sqrt(sum_squares / n + eps));
  for (int64_t i = 0; i < n; ++i) {
    y[i] = x[i] * scale * weight[i];
  }
}

namespace {

// exp(x) = 2^k * exp(r), r = x - k ln2 in [-ln2/2, ln2/2], exp(r) by a degree-6 polynomial
// (Taylor coefficients; the truncation error is below 1e-8 on that interval).
inline __m256 Exp8(__m256 x) {
  const __m256 max_input = _mm256_set1_ps(88.0f);
  const __m256 min_input = _mm256_set1_ps(-87.0f);
  const __m256 underflow = _mm256_cmp_ps(x, min_input, _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, min_input), max_input);
  const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
  const __m256 k =
      _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // Two-part ln2 so that r is exact to float precision.
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.428606765330187e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i exponent =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  const __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(exponent));
  return _mm256_andnot_ps(underflow, result);
}

}  // namespace

void ExpInPlace(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(x + i, Exp8(_mm256_loadu_ps(x + i)));
  }
  for (; i < n; ++i) {
    x[i] = std::exp(x[i]);
  }
}

}  // namespace llive::backends::native::cpu
