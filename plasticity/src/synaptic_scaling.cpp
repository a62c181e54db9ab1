#include <ratesim/error.hpp>
#include <ratesim/plasticity/synaptic_scaling.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

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

bool synaptic_scaling_rule::step_sparse(matrix_span W, vector_view pre, vector_view post,
                                        double factor, std::vector<Eigen::Index>& changed) const {
  // Row c changes by Δ_cd = factor · (s_c/τ) (y_d − W_cd), computed as derivative() and the
  // dense update do. If |Δ_cd| < ulp(W_cd)/2 for every d, W_cd + Δ_cd rounds back to W_cd.
  // ulp(w) >= |w| 2^-53 for normal w, so |Δ_cd| <= factor (s_c/τ)(max|y| + max_d|W_cd|)
  // below 2^-54 min_d|W_cd| (with a margin for the roundings) leaves the row as it is.
  //
  // Rows are strided in the column-major W, so the row-by-row path pays only when few rows
  // move; otherwise the dense update (vectorised, and bit-identical: the rows it would
  // have skipped round back to themselves) is faster.
  changed.clear();
  const double y_max = pre.cwiseAbs().maxCoeff();
  constexpr double tiny = 0x1p-54 * (1.0 - 1e-12);
  const Eigen::Index most = std::max<Eigen::Index>(1, W.rows() / 8);
  for (Eigen::Index c = 0; c < W.rows(); ++c) {
    const double q = post[c] / p_.tau;
    if (q == 0.0) continue;
    const double w_min = W.row(c).cwiseAbs().minCoeff();
    const double bound =
        std::abs(factor * q) * (y_max + W.row(c).cwiseAbs().maxCoeff()) * (1.0 + 1e-12);
    if (w_min >= std::numeric_limits<double>::min() && bound < tiny * w_min) continue;
    if (static_cast<Eigen::Index>(changed.size()) == most) {
      changed.clear();
      return false;  // nothing changed yet: the dense path takes over
    }
    changed.push_back(c);
  }
  for (Eigen::Index c : changed) {
    const double q = post[c] / p_.tau;
    // Exactly the dense arithmetic: d = (y − W) · q, then W + factor · d.
    for (Eigen::Index d = 0; d < W.cols(); ++d)
      W(c, d) = W(c, d) + factor * ((pre[d] - W(c, d)) * q);
  }
  return true;
}

}  // namespace ratesim
