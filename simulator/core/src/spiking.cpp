#include <ratesim/error.hpp>
#include <ratesim/network.hpp>
#include <ratesim/spiking.hpp>

#include <fmt/format.h>

#include <cmath>

namespace ratesim {

spiking_population::spiking_population(std::string kind, std::string name, std::size_t size,
                                       double tau_x, double trace_sum)
    : population(std::move(kind), std::move(name), size), tau_x_(tau_x), trace_sum_(trace_sum) {
  require_positive(label(), "tau_x", tau_x_);
  if (!(std::isfinite(trace_sum_) && trace_sum_ >= 0.0))
    throw_parameter_error(label(), "trace_sum", "finite and >= 0", trace_sum_);
}

std::vector<state_variable> spiking_population::state_variables() const {
  return {{"trace", 0, size(), "1"}};
}

void spiking_population::initial_state(vector_span x) const { x.setZero(); }

void spiking_population::rates(vector_view x, vector_span r) const {
  if (trace_sum_ == 0.0) {
    r = x;
    return;
  }
  const double total = x.sum();
  if (total > 0.0)
    r = (trace_sum_ / total) * x;
  else
    r.setConstant(trace_sum_ / static_cast<double>(size()));
}

void spiking_population::derivative(vector_view x, vector_view /*input*/,
                                    vector_span dxdt) const {
  dxdt = -x / tau_x_;
}

void spiking_population::fixed_point(vector_view /*input*/, vector_span x) const { x.setZero(); }

matrix spiking_population::settled_rates(matrix_view inputs) const {
  matrix out(size(), inputs.cols());
  vector p(size());
  for (Eigen::Index n = 0; n < inputs.cols(); ++n) {
    check_external_input(inputs.col(n), "pattern", n);
    spike_probabilities(inputs.col(n), p);
    const double scale = trace_sum_ > 0.0 ? trace_sum_ : tau_x_ * total_rate(inputs.col(n));
    out.col(n) = (scale / p.sum()) * p;
  }
  return out;
}

void refuse_spiking(const network& net, std::string_view label) {
  for (std::size_t i = 0; i < net.population_count(); ++i)
    if (const auto& p = net.get_population(i); dynamic_cast<const spiking_population*>(&p))
      throw usage_error(fmt::format("{}: {} is a spiking population; run it with regime "
                                    "\"spiking\"",
                                    label, p.label()));
}

}  // namespace ratesim
