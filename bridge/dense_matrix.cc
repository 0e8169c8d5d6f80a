// Dense products through OpenBLAS and its LAPACK; a small Cholesky solve by hand.
#include "bridge/dense_matrix.h"

#include <cblas.h>

#include <cmath>
#include <cstddef>

#include "absl/strings/str_cat.h"

// LAPACK's symmetric eigensolver (Fortran calling convention, with the hidden lengths of the
// two character arguments); OpenBLAS carries LAPACK, but Debian ships no LAPACKE header for it.
extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
                        double* w, double* work, const int* lwork, int* iwork, const int* liwork,
                        int* info, size_t jobz_length, size_t uplo_length);

namespace llive::bridge {

DenseMatrix Gram(const DenseMatrix& x) {
  DenseMatrix gram(x.rows, x.rows);
  if (x.rows == 0) return gram;
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, static_cast<int>(x.rows),
              static_cast<int>(x.cols), 1.0, x.values.data(), static_cast<int>(x.cols), 0.0,
              gram.values.data(), static_cast<int>(x.rows));
  for (int64_t r = 0; r < x.rows; ++r) {
    for (int64_t c = 0; c < r; ++c) gram.at(r, c) = gram.at(c, r);
  }
  return gram;
}

absl::StatusOr<SymmetricEigen> DecomposeSymmetric(const DenseMatrix& symmetric) {
  const int n = static_cast<int>(symmetric.rows);
  SymmetricEigen result;
  result.values.assign(n, 0.0);
  // Column-major storage of a symmetric matrix is the matrix itself; the eigenvectors come
  // back column-major, i.e. the transpose of what DenseMatrix holds.
  std::vector<double> a = symmetric.values;
  if (n == 0) return result;
  int info = 0;
  int lwork = -1;
  int liwork = -1;
  double work_query = 0;
  int iwork_query = 0;
  dsyevd_("V", "U", &n, a.data(), &n, result.values.data(), &work_query, &lwork, &iwork_query,
          &liwork, &info, 1, 1);
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  std::vector<double> work(lwork);
  std::vector<int> iwork(liwork);
  dsyevd_("V", "U", &n, a.data(), &n, result.values.data(), work.data(), &lwork, iwork.data(),
          &liwork, &info, 1, 1);
  if (info != 0) {
    return absl::InternalError(absl::StrCat("the eigen-decomposition of a ", n, "x", n,
                                            " kernel failed (LAPACK info ", info,
                                            "); the features may hold NaN or infinity"));
  }
  result.vectors = DenseMatrix(n, n);
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) result.vectors.at(r, c) = a[static_cast<size_t>(c) * n + r];
  }
  return result;
}

absl::StatusOr<std::vector<double>> SolveSymmetricPositiveDefinite(DenseMatrix a,
                                                                   std::vector<double> b) {
  const int64_t n = a.rows;
  // a = l lᵀ, l stored in the lower triangle of a.
  for (int64_t j = 0; j < n; ++j) {
    double diagonal = a.at(j, j);
    for (int64_t k = 0; k < j; ++k) diagonal -= a.at(j, k) * a.at(j, k);
    if (!(diagonal > 0.0)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "a ", n, "x", n, " system is not positive definite (pivot ", j, " is ", diagonal, ")"));
    }
    a.at(j, j) = std::sqrt(diagonal);
    for (int64_t i = j + 1; i < n; ++i) {
      double value = a.at(i, j);
      for (int64_t k = 0; k < j; ++k) value -= a.at(i, k) * a.at(j, k);
      a.at(i, j) = value / a.at(j, j);
    }
  }
  for (int64_t i = 0; i < n; ++i) {  // l y = b
    for (int64_t k = 0; k < i; ++k) b[i] -= a.at(i, k) * b[k];
    b[i] /= a.at(i, i);
  }
  for (int64_t i = n - 1; i >= 0; --i) {  // lᵀ x = y
    for (int64_t k = i + 1; k < n; ++k) b[i] -= a.at(k, i) * b[k];
    b[i] /= a.at(i, i);
  }
  return b;
}

}  // namespace llive::bridge
