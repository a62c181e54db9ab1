#include <ratesim/error.hpp>
#include <ratesim/population.hpp>

#include <fmt/format.h>

#include <cmath>

namespace ratesim {

population::population(std::string kind, std::string name, std::size_t size)
    : kind_(std::move(kind)), name_(std::move(name)), size_(size) {
  if (name_.empty()) throw parameter_error(fmt::format("{}: name must not be empty", kind_));
  if (size_ == 0) throw_parameter_error(label(), "size", ">= 1", size_);
}

std::string population::label() const { return fmt::format("{} \"{}\"", kind_, name_); }

std::string population::describe(std::string_view what, step_count index) {
  return index < 0 ? std::string(what) : fmt::format("{} {}", what, index);
}

matrix population::settled_rates(matrix_view inputs) const {
  matrix out(size(), inputs.cols());
  vector state(state_size()), r(size());
  for (Eigen::Index n = 0; n < inputs.cols(); ++n) {
    fixed_point(inputs.col(n), state);
    rates(state, r);
    out.col(n) = r;
  }
  return out;
}

void population::check_external_input(vector_view pattern, std::string_view what,
                                      step_count index) const {
  if (static_cast<std::size_t>(pattern.size()) != size())
    throw input_error(fmt::format("{}: {} has {} values, the population has {} units", label(),
                                  describe(what, index), pattern.size(), size()));
  for (Eigen::Index d = 0; d < pattern.size(); ++d)
    if (!std::isfinite(pattern[d]))
      throw input_error(fmt::format("{}: {} value {} must be finite, got {}", label(),
                                    describe(what, index), d, pattern[d]));
}

std::size_t size_parameter(const parameters& values, std::string_view component) {
  const double size = values.get("size", 0.0);
  if (!(size >= 1.0 && size == std::floor(size) && size <= 1e8))
    throw_parameter_error(component, "size", "a whole number >= 1 and at most 10^8", size);
  return static_cast<std::size_t>(size);
}

}  // namespace ratesim
