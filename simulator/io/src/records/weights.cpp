#include "records/builtin.hpp"

#include <ratesim/error.hpp>

namespace ratesim::records {

// The projection a projection record names.
std::string projection_parameter(const parameters& values, const std::string& label) {
  if (!values.contains("projection"))
    throw parameter_error(label + ": projection is required (a string)", {label, "projection", ""});
  return values.get("projection", "");
}

void weights(const record_context& context, const parameters& values) {
  const std::string label = "weights";
  const std::string proj = projection_parameter(values, label);
  values.require_all_used(label);
  context.recorder.record_weights(proj, context.when);
}

}  // namespace ratesim::records
