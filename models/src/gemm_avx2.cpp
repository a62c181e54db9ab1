// Eigen's GEMM for AVX2 and FMA (this file is compiled with -mavx2 -mfma; see
// gemm_eigen.hpp for why that is safe).
#include "gemm_eigen.hpp"

#if !defined(__AVX2__) || !defined(__FMA__)
#error "gemm_avx2.cpp must be compiled with -mavx2 -mfma"
#endif

namespace ratesim::detail {

void dgemm_eigen_avx2(bool bt, long m, long n, long k, const double* a, long lda, const double* b,
                      long ldb, bool acc, double* c, long ldc) {
  gemm_entry(bt, m, n, k, a, lda, b, ldb, acc, c, ldc);
}
void sgemm_eigen_avx2(bool bt, long m, long n, long k, const float* a, long lda, const float* b,
                      long ldb, bool acc, float* c, long ldc) {
  gemm_entry(bt, m, n, k, a, lda, b, ldb, acc, c, ldc);
}

}  // namespace ratesim::detail
