#include "builtin.hpp"

#include <ratesim/error.hpp>
#include <ratesim/population.hpp>

namespace ratesim::stimuli {

std::unique_ptr<stimulus> constant(const stimulus_context& context, const parameters& values) {
  const std::string label = "constant";
  const std::vector<double> value = values.get_numbers("value");
  if (value.empty())
    throw parameter_error(label + ": value is required (a number or an array of numbers)",
                          {label, "value", ""});
  values.require_all_used(label);
  vector v = Eigen::Map<const vector>(value.data(), Eigen::Index(value.size()));
  if (value.size() == 1) v = vector::Constant(Eigen::Index(context.target.size()), value[0]);
  return std::make_unique<constant_input>(std::move(v));
}

}  // namespace ratesim::stimuli
