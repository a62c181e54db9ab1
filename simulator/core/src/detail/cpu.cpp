#include "cpu.hpp"

#include <ratesim/error.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <string>

namespace ratesim::detail {

const cpu_features& cpu() {
  static const cpu_features features = [] {
    cpu_features f;
#if defined(__x86_64__)
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.avx512f = __builtin_cpu_supports("avx512f");
#endif
    return f;
  }();
  return features;
}

std::size_t choose_kernel(const char* variable, std::span<const kernel_option> options,
                          std::size_t automatic) {
  const char* value = std::getenv(variable);
  if (value == nullptr || *value == '\0') return automatic;
  const std::string_view wanted(value);
  std::string known, available;
  for (const kernel_option& o : options) {
    known += fmt::format("{}{}", known.empty() ? "" : ", ", o.name);
    if (o.available) available += fmt::format("{}{}", available.empty() ? "" : ", ", o.name);
  }
  for (std::size_t i = 0; i < options.size(); ++i) {
    if (options[i].name != wanted) continue;
    if (options[i].available) return i;
    throw parameter_error(fmt::format(
        "environment: {}={} is not available on this machine (its CPU, operating system or "
        "this build); available: {}",
        variable, wanted, available));
  }
  throw parameter_error(
      fmt::format("environment: {}={} is unknown; known: {}", variable, wanted, known));
}

}  // namespace ratesim::detail
