#include "records/builtin.hpp"

namespace ratesim::records {

void weight_sums(const record_context& context, const parameters& values) {
  const std::string label = "weight_sums";
  const std::string proj = projection_parameter(values, label);
  values.require_all_used(label);
  context.recorder.record_weight_sums(proj, context.when);
}

}  // namespace ratesim::records
