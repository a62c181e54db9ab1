#include <ratesim/error.hpp>
#include <ratesim/plasticity/normalized_hebbian.hpp>

namespace ratesim {

normalized_hebbian_rule::normalized_hebbian_rule(params p) : p_(p) {
  require_positive("rule \"normalized_hebbian\"", "tau", p_.tau);
  require_positive("rule \"normalized_hebbian\"", "A", p_.A);
}

std::unique_ptr<plasticity_rule> normalized_hebbian_rule::create(const parameters& values) {
  params p;
  p.tau = values.get("tau", p.tau);
  p.A = values.get("A", p.A);
  values.require_all_used("rule \"normalized_hebbian\"");
  return std::make_unique<normalized_hebbian_rule>(p);
}

void normalized_hebbian_rule::derivative(matrix_view /*W*/, vector_view pre, vector_view post,
                                         matrix_span dWdt) const {
  dWdt.noalias() = post * (pre.transpose() / p_.tau);
}

void normalized_hebbian_rule::constrain(matrix_span W) const {
  for (Eigen::Index c = 0; c < W.rows(); ++c) {
    const double sum = W.row(c).sum();
    if (sum > 0.0) W.row(c) *= p_.A / sum;  // an all-zero row has no direction to keep
  }
}

}  // namespace ratesim
