#pragma once
// Which kernels this machine runs: the vectorised logarithm of the log-weight current
// and batch EM's matrix products, each chosen at run time for the CPU (or forced with the
// environment variables RATESIM_LOG and RATESIM_GEMM). `ratesim --version` and
// `ratesim fit --json` print them.

#include <string>

namespace ratesim {

struct kernel_report {
  std::string log;        // "scalar", "sse2", "avx2" or "avx512"
  std::string gemm;       // "openblas", "eigen-avx2" or "eigen-avx512"
  std::string blas_core;  // the core OpenBLAS chose for this CPU, e.g. "Haswell", "Prescott"
  std::string cpu;        // the instruction sets the dispatchers look for, e.g. "avx2 fma avx512f"
};

// Throws parameter_error if RATESIM_LOG or RATESIM_GEMM names an unknown kernel or one
// this machine lacks.
kernel_report kernels();

// {"log": "avx512", "gemm": "openblas", "blas_core": "Haswell", "cpu": "avx2 fma avx512f"}
std::string to_json(const kernel_report& k);

}  // namespace ratesim
