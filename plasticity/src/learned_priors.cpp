#include <ratesim/error.hpp>
#include <ratesim/plasticity/learned_priors.hpp>

namespace ratesim {

namespace {
constexpr const char* label = "intrinsic rule \"priors\"";
}

learned_priors_rule::learned_priors_rule(params p) : p_(p) { require_positive(label, "tau", p_.tau); }

std::unique_ptr<intrinsic_rule> learned_priors_rule::create(const parameters& values) {
  params p;
  p.tau = values.get("tau", p.tau);
  values.require_all_used(label);
  return std::make_unique<learned_priors_rule>(p);
}

void learned_priors_rule::initial_state(vector_span theta) const {
  theta.setConstant(1.0 / static_cast<double>(theta.size()));
}

void learned_priors_rule::bias(vector_view theta, vector_span b) const {
  b = theta.array().log().matrix();
}

void learned_priors_rule::derivative(vector_view theta, vector_view rates,
                                     vector_span dtheta) const {
  dtheta = (rates - theta) / p_.tau;
}

void learned_priors_rule::constrain(vector_span theta) const {
  theta = theta.cwiseMax(relative_floor / static_cast<double>(theta.size()));
  theta /= theta.sum();
}

}  // namespace ratesim
