#pragma once
// The sliding threshold of BCM (Intrator & Cooper 1992): each unit keeps θ_c, the mean of
// its squared rate over about τ_θ,
//
//   τ_θ dθ_c/dt = r_c² − θ_c,
//
// for a weight rule to read (rule "bcm" with theta_from = "threshold"). It adds no bias to
// the unit's input. Registered as "sliding_threshold"; its variable is recorded as
// "threshold".

#include <ratesim/intrinsic.hpp>

namespace ratesim {

class sliding_threshold_rule : public intrinsic_rule {
 public:
  struct params {
    double tau = 100.0;    // time constant τ_θ [ms]
    double initial = 0.0;  // θ of a fresh network
  };

  explicit sliding_threshold_rule(params p);
  static std::unique_ptr<intrinsic_rule> create(const parameters& values);

  std::string_view name() const override { return "sliding_threshold"; }
  std::string_view variable() const override { return "threshold"; }
  void initial_state(vector_span theta) const override { theta.setConstant(p_.initial); }
  void bias(vector_view /*theta*/, vector_span b) const override { b.setZero(); }
  void derivative(vector_view theta, vector_view rates, vector_span dtheta) const override;
  // θ + f (r² − θ)/τ_θ is a mean of θ >= 0 and r² while f <= τ_θ.
  double largest_step() const override { return p_.tau; }

 private:
  params p_;
};

}  // namespace ratesim
