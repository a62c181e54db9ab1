#include <ratesim/error.hpp>
#include <ratesim/plasticity/oja.hpp>

namespace ratesim {

oja_rule::oja_rule(params p) : p_(p) { require_positive("rule \"oja\"", "tau", p_.tau); }

std::unique_ptr<plasticity_rule> oja_rule::create(const parameters& values) {
  params p;
  p.tau = values.get("tau", p.tau);
  values.require_all_used("rule \"oja\"");
  return std::make_unique<oja_rule>(p);
}

void oja_rule::derivative(matrix_view W, vector_view pre, vector_view post,
                          matrix_span dWdt) const {
  // r_c (x_d − r_c W_cd) / τ
  dWdt.array() = ((W.array().colwise() * -post.array()).rowwise() + pre.transpose().array())
                     .colwise() *
                 (post.array() / p_.tau);
}

}  // namespace ratesim
