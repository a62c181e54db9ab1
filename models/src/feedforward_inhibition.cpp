#include <ratesim/error.hpp>
#include <ratesim/models/feedforward_inhibition.hpp>

#include <fmt/format.h>

#include <cmath>

namespace ratesim {

feedforward_inhibition::feedforward_inhibition(std::string name, params p)
    : population("feedforward_inhibition", std::move(name), p.size), p_(p) {
  const auto D = static_cast<double>(p_.size);
  if (!(std::isfinite(p_.A) && p_.A > D))
    throw_parameter_error(label(), "A", fmt::format("> D = {}", p_.size), p_.A);
  require_positive(label(), "tau_y", p_.tau_y);
  require_positive(label(), "tau_h", p_.tau_h);
  require_positive(label(), "h0", p_.h0);
  gain_ = p_.A - D;
}

std::vector<state_variable> feedforward_inhibition::state_variables() const {
  return {{"h", 0, 1, "1"}, {"y", 1, size(), "1"}};
}

void feedforward_inhibition::initial_state(vector_span x) const {
  x[0] = p_.h0;
  x.tail(size()).setOnes();
}

void feedforward_inhibition::rates(vector_view x, vector_span r) const { r = x.tail(size()); }

void feedforward_inhibition::derivative(vector_view x, vector_view input,
                                        vector_span dxdt) const {
  const double h = x[0];
  dxdt[0] = (input.sum() - h) / p_.tau_h;
  dxdt.tail(size()) =
      ((gain_ / h) * input.array() + 1.0 - x.tail(size()).array()) / p_.tau_y;
}

void feedforward_inhibition::fixed_point(vector_view input, vector_span x) const {
  const double total = input.sum();
  x[0] = total;
  x.tail(size()) = ((gain_ / total) * input.array() + 1.0).matrix();
}

void feedforward_inhibition::check_external_input(vector_view pattern, std::string_view what,
                                                  step_count index) const {
  population::check_external_input(pattern, what, index);
  for (Eigen::Index d = 0; d < pattern.size(); ++d)
    if (pattern[d] < 0.0)
      throw input_error(fmt::format("{}: {} value {} must be >= 0, got {}", label(),
                                    describe(what, index), d, pattern[d]));
  if (!(pattern.sum() > 0.0))
    throw input_error(fmt::format("{}: {} is all zero; feedforward inhibition divides by its sum",
                                  label(), describe(what, index)));
}

matrix feedforward_inhibition::normalize(matrix_view raw) const {
  matrix y(raw.rows(), raw.cols());
  vector state(state_size());
  for (Eigen::Index n = 0; n < raw.cols(); ++n) {
    check_external_input(raw.col(n), "pattern", n);
    fixed_point(raw.col(n), state);
    y.col(n) = state.tail(size());
  }
  return y;
}

}  // namespace ratesim
