#include "builtin.hpp"

#include <ratesim/population.hpp>

namespace ratesim::initializers {

matrix uniform(const weight_context& context, const parameters& values) {
  const std::string label = "uniform";
  const double row_sum = row_sum_parameter(values, label);
  const double low = values.get_required("low", label), high = values.get_required("high", label);
  values.require_all_used(label);
  matrix W = uniform_weights(Eigen::Index(context.post.size()), Eigen::Index(context.pre.size()),
                             low, high, context.rng);
  if (row_sum > 0) normalize_rows(W, row_sum);
  return W;
}

}  // namespace ratesim::initializers
