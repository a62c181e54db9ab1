#pragma once
// Hebbian learning with synaptic scaling (Keck, Savin & Lücke 2012):
//
//   τ_W dW_cd/dt = s_c y_d − s_c W_cd
//
// With normalised input (Σ_d y_d = A), Σ_d dW_cd/dt = s_c (A − Σ_d W_cd) / τ_W: the row
// sums are kept at A and pulled back to A when perturbed. Registered as "synaptic_scaling".

#include <ratesim/rule.hpp>

#include <string>

namespace ratesim {

class synaptic_scaling_rule : public plasticity_rule {
 public:
  struct params {
    double tau = 1000.0;  // learning time constant τ_W [ms]
    // A variable v of the postsynaptic population whose relative value divides each
    // unit's step, τ dW_cd/dt = s_c (y_d − W_cd) v̄ / v_c with v̄ the mean of v; empty for
    // none. With v the learned prior π (intrinsic rule "priors", v̄ = 1/C) a unit learns at
    // the same pace whatever its share of the data, as in online EM with learned priors.
    std::string divide_by;
  };

  explicit synaptic_scaling_rule(params p);
  static std::unique_ptr<plasticity_rule> create(const parameters& values);

  std::string_view name() const override { return "synaptic_scaling"; }
  // W + f s (y − W)/τ = W (1 − f s/τ) + f s y/τ stays > 0 for s <= 1 when f <= τ.
  double largest_positive_step() const override { return p_.tau; }
  void derivative(matrix_view W, vector_view pre, vector_view post,
                  matrix_span dWdt) const override;
  std::string_view post_variable() const override { return p_.divide_by; }
  void derivative_with_post(matrix_view W, vector_view pre, vector_view post,
                            vector_view post_state, matrix_span dWdt) const override;
  // q = s/τ (or s v̄ / (τ v) with divide_by): dW/dt = (y − W) · q.
  bool scaling_form(vector_view pre, vector_view post, vector_view post_state,
                    vector_span q) const override;
  bool step_sparse(matrix_span W, row_minima& row_min, vector_view pre, vector_view post,
                   double factor, std::vector<Eigen::Index>& changed) const override;

 private:
  // Refuses a divide_by variable that is not finite and > 0 (numerical_error).
  void check_divisor(vector_view post_state) const;

  params p_;
};

}  // namespace ratesim
