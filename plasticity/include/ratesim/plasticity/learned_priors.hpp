#pragma once
// Learned priors: each unit's bias is ln π_c, where π_c tracks the unit's average activity,
//
//   τ_π dπ_c/dt = r_c − π_c,     b_c = ln π_c,
//
// the online M-step of a mixture's prior (π_c = mean posterior of component c). With the
// softmax layer's posterior s_c and weight rule synaptic_scaling, the circuit is online EM
// for a Poisson mixture with non-uniform priors; its exact counterpart is batch EM with
// learned priors (em_options::learn_priors). π starts uniform, and after every step is
// floored at 1e-12 / size (so that ln π stays finite for a unit that never wins) and
// rescaled to Σ_c π_c = 1. A quasi-static step T/τ_π <= 1 keeps π >= 0 (a convex
// combination of π and r). Registered as "priors"; its variable is recorded as "prior".

#include <ratesim/intrinsic.hpp>

namespace ratesim {

class learned_priors_rule : public intrinsic_rule {
 public:
  struct params {
    double tau = 10.0;  // time constant τ_π [ms]
  };
  // The smallest π_c, times the number of units.
  static constexpr double relative_floor = 1e-12;

  explicit learned_priors_rule(params p);
  static std::unique_ptr<intrinsic_rule> create(const parameters& values);

  std::string_view name() const override { return "priors"; }
  std::string_view variable() const override { return "prior"; }
  void initial_state(vector_span theta) const override;
  void bias(vector_view theta, vector_span b) const override;
  void derivative(vector_view theta, vector_view rates, vector_span dtheta) const override;
  double largest_step() const override { return p_.tau; }
  bool has_constraint() const override { return true; }
  void constrain(vector_span theta) const override;

 private:
  params p_;
};

}  // namespace ratesim
