// A dense row-major matrix of doubles and the few BLAS/LAPACK products the probes need.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace llive::bridge {

struct DenseMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<double> values;  // rows * cols, row-major

  DenseMatrix() = default;
  DenseMatrix(int64_t rows_in, int64_t cols_in)
      : rows(rows_in), cols(cols_in), values(rows_in * cols_in, 0.0) {}
  double* row(int64_t r) { return values.data() + r * cols; }
  const double* row(int64_t r) const { return values.data() + r * cols; }
  double& at(int64_t r, int64_t c) { return values[r * cols + c]; }
  double at(int64_t r, int64_t c) const { return values[r * cols + c]; }
};

// x xᵀ, [x.rows, x.rows] (OpenBLAS dsyrk, both triangles filled).
DenseMatrix Gram(const DenseMatrix& x);

// The eigen-decomposition of a symmetric matrix: `vectors` holds one eigenvector per column,
// `values` ascending (LAPACK dsyevd). Internal on LAPACK failure (it does not converge).
struct SymmetricEigen {
  std::vector<double> values;
  DenseMatrix vectors;
};
absl::StatusOr<SymmetricEigen> DecomposeSymmetric(const DenseMatrix& symmetric);

// Solves a x = b for a small symmetric positive definite a (Cholesky). FailedPrecondition
// when a is not positive definite.
absl::StatusOr<std::vector<double>> SolveSymmetricPositiveDefinite(DenseMatrix a,
                                                                   std::vector<double> b);

}  // namespace llive::bridge
