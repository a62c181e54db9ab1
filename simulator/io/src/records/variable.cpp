#include "records/builtin.hpp"

#include <ratesim/error.hpp>

#include <cmath>
#include <optional>

namespace ratesim::records {

// The population a population record names.
std::string population_parameter(const parameters& values, const std::string& label) {
  if (!values.contains("population"))
    throw parameter_error(label + ": population is required (a string)", {label, "population", ""});
  return values.get("population", "");
}

void variable(const record_context& context, const parameters& values) {
  const std::string label = "variable";
  const std::string pop = population_parameter(values, label),
                    var = values.get("variable", "rate");
  std::optional<std::vector<std::size_t>> units;
  const std::vector<double> picked = values.get_numbers("units");  // asked for even when absent
  if (values.contains("units")) {
    units.emplace();
    for (double u : picked) {
      if (!(u >= 0 && u == std::floor(u) && u <= 1e9))
        throw parameter_error(label + ": units: expected unit indices (whole numbers >= 0)",
                              {label, "units", ""});
      units->push_back(std::size_t(u));
    }
  }
  values.require_all_used(label);
  context.recorder.record(pop, var, context.when, std::move(units));
}

}  // namespace ratesim::records
