#pragma once
// Plain Hebbian growth with explicit multiplicative normalisation, the classic alternative
// to synaptic scaling (e.g. von der Malsburg 1973; Miller & MacKay 1994):
//
//   τ dW_cd/dt = r_c x_d,   then after every step   W_c ← A · W_c / Σ_d W_cd
//
// Registered as "normalized_hebbian".

#include <ratesim/rule.hpp>

namespace ratesim {

class normalized_hebbian_rule : public plasticity_rule {
 public:
  struct params {
    double tau = 1000.0;  // learning time constant τ [ms]
    double A = 1.0;       // the row sum Σ_d W_cd restored after every step
  };

  explicit normalized_hebbian_rule(params p);
  static std::unique_ptr<plasticity_rule> create(const parameters& values);

  std::string_view name() const override { return "normalized_hebbian"; }
  void derivative(matrix_view W, vector_view pre, vector_view post,
                  matrix_span dWdt) const override;
  bool has_constraint() const override { return true; }
  void constrain(matrix_span W) const override;

 private:
  params p_;
};

}  // namespace ratesim
