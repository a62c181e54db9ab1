#pragma once
// The matrix products of batch EM, through OpenBLAS (Debian's build picks its kernels for
// the CPU at run time, AVX2 and FMA where there are, and threads them), called directly
// rather than through Eigen's BLAS switch, which would change Eigen's templates in one
// translation unit only. Private to the library.

#include <ratesim/types.hpp>

#include <cblas.h>

#include <type_traits>

namespace ratesim::blas {

inline void gemm(CBLAS_TRANSPOSE tb, int m, int n, int k, const double* a, int lda,
                 const double* b, int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasColMajor, CblasNoTrans, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc);
}
inline void gemm(CBLAS_TRANSPOSE tb, int m, int n, int k, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasColMajor, CblasNoTrans, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}

// OpenBLAS on one thread while it lives (EM runs its products on OpenMP's threads, each
// with data of its own), then as many as before.
class one_thread {
 public:
  one_thread() : before_(openblas_get_num_threads()) { openblas_set_num_threads(1); }
  ~one_thread() { openblas_set_num_threads(before_); }
  one_thread(const one_thread&) = delete;
  one_thread& operator=(const one_thread&) = delete;

 private:
  int before_;
};

// C = A · B, or C += A · Bᵀ with `accumulate_transposed` (column-major Eigen views of
// doubles or of floats).
template <class InA, class InB, class Out>
void product(const InA& A, const InB& B, Out&& C, bool accumulate_transposed = false) {
  using scalar = typename std::decay_t<Out>::Scalar;
  const auto n = accumulate_transposed ? B.rows() : B.cols();
  gemm(accumulate_transposed ? CblasTrans : CblasNoTrans, static_cast<int>(A.rows()),
       static_cast<int>(n), static_cast<int>(A.cols()), A.data(),
       static_cast<int>(A.outerStride()), B.data(), static_cast<int>(B.outerStride()),
       accumulate_transposed ? scalar(1) : scalar(0), C.data(), static_cast<int>(C.outerStride()));
}

}  // namespace ratesim::blas
