#pragma once
// Kernels chosen at run time by instruction set, and the environment variables that force
// one (RATESIM_LOG, RATESIM_GEMM): what the CPU and its OS support, and the choice.

#include <cstddef>
#include <span>
#include <string_view>

namespace ratesim::detail {

// What this CPU and its operating system support. GCC's __builtin_cpu_supports checks
// the OS's enabled register state (XCR0: the YMM registers for AVX, the ZMM and mask
// registers for AVX-512) as well as CPUID, so a kernel it allows can run here.
struct cpu_features {
  bool avx2 = false;     // AVX2 (Haswell, Zen and later)
  bool fma = false;      // fused multiply-add (FMA3), which every AVX2 CPU but a few has
  bool avx512f = false;  // AVX-512 Foundation (Skylake-X, Zen 4 and later)
};
const cpu_features& cpu();

// One of the implementations a dispatcher can run.
struct kernel_option {
  std::string_view name;
  bool available;  // on this CPU (and, for kernels of another library, in this build)
};

// The index of the option named by the environment variable `variable` when it is set
// and not empty, else `automatic`. Throws parameter_error naming the variable and its
// value when no option has that name, or when the named one is not available here.
std::size_t choose_kernel(const char* variable, std::span<const kernel_option> options,
                          std::size_t automatic);

}  // namespace ratesim::detail
