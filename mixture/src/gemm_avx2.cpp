// Eigen's GEMM for AVX2 and FMA (this file is compiled with -mavx2 -mfma; see
// gemm_eigen.hpp for why that is safe).
#include "gemm_eigen.hpp"

#if !defined(__AVX2__) || !defined(__FMA__)
#error "gemm_avx2.cpp must be compiled with -mavx2 -mfma"
#endif

namespace ratesim::detail::eigen_avx2 {
constinit const gemm_entries kernels{gemm_entry<double>, gemm_entry<float>};
}
