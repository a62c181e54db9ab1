#pragma once
// Homeostatic intrinsic plasticity (Habenschuss, Bill & Nessler, NIPS 2012): each unit's
// bias b_c moves its activity toward a target,
//
//   τ_b db_c/dt = m − r_c        (m = 1/size unless given),
//
// so a unit that wins less often than m grows more excitable and one that wins more often
// less so. In a softmax layer Σ_c r_c = 1, so with m = 1/size the sum Σ_c b_c never
// changes: the rule only redistributes excitability. Registered as "homeostasis"; its
// variable is recorded as "bias".

#include <ratesim/intrinsic.hpp>

#include <optional>

namespace ratesim {

class homeostasis_rule : public intrinsic_rule {
 public:
  struct params {
    double tau = 20.0;              // time constant τ_b [ms]
    std::optional<double> target;   // m; 1 / (number of units) when absent
  };

  explicit homeostasis_rule(params p);
  static std::unique_ptr<intrinsic_rule> create(const parameters& values);

  std::string_view name() const override { return "homeostasis"; }
  std::string_view variable() const override { return "bias"; }
  void initial_state(vector_span theta) const override { theta.setZero(); }
  void bias(vector_view theta, vector_span b) const override { b = theta; }
  void derivative(vector_view theta, vector_view rates, vector_span dtheta) const override;

 private:
  params p_;
};

}  // namespace ratesim
