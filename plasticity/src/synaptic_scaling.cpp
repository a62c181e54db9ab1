#include <ratesim/error.hpp>
#include <ratesim/parallel.hpp>
#include <ratesim/plasticity/synaptic_scaling.hpp>

#include <fmt/format.h>

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
  p.divide_by = values.get("divide_by", p.divide_by);
  values.require_all_used("rule \"synaptic_scaling\"");
  return std::make_unique<synaptic_scaling_rule>(p);
}

namespace {

// dW_cd = (y_d − W_cd) q_c with q = `rate` (an array expression over the rows), one
// broadcast expression per block of columns, the blocks shared between the threads.
template <class Rate>
void scaling_derivative(matrix_view W, vector_view pre, const Rate& rate, matrix_span dWdt) {
  const auto columns = static_cast<std::size_t>(W.cols());
  const auto rows = static_cast<std::size_t>(W.rows());
  for_each_piece(columns, rows, [&](std::size_t first, std::size_t n) {
    const auto d = static_cast<Eigen::Index>(first), m = static_cast<Eigen::Index>(n);
    dWdt.middleCols(d, m).array() =
        ((-W.middleCols(d, m).array()).rowwise() + pre.segment(d, m).transpose().array())
            .colwise() *
        rate;
  });
}

}  // namespace

void synaptic_scaling_rule::derivative(matrix_view W, vector_view pre, vector_view post,
                                       matrix_span dWdt) const {
  if (!p_.divide_by.empty())
    throw usage_error(fmt::format("rule \"synaptic_scaling\": divides by \"{}\"; call "
                                  "derivative_with_post",
                                  p_.divide_by));
  // s_c (y_d − W_cd) / τ
  scaling_derivative(W, pre, post.array() / p_.tau, dWdt);
}

void synaptic_scaling_rule::derivative_with_post(matrix_view W, vector_view pre,
                                                 vector_view post, vector_view post_state,
                                                 matrix_span dWdt) const {
  if (p_.divide_by.empty()) return derivative(W, pre, post, dWdt);
  // s_c (y_d − W_cd) / (τ v_c / v̄), v̄ the mean of v over the population.
  check_divisor(post_state);
  const double mean = post_state.mean();
  scaling_derivative(W, pre, post.array() * (mean / p_.tau) / post_state.array(), dWdt);
}

bool synaptic_scaling_rule::scaling_form(vector_view /*pre*/, vector_view post,
                                         vector_view post_state, vector_span q) const {
  // The rates derivative() and derivative_with_post() multiply by, with their arithmetic.
  if (p_.divide_by.empty()) {
    q = post.array() / p_.tau;
  } else {
    check_divisor(post_state);
    const double mean = post_state.mean();
    q = post.array() * (mean / p_.tau) / post_state.array();
  }
  return true;
}

void synaptic_scaling_rule::check_divisor(vector_view post_state) const {
  // A divisor that is not finite and > 0 would turn the rule into nonsense (NaN, or
  // anti-Hebbian).
  for (Eigen::Index c = 0; c < post_state.size(); ++c)
    if (!(std::isfinite(post_state[c]) && post_state[c] > 0.0))
      throw numerical_error(
          fmt::format("rule \"synaptic_scaling\": divide_by \"{}\" must be finite and > 0, "
                      "got {} at unit {}",
                      p_.divide_by, post_state[c], c),
          {"rule \"synaptic_scaling\"", "divide_by", fmt::format("{}", post_state[c])});
}

bool synaptic_scaling_rule::step_sparse(matrix_span W, row_minima& row_min, vector_view pre,
                                        vector_view post, double factor,
                                        std::vector<Eigen::Index>& changed) const {
  // Row c changes by Δ_cd = factor · (y_d − W_cd) · s_c/τ, computed as derivative() and the
  // dense update do. Next to a normal w, the doubles are at least |w| 2^-53 apart, so
  // |Δ_cd| < 2^-54 |W_cd| rounds W_cd + Δ_cd back to W_cd. Since
  // |y_d − W_cd| <= |W_cd| (|y_d| / |W_cd| + 1) <= |W_cd| (max_d |y_d| / min_d |W_cd| + 1),
  // a row keeps every bit when its weights are normal (min_d |W_cd| = row_min_c is) and
  // |factor · s_c/τ| (‖y‖_∞ / row_min_c + 1) < 2^-54 (with a margin for the roundings):
  // a test per row, no pass over W. A row that fails it is updated with exactly the dense
  // arithmetic, so the bound being loose costs time, never a bit.
  //
  // The row-by-row update pays only when few rows move; otherwise the dense update
  // (vectorised, and bit-identical: the rows it would have skipped round back to
  // themselves) is faster.
  changed.clear();
  const Eigen::Index C = W.rows(), D = W.cols();
  constexpr double tiny = 0x1p-54 * (1.0 - 1e-12);
  const Eigen::Index most = std::max<Eigen::Index>(1, C / 8);
  // Rows whose bound fails even for y = 0: if there are too many, no row minimum is needed.
  if ((post.array().abs() * (std::abs(factor) / p_.tau) >= tiny).count() > most) return false;
  const vector& w_min = row_min.get();
  const double y_max = pre.cwiseAbs().maxCoeff();
  for (Eigen::Index c = 0; c < C; ++c) {
    const double q = post[c] / p_.tau;
    if (q == 0.0) continue;
    const double bound = std::abs(factor * q) * (y_max / w_min[c] + 1.0) * (1.0 + 1e-12);
    if (w_min[c] >= std::numeric_limits<double>::min() && bound < tiny) continue;
    if (static_cast<Eigen::Index>(changed.size()) == most) {
      changed.clear();
      return false;  // nothing changed yet: the dense path takes over
    }
    changed.push_back(c);
  }
  for (Eigen::Index c : changed) {
    const double q = post[c] / p_.tau;
    // Exactly the dense arithmetic: d = (y − W) · q, then W + factor · d.
    for (Eigen::Index d = 0; d < D; ++d) W(c, d) = W(c, d) + factor * ((pre[d] - W(c, d)) * q);
  }
  return true;
}

}  // namespace ratesim
