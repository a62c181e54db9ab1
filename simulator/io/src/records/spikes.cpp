#include "records/builtin.hpp"

namespace ratesim::records {

void spikes(const record_context& context, const parameters& values) {
  const std::string label = "spikes";
  const std::string pop = population_parameter(values, label);
  values.require_all_used(label);
  context.recorder.record_spikes(pop, context.when);
}

}  // namespace ratesim::records
