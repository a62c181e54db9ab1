#include "gemm.hpp"

#include "detail/cpu.hpp"

#include <cblas.h>

#include <array>
#include <atomic>
#include <type_traits>

namespace ratesim::detail {
namespace {

template <class T>
void gemm_openblas(bool b_transposed, long m, long n, long k, const T* a, long lda, const T* b,
                   long ldb, bool accumulate, T* c, long ldc) {
  const auto tb = b_transposed ? CblasTrans : CblasNoTrans;
  const T beta = accumulate ? T(1) : T(0);
  auto i = [](long v) { return static_cast<blasint>(v); };
  if constexpr (std::is_same_v<T, double>)
    cblas_dgemm(CblasColMajor, CblasNoTrans, tb, i(m), i(n), i(k), 1.0, a, i(lda), b, i(ldb), beta,
                c, i(ldc));
  else
    cblas_sgemm(CblasColMajor, CblasNoTrans, tb, i(m), i(n), i(k), 1.0f, a, i(lda), b, i(ldb),
                beta, c, i(ldc));
}

struct candidate {
  gemm_choice kernel;
  bool available;
};

std::array<candidate, 3> candidates() {
  const cpu_features& f = cpu();
  return {{{{"openblas", gemm_openblas<double>, gemm_openblas<float>}, true},
#if defined(__x86_64__)
           {{"eigen-avx2", eigen_avx2::kernels.dgemm, eigen_avx2::kernels.sgemm}, f.avx2 && f.fma},
           {{"eigen-avx512", eigen_avx512::kernels.dgemm, eigen_avx512::kernels.sgemm},
            f.avx512f && f.fma}}};
#else
           {{"eigen-avx2", nullptr, nullptr}, false},
           {{"eigen-avx512", nullptr, nullptr}, false}}};
#endif
}

}  // namespace

const char* blas_core() { return openblas_get_corename(); }

bool blas_core_has_avx2(std::string_view core) {
  for (std::string_view name : {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"})
    if (core == name) return true;
  return false;
}

bool blas_core_has_avx512(std::string_view core) {
  for (std::string_view name : {"SkylakeX", "Cooperlake", "SapphireRapids"})
    if (core == name) return true;
  return false;
}

bool blas_core_fits(std::string_view core, const cpu_features& f) {
  if (f.avx512f && f.fma) return blas_core_has_avx512(core);
  if (f.avx2 && f.fma) return blas_core_has_avx2(core);
  return true;  // no Eigen kernel to prefer
}

namespace {

std::atomic<const gemm_choice*> replacement{nullptr};

const gemm_choice& chosen_gemm_kernel() {
  static const gemm_choice chosen = [] {
    const auto all = candidates();
    std::array<kernel_option, all.size()> options;
    for (std::size_t i = 0; i < all.size(); ++i)
      options[i] = {all[i].kernel.name, all[i].available};
    // OpenBLAS where its core uses the CPU's widest vectors; else the widest Eigen kernel
    // the CPU runs (bench/RESULTS.md: on an AMD with AVX-512, where OpenBLAS 0.3.21 takes
    // its Haswell core, Eigen's AVX-512 kernel made EM's step 1.4-1.6x faster).
    std::size_t automatic = 0;
    if (!blas_core_fits(blas_core(), cpu()))
      for (std::size_t i = 1; i < all.size(); ++i)
        if (all[i].available) automatic = i;
    return all[choose_kernel("RATESIM_GEMM", options, automatic)].kernel;
  }();
  return chosen;
}

}  // namespace

const gemm_choice& gemm_kernel() {
  const gemm_choice* r = replacement.load(std::memory_order_relaxed);
  return r ? *r : chosen_gemm_kernel();
}

void use_gemm_kernel(const gemm_choice* kernel) {
  replacement.store(kernel, std::memory_order_relaxed);
}

const gemm_choice* gemm_kernel_named(std::string_view name) {
  static const auto all = candidates();
  for (const candidate& c : all)
    if (c.kernel.name == name && c.available) return &c.kernel;
  return nullptr;
}

}  // namespace ratesim::detail
