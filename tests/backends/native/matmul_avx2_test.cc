// The AVX2 linear-layer kernel against a plain double-precision loop, over the edge cases of
// its blocking: rows not a multiple of 3, outputs not a multiple of 4 or of the 64-wide block,
// inputs not a multiple of 8, a row stride wider than the row, with and without bias.
#include "backends/native/matmul_avx2.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace llive::backends::native::cpu {
namespace {

TEST(MatMulAvx2Test, MatchesAPlainLoopOnEveryBlockingEdge) {
  for (int64_t rows : {1, 2, 3, 4, 5, 7}) {
    for (int64_t out : {1, 3, 4, 63, 64, 130}) {
      for (int64_t in : {1, 7, 8, 20, 96}) {
        for (bool with_bias : {false, true}) {
          const int64_t stride = in + 3;
          std::vector<float> x(rows * stride), w(out * in), bias(out), y(rows * out);
          for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.7 * i + 1.0);
          for (size_t i = 0; i < w.size(); ++i) w[i] = std::cos(0.3 * i);
          for (size_t i = 0; i < bias.size(); ++i) bias[i] = 0.5f - 0.01f * i;
          MatMulTransposedAvx2(x.data(), rows, in, stride, w.data(), out,
                               with_bias ? bias.data() : nullptr, y.data());
          for (int64_t r = 0; r < rows; ++r) {
            for (int64_t o = 0; o < out; ++o) {
              double expected = with_bias ? bias[o] : 0.0;
              for (int64_t i = 0; i < in; ++i) {
                expected += static_cast<double>(x[r * stride + i]) * w[o * in + i];
              }
              ASSERT_NEAR(y[r * out + o], expected, 1e-4 * (1.0 + std::abs(expected)))
                  << "rows " << rows << " out " << out << " in " << in << " at " << r << "," << o;
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace llive::backends::native::cpu
