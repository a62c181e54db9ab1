#include <ratesim/error.hpp>
#include <ratesim/plasticity/sliding_threshold.hpp>

#include <cmath>

namespace ratesim {

namespace {
constexpr const char* label = "intrinsic rule \"sliding_threshold\"";
}

sliding_threshold_rule::sliding_threshold_rule(params p) : p_(p) {
  require_positive(label, "tau", p_.tau);
  if (!(std::isfinite(p_.initial) && p_.initial >= 0.0))
    throw_parameter_error(label, "initial", "finite and >= 0", p_.initial);
}

std::unique_ptr<intrinsic_rule> sliding_threshold_rule::create(const parameters& values) {
  params p;
  p.tau = values.get("tau", p.tau);
  p.initial = values.get("initial", p.initial);
  values.require_all_used(label);
  return std::make_unique<sliding_threshold_rule>(p);
}

void sliding_threshold_rule::derivative(vector_view theta, vector_view rates,
                                        vector_span dtheta) const {
  dtheta = ((rates.array().square() - theta.array()) / p_.tau).matrix();
}

}  // namespace ratesim
