#include <ratesim/mixture/kernels.hpp>

#include "detail/cpu.hpp"
#include "detail/vector_log.hpp"
#include "gemm.hpp"

#include <fmt/format.h>

namespace ratesim {

kernel_report kernels() {
  const detail::cpu_features& f = detail::cpu();
  std::string isa;
  for (auto [has, name] : {std::pair{f.avx2, "avx2"}, {f.fma, "fma"}, {f.avx512f, "avx512f"}})
    if (has) isa += fmt::format("{}{}", isa.empty() ? "" : " ", name);
  return {detail::log_floored_isa(), detail::gemm_kernel().name, detail::blas_core(), isa};
}

std::string to_json(const kernel_report& k) {
  // The names are fixed ASCII words: nothing to escape.
  return fmt::format(R"({{"log": "{}", "gemm": "{}", "blas_core": "{}", "cpu": "{}"}})", k.log,
                     k.gemm, k.blas_core, k.cpu);
}

}  // namespace ratesim
