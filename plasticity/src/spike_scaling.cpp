#include <ratesim/error.hpp>
#include <ratesim/plasticity/spike_scaling.hpp>

#include <fmt/format.h>

namespace ratesim {

spike_scaling_rule::spike_scaling_rule(params p, std::string_view name) : p_(p), name_(name) {
  // (η = 1 would set W_c· to x̂, whose entries are 0 for units that have not spiked yet.)
  if (!(p_.eta > 0.0 && p_.eta < 1.0))
    throw_parameter_error(fmt::format("rule \"{}\"", name_), "eta", "in (0, 1)", p_.eta);
}

std::unique_ptr<plasticity_rule> spike_scaling_rule::create(const parameters& values) {
  params p;
  p.eta = values.get("eta", p.eta);
  values.require_all_used("rule \"spike_scaling\"");
  return std::make_unique<spike_scaling_rule>(p);
}

void spike_scaling_rule::derivative(matrix_view W, vector_view pre, vector_view post,
                                    matrix_span dWdt) const {
  dWdt.array() = ((-W.array()).rowwise() + pre.transpose().array()).colwise() *
                 (p_.eta * post.array());
}

void spike_scaling_rule::post_spike(matrix_span W, Eigen::Index c, vector_view pre,
                                    double scale) const {
  const double step = p_.eta * scale;
  for (Eigen::Index d = 0; d < W.cols(); ++d) W(c, d) += step * (pre[d] - W(c, d));
}

}  // namespace ratesim
