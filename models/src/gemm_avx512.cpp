// Eigen's GEMM for AVX-512F and FMA (this file is compiled with -mavx512f -mfma; see
// gemm_eigen.hpp for why that is safe).
#include "gemm_eigen.hpp"

#if !defined(__AVX512F__) || !defined(__FMA__)
#error "gemm_avx512.cpp must be compiled with -mavx512f -mfma"
#endif

namespace ratesim::detail {

void dgemm_eigen_avx512(bool bt, long m, long n, long k, const double* a, long lda, const double* b,
                      long ldb, bool acc, double* c, long ldc) {
  gemm_entry(bt, m, n, k, a, lda, b, ldb, acc, c, ldc);
}
void sgemm_eigen_avx512(bool bt, long m, long n, long k, const float* a, long lda, const float* b,
                      long ldb, bool acc, float* c, long ldc) {
  gemm_entry(bt, m, n, k, a, lda, b, ldb, acc, c, ldc);
}

}  // namespace ratesim::detail
