#pragma once
// The matrix products of batch EM, through OpenBLAS (Debian's build picks its kernels for
// the CPU at run time, AVX2 and FMA where there are, and threads them), called directly
// rather than through Eigen's BLAS switch, which would change Eigen's templates in one
// translation unit only. Private to the library.

#include <ratesim/types.hpp>

#include <cblas.h>

namespace ratesim::blas {

// C = A · B (column-major views; C's storage is written whole).
template <class Out>
void product(matrix_view A, matrix_view B, Out&& C) {
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(A.rows()),
              static_cast<int>(B.cols()), static_cast<int>(A.cols()), 1.0, A.data(),
              static_cast<int>(A.outerStride()), B.data(), static_cast<int>(B.outerStride()),
              0.0, C.data(), static_cast<int>(C.outerStride()));
}

// C += A · Bᵀ.
template <class Out>
void add_product_transposed(matrix_view A, matrix_view B, Out&& C) {
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, static_cast<int>(A.rows()),
              static_cast<int>(B.rows()), static_cast<int>(A.cols()), 1.0, A.data(),
              static_cast<int>(A.outerStride()), B.data(), static_cast<int>(B.outerStride()),
              1.0, C.data(), static_cast<int>(C.outerStride()));
}

}  // namespace ratesim::blas
