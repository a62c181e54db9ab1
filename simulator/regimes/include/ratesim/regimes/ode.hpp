#pragma once
// The ODE regime: the whole state (every population and every plastic weight) integrated by
// a stepper ("euler", "rk4", "dopri5" with error control), piecewise between input changes
// so that no step straddles two patterns. The network is the odeint system; rk4 and
// dopri5 are odeint's steppers, and so is euler with exact_log. By default euler keeps the
// currents' caches between steps instead (a log-weight current's ln W following each
// step within 1e-12, simulator/regimes/src/steppers.cpp), which odeint's steppers, seeing
// only the state vector, cannot.
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
  // euler: a log-weight current's ln W computed anew from W at every step, instead of
  // following each step by a series (within 1e-12 of ln W, computed anew every 1,000 steps)
  bool exact_log = false;
};

// Integrates the network's ODE from t0 = k0·dt to t1 = k1·dt, with inputs constant in
// between, and applies the rules' explicit constraints after every step. No step crosses
// a clock tick k·dt, so where a run is split (observers, run boundaries) never changes
// the result. `inputs_changed` says the input differs from the previous call's. x is the
// network's state.
class integrator {
 public:
  virtual ~integrator() = default;
  // A run starts (the network's state may have been changed since the last one) and ends
  // (after the last advance() returned or threw; a run stopped by an observer's error
  // skips it, and the next start_run finds the state as it is); advance() is called only
  // in between.
  virtual void start_run(network& /*net*/) {}
  virtual void advance(network& net, vector& x, step_count k0, step_count k1, double dt,
                       bool inputs_changed) = 0;
  virtual void finish_run(network& /*net*/) {}
  // What the integrator carries from one run to the next (e.g. dopri5's step size), for
  // checkpoints, taken between runs; keys start with "integrator." or "ode.".
  virtual void save(const network& /*net*/, checkpoint& /*c*/) const {}
  virtual void restore(network& /*net*/, const checkpoint& /*c*/) {}
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
