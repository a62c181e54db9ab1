#include <ratesim/error.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ratesim {

void require_positive(std::string_view component, std::string_view parameter, double value) {
  if (!(std::isfinite(value) && value > 0.0))
    throw_parameter_error(component, parameter, "finite and > 0", value);
}

namespace detail {
void assertion_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "ratesim: internal assertion failed: %s (%s:%d)\n", condition, file, line);
  std::abort();
}
}  // namespace detail

}  // namespace ratesim
