#pragma once
// Hebbian learning with synaptic scaling (Keck, Savin & Lücke 2012):
//
//   τ_W dW_cd/dt = s_c y_d − s_c W_cd
//
// With normalised input (Σ_d y_d = A), Σ_d dW_cd/dt = s_c (A − Σ_d W_cd) / τ_W: the row
// sums are kept at A and pulled back to A when perturbed. Registered as "synaptic_scaling".

#include <ratesim/rule.hpp>

namespace ratesim {

class synaptic_scaling_rule : public plasticity_rule {
 public:
  struct params {
    double tau = 1000.0;  // learning time constant τ_W [ms]
  };

  explicit synaptic_scaling_rule(params p);
  static std::unique_ptr<plasticity_rule> create(const parameters& values);

  std::string_view name() const override { return "synaptic_scaling"; }
  // W + f s (y − W)/τ = W (1 − f s/τ) + f s y/τ stays > 0 for s <= 1 when f <= τ.
  double largest_positive_step() const override { return p_.tau; }
  void derivative(matrix_view W, vector_view pre, vector_view post,
                  matrix_span dWdt) const override;
  bool step_sparse(matrix_span W, row_minima& row_min, vector_view pre, vector_view post,
                   double factor, std::vector<Eigen::Index>& changed) const override;

 private:
  params p_;
};

}  // namespace ratesim
