#include "builtin.hpp"

#include <ratesim/error.hpp>
#include <ratesim/mixture/bars.hpp>
#include <ratesim/mixture/poisson_mixture.hpp>

#include <fmt/format.h>

namespace ratesim::stimuli {

std::unique_ptr<stimulus> bars(const stimulus_context& context, const parameters& values) {
  const std::string label = "bars";
  // The components (2 side × side²) and the samples (samples × side²) are generated in
  // memory: at most 10^8 values each, 800 MB.
  using d = bars_defaults;
  const double side = values.get_whole("side", d::side, 1, 256, label),
               bar = values.get("bar", d::bar), background = values.get("background", d::background),
               samples = values.get_whole("samples", d::samples, 1, 1e8, label);
  const pattern_set::params p = pattern_parameters(values, label);
  values.require_all_used(label);
  if (samples * side * side > 1e8)
    throw parameter_error(fmt::format("{}: samples × side² = {} values is too many (at most 10^8)",
                                      label, samples * side * side),
                          {label, "samples", fmt::format("{}", samples)});
  matrix patterns = sample_poisson_mixture(bars_components(int(side), bar, background),
                                           std::size_t(samples), context.rng)
                        .data;
  return std::make_unique<pattern_set>(std::move(patterns), p);
}

}  // namespace ratesim::stimuli
