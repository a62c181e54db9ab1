#include <ratesim/error.hpp>
#include <ratesim/models/stochastic_wta.hpp>

#include "detail/random_math.hpp"

#include <cmath>

namespace ratesim {

stochastic_wta::stochastic_wta(std::string name, params p)
    : spiking_population("stochastic_wta", std::move(name), p.size, p.tau_x, p.trace_sum),
      p_(p) {
  if (!(std::isfinite(p_.R) && p_.R > 0.0))
    throw_parameter_error(label(), "R", "finite and > 0 [spikes/ms]", p_.R);
}

void stochastic_wta::spike_probabilities(vector_view input, vector_span p) const {
  const double shift = input.maxCoeff();
  for (Eigen::Index c = 0; c < input.size(); ++c)
    p[c] = detail::exp_nonpositive(input[c] - shift);
}

}  // namespace ratesim
