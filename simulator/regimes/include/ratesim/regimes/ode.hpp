#pragma once
// The ODE regime: the whole state (every population and every plastic weight) integrated by
// an odeint stepper ("euler", "rk4", "dopri5" with error control), piecewise between input
// changes so that no step straddles two patterns. The network is the odeint system.
// Registered in regimes() as "ode" (simulator/regimes/src/regimes.cpp).

#include <ratesim/simulation.hpp>

#include <functional>
#include <memory>
#include <string>

namespace ratesim {

struct ode_options {
  std::string stepper = "rk4";  // name in steppers(): "euler", "rk4", "dopri5"
  double dt = 0.1;              // clock step [ms]: the step of euler and rk4, the largest of dopri5
  double abs_tol = 1e-8;        // dopri5 absolute error tolerance per step
  double rel_tol = 1e-8;        // dopri5 relative error tolerance per step
};

// Integrates the network's ODE from t0 = k0·dt to t1 = k1·dt, with inputs constant in
// between, and applies the rules' explicit constraints after every step. No step crosses
// a clock tick k·dt, so where a run is split (observers, run boundaries) never changes
// the result. `inputs_changed` says the input differs from the previous call's.
class integrator {
 public:
  virtual ~integrator() = default;
  virtual void advance(const network& net, vector& x, step_count k0, step_count k1, double dt,
                       bool inputs_changed) = 0;
  // What the integrator carries from one advance() to the next (e.g. dopri5's step
  // size), for checkpoints; keys start with "integrator.".
  virtual void save(checkpoint& /*c*/) const {}
  virtual void restore(const checkpoint& /*c*/) {}
};

using integrator_factory = std::function<std::unique_ptr<integrator>(const ode_options&)>;
registry<integrator_factory>& steppers();

class ode_simulation : public simulation {
 public:
  explicit ode_simulation(network& net, ode_options options = {});
  void run_steps(step_count n) override;
  // Moves every population to its fixed point for the present input (a clean start); the
  // network must be feedforward.
  void settle();
  const ode_options& options() const { return options_; }

 private:
  void save_regime(checkpoint& c) const override;
  void restore_regime(const checkpoint& c) override;

  ode_options options_;
  std::unique_ptr<integrator> integrator_;
};

}  // namespace ratesim
