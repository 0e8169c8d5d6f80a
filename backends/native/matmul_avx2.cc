// A register-blocked AVX2/FMA kernel (3 rows x 4 outputs of 8-lane accumulators; 1 row x 8
// outputs when decoding) inside a cache-blocked loop (64 outputs at a time, all rows), threaded
// over output blocks.
#include "backends/native/matmul_avx2.h"

#include <immintrin.h>

#include <algorithm>

namespace llive::backends::native::cpu {
namespace {

constexpr int64_t kOutputBlock = 64;        // 64 x 768 floats = 192 KiB: stays in L2 over all rows
constexpr int64_t kParallelWork = 1 << 16;  // below this many weights, one thread is faster

inline float HorizontalSum(__m256 v) {
  __m128 low = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  low = _mm_add_ps(low, _mm_movehl_ps(low, low));
  low = _mm_add_ss(low, _mm_movehdup_ps(low));
  return _mm_cvtss_f32(low);
}

// y[r, k] for kRows rows starting at x and kOuts outputs starting at w.
template <int kRows, int kOuts>
inline void Tile(const float* x, int64_t x_stride, const float* w, int64_t in, const float* bias,
                 float* y, int64_t y_stride) {
  __m256 acc[kRows][kOuts];
  for (int r = 0; r < kRows; ++r) {
    for (int k = 0; k < kOuts; ++k) acc[r][k] = _mm256_setzero_ps();
  }
  int64_t i = 0;
  for (; i + 8 <= in; i += 8) {
    __m256 wv[kOuts];
    for (int k = 0; k < kOuts; ++k) wv[k] = _mm256_loadu_ps(w + k * in + i);
    for (int r = 0; r < kRows; ++r) {
      const __m256 xv = _mm256_loadu_ps(x + r * x_stride + i);
      for (int k = 0; k < kOuts; ++k) acc[r][k] = _mm256_fmadd_ps(wv[k], xv, acc[r][k]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int k = 0; k < kOuts; ++k) {
      float sum = HorizontalSum(acc[r][k]);
      for (int64_t j = i; j < in; ++j) sum += x[r * x_stride + j] * w[k * in + j];
      y[r * y_stride + k] = sum + (bias != nullptr ? bias[k] : 0.0f);
    }
  }
}

template <int kRows>
void Rows(const float* x, int64_t x_stride, const float* weight, int64_t in, const float* bias,
          int64_t begin, int64_t end, float* y, int64_t out) {
  int64_t o = begin;
  if (kRows == 1) {
    // Decoding: bound by memory bandwidth; eight weight rows streamed at once keep more loads
    // in flight (about 20% faster than four for the vocabulary head here).
    for (; o + 8 <= end; o += 8) {
      Tile<1, 8>(x, x_stride, weight + o * in, in, bias != nullptr ? bias + o : nullptr, y + o,
                 out);
    }
  }
  for (; o + 4 <= end; o += 4) {
    Tile<kRows, 4>(x, x_stride, weight + o * in, in, bias != nullptr ? bias + o : nullptr, y + o,
                   out);
  }
  for (; o < end; ++o) {
    Tile<kRows, 1>(x, x_stride, weight + o * in, in, bias != nullptr ? bias + o : nullptr, y + o,
                   out);
  }
}

}  // namespace

void MatMulTransposedAvx2(const float* x, int64_t rows, int64_t in, int64_t x_stride,
                          const float* weight, int64_t out, const float* bias, float* y) {
  const int64_t blocks = (out + kOutputBlock - 1) / kOutputBlock;
#pragma omp parallel for schedule(static) if (out * in >= kParallelWork && blocks > 1)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t begin = block * kOutputBlock;
    const int64_t end = std::min(out, begin + kOutputBlock);
    int64_t r = 0;
    for (; r + 3 <= rows; r += 3) {
      Rows<3>(x + r * x_stride, x_stride, weight, in, bias, begin, end, y + r * out, out);
    }
    if (rows - r == 2)
      Rows<2>(x + r * x_stride, x_stride, weight, in, bias, begin, end, y + r * out, out);
    if (rows - r == 1)
      Rows<1>(x + r * x_stride, x_stride, weight, in, bias, begin, end, y + r * out, out);
  }
}

}  // namespace llive::backends::native::cpu
