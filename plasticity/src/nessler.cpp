#include <ratesim/plasticity/nessler.hpp>

#include "detail/random_math.hpp"

namespace ratesim {

std::unique_ptr<plasticity_rule> nessler_rule::create(const parameters& values) {
  params p;
  p.eta = values.get("eta", p.eta);
  values.require_all_used("rule \"nessler\"");
  return std::make_unique<nessler_rule>(p);
}

void nessler_rule::post_spike(matrix_span W, Eigen::Index c, vector_view pre,
                              double scale) const {
  // ratesim's own exponential (the same bits with every libm): e^a = 1 / e^−a for a > 0.
  const double step = eta() * scale;
  for (Eigen::Index d = 0; d < W.cols(); ++d) {
    const double a = step * (pre[d] / W(c, d) - 1.0);
    W(c, d) *= a <= 0.0 ? detail::exp_nonpositive(a) : 1.0 / detail::exp_nonpositive(-a);
  }
}

}  // namespace ratesim
