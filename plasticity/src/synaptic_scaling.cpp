#include <ratesim/error.hpp>
#include <ratesim/plasticity/synaptic_scaling.hpp>

namespace ratesim {

synaptic_scaling_rule::synaptic_scaling_rule(params p) : p_(p) {
  require_positive("rule \"synaptic_scaling\"", "tau", p_.tau);
}

std::unique_ptr<plasticity_rule> synaptic_scaling_rule::create(const parameters& values) {
  params p;
  p.tau = values.get("tau", p.tau);
  values.require_all_used("rule \"synaptic_scaling\"");
  return std::make_unique<synaptic_scaling_rule>(p);
}

void synaptic_scaling_rule::derivative(matrix_view W, vector_view pre, vector_view post,
                                       matrix_span dWdt) const {
  // s_c (y_d − W_cd) / τ, one broadcast expression: no temporaries.
  dWdt.array() = ((-W.array()).rowwise() + pre.transpose().array()).colwise() *
                 (post.array() / p_.tau);
}

}  // namespace ratesim
