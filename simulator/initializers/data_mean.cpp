#include "builtin.hpp"

#include <ratesim/error.hpp>
#include <ratesim/population.hpp>

#include <fmt/format.h>

namespace ratesim::initializers {

matrix data_mean(const weight_context& context, const parameters& values) {
  const std::string label = "data_mean";
  const double row_sum = row_sum_parameter(values, label);
  const double noise = values.get("noise", data_mean_noise);
  values.require_all_used(label);
  if (!context.patterns)
    throw parameter_error(fmt::format("{} needs a stimulus of patterns on \"{}\"", label,
                                      context.pre.name()),
                          {label, "init", label});
  if (!(row_sum > 0))
    throw parameter_error(fmt::format("{} needs row_sum > 0", label),
                          {label, "row_sum", fmt::format("{}", row_sum)});
  return data_mean_weights(context.pre.settled_rates(*context.patterns),
                           Eigen::Index(context.post.size()), noise, row_sum, context.rng);
}

}  // namespace ratesim::initializers
