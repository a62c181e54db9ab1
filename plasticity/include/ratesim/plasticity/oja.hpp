#pragma once
// Oja's rule (Oja 1982), applied to every postsynaptic unit independently:
//
//   τ dW_cd/dt = r_c x_d − r_c² W_cd
//
// For a linear unit it converges to the unit-norm principal eigenvector of the input's
// correlation matrix. Registered as "oja".

#include <ratesim/rule.hpp>

namespace ratesim {

class oja_rule : public plasticity_rule {
 public:
  struct params {
    double tau = 1000.0;  // learning time constant τ [ms]
  };

  explicit oja_rule(params p);
  static std::unique_ptr<plasticity_rule> create(const parameters& values);

  std::string_view name() const override { return "oja"; }
  void derivative(matrix_view W, vector_view pre, vector_view post,
                  matrix_span dWdt) const override;

 private:
  params p_;
};

}  // namespace ratesim
