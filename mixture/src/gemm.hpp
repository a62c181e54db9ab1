#pragma once
// Batch EM's matrix products on a kernel that fits the CPU, chosen once at run time:
// OpenBLAS, unless the core OpenBLAS picked for this CPU does not use its widest vectors
// (Debian's OpenBLAS 0.3.21 falls back to its SSE3 "Prescott" kernels on CPUs it does not
// know, and takes its AVX2 "Haswell" kernels on AMD CPUs with AVX-512); then Eigen's GEMM
// compiled for the widest instruction set the CPU has (gemm_kernels.hpp).
// RATESIM_GEMM=openblas|eigen-avx2|eigen-avx512 forces one. Private to the library.

#include "detail/cpu.hpp"
#include "gemm_kernels.hpp"

#include <string_view>

namespace ratesim::detail {

struct gemm_choice {
  const char* name;  // "openblas", "eigen-avx2", "eigen-avx512"
  gemm_function<double> dgemm;
  gemm_function<float> sgemm;
};

// The kernel in use; the first call chooses, and throws parameter_error if RATESIM_GEMM
// names an unknown kernel or one this machine lacks.
const gemm_choice& gemm_kernel();
// A given kernel (for tests and benchmarks); nullptr if unknown or not on this machine.
const gemm_choice* gemm_kernel_named(std::string_view name);
// Makes gemm_kernel() return `kernel` (one of gemm_kernel_named's) until the next call;
// nullptr goes back to the chosen one. For tests that compare EM across kernels; not
// while products run.
void use_gemm_kernel(const gemm_choice* kernel);

// The core OpenBLAS chose for this CPU (openblas_get_corename()), whether it has AVX2
// kernels (Haswell, Zen, SkylakeX, Cooperlake, SapphireRapids) and AVX-512 kernels
// (SkylakeX, Cooperlake, SapphireRapids), and whether it uses the widest vectors of a CPU
// with these features (the automatic choice keeps OpenBLAS then).
const char* blas_core();
bool blas_core_has_avx2(std::string_view core);
bool blas_core_has_avx512(std::string_view core);
bool blas_core_fits(std::string_view core, const cpu_features& features);

}  // namespace ratesim::detail
