#pragma once
// The BCM rule (Bienenstock, Cooper & Munro 1982):
//
//   τ dW_cd/dt = r_c (r_c − θ_c) x_d
//
// Potentiation when the postsynaptic rate exceeds the threshold θ_c, depression below it.
// θ is either fixed (`theta`, the same for every unit) or read from a variable of the
// postsynaptic population (`theta_from`), typically the intrinsic rule "sliding_threshold"
// (θ tracks the mean of r², Intrator & Cooper 1992), which makes the unit selective: with
// K equally frequent, linearly independent patterns it ends responding r = K to one of them
// and 0 to the others. Registered as "bcm".

#include <ratesim/rule.hpp>

#include <string>

namespace ratesim {

class bcm_rule : public plasticity_rule {
 public:
  struct params {
    double tau = 1000.0;     // learning time constant τ [ms]
    double theta = 1.0;      // a fixed threshold θ (a rate), when theta_from is empty
    std::string theta_from;  // a variable of the postsynaptic population holding θ_c
  };

  explicit bcm_rule(params p);
  static std::unique_ptr<plasticity_rule> create(const parameters& values);

  std::string_view name() const override { return "bcm"; }
  void derivative(matrix_view W, vector_view pre, vector_view post,
                  matrix_span dWdt) const override;
  std::string_view post_variable() const override { return p_.theta_from; }
  void derivative_with_post(matrix_view W, vector_view pre, vector_view post,
                            vector_view post_state, matrix_span dWdt) const override;

 private:
  params p_;
};

}  // namespace ratesim
