#include "builtin.hpp"

#include <ratesim/population.hpp>

namespace ratesim::initializers {

matrix constant(const weight_context& context, const parameters& values) {
  const std::string label = "constant";
  const double row_sum = row_sum_parameter(values, label);
  const double value = values.get_required("value", label);
  values.require_all_used(label);
  matrix W = matrix::Constant(Eigen::Index(context.post.size()), Eigen::Index(context.pre.size()),
                              value);
  if (row_sum > 0) normalize_rows(W, row_sum);
  return W;
}

}  // namespace ratesim::initializers
