#include <ratesim/error.hpp>
#include <ratesim/plasticity/bcm.hpp>

#include <fmt/format.h>

#include <cmath>
#include <utility>

namespace ratesim {

namespace {
constexpr const char* label = "rule \"bcm\"";
}

bcm_rule::bcm_rule(params p) : p_(std::move(p)) {
  require_positive(label, "tau", p_.tau);
  if (!std::isfinite(p_.theta)) throw_parameter_error(label, "theta", "finite", p_.theta);
}

std::unique_ptr<plasticity_rule> bcm_rule::create(const parameters& values) {
  params p;
  p.tau = values.get("tau", p.tau);
  p.theta = values.get("theta", p.theta);
  p.theta_from = values.get("theta_from", p.theta_from);
  if (values.contains("theta") && !p.theta_from.empty())
    throw parameter_error(fmt::format("{}: give theta (fixed) or theta_from (a variable), not both",
                                      label),
                          {label, "theta_from", p.theta_from});
  values.require_all_used(label);
  return std::make_unique<bcm_rule>(std::move(p));
}

void bcm_rule::derivative(matrix_view /*W*/, vector_view pre, vector_view post,
                          matrix_span dWdt) const {
  if (!p_.theta_from.empty())
    throw usage_error(fmt::format("{}: reads its threshold from \"{}\"; call "
                                  "derivative_with_post",
                                  label, p_.theta_from));
  // r_c (r_c − θ) / τ · x_d: an outer product
  dWdt.noalias() = (post.array() * (post.array() - p_.theta) / p_.tau).matrix() * pre.transpose();
}

void bcm_rule::derivative_with_post(matrix_view W, vector_view pre, vector_view post,
                                    vector_view post_state, matrix_span dWdt) const {
  if (p_.theta_from.empty()) return derivative(W, pre, post, dWdt);
  dWdt.noalias() =
      (post.array() * (post.array() - post_state.array()) / p_.tau).matrix() * pre.transpose();
}

}  // namespace ratesim
