#include <ratesim/error.hpp>
#include <ratesim/plasticity/homeostasis.hpp>

#include <cmath>

namespace ratesim {

namespace {
constexpr const char* label = "intrinsic rule \"homeostasis\"";
}

homeostasis_rule::homeostasis_rule(params p) : p_(p) {
  require_positive(label, "tau", p_.tau);
  if (p_.target && !(std::isfinite(*p_.target) && *p_.target >= 0.0))
    throw_parameter_error(label, "target", "finite and >= 0", *p_.target);
}

std::unique_ptr<intrinsic_rule> homeostasis_rule::create(const parameters& values) {
  params p;
  p.tau = values.get("tau", p.tau);
  if (values.contains("target")) p.target = values.get("target", 0.0);
  values.require_all_used(label);
  return std::make_unique<homeostasis_rule>(p);
}

void homeostasis_rule::derivative(vector_view /*theta*/, vector_view rates,
                                  vector_span dtheta) const {
  const double m = p_.target ? *p_.target : 1.0 / static_cast<double>(rates.size());
  dtheta = ((m - rates.array()) / p_.tau).matrix();
}

}  // namespace ratesim
