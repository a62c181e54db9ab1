// Eigen's GEMM for AVX-512F and FMA (this file is compiled with -mavx512f -mfma; see
// gemm_eigen.hpp for why that is safe).
#include "gemm_eigen.hpp"

#if !defined(__AVX512F__) || !defined(__FMA__)
#error "gemm_avx512.cpp must be compiled with -mavx512f -mfma"
#endif

namespace ratesim::detail::eigen_avx512 {
constinit const gemm_entries kernels{gemm_entry<double>, gemm_entry<float>};
}
