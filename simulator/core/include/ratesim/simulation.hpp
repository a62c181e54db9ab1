#pragma once
// Running a network. Two regimes share one clock (an integer step count times dt) and one
// loop order: present the stimuli, integrate (or settle and update the weights), then let
// the observers that are due see the state. Observers also see the state a run starts
// from, and are flushed when a run returns.
//
//   ode_simulation           the whole state integrated by an odeint stepper ("euler",
//                            "rk4", "dopri5" with error control), piecewise between input
//                            changes so that no step straddles two patterns.
//   quasi_static_simulation  fast populations at their fixed points, one weight step
//                            ΔW = T · dW/dt (ε = T/τ) per pattern of duration T, optionally
//                            summed over mini-batches computed with the same weights.

#include <ratesim/network.hpp>
#include <ratesim/observer.hpp>
#include <ratesim/registry.hpp>
#include <ratesim/types.hpp>

#include <atomic>
#include <functional>
#include <limits>
#include <memory>
#include <string>

namespace ratesim {

class simulation {
 public:
  virtual ~simulation() = default;
  simulation(const simulation&) = delete;
  simulation& operator=(const simulation&) = delete;

  double dt() const { return dt_; }
  step_count steps() const { return steps_; }
  double time() const { return static_cast<double>(steps_) * dt_; }  // [ms]
  network& net() { return net_; }

  // Advances by `duration` ms, which must be a whole number of steps.
  void run(double duration);
  virtual void run_steps(step_count n) = 0;

  // Lets `o` see the network on its schedule from now on; `o` must outlive the simulation.
  void attach(observer& o);

  // ---- Pausing and checkpoints --------------------------------------------------------

  // Pauses runs: run_steps() returns early, with every observer flushed, once the clock
  // reaches `step` (the end of a presentation in the quasi-static regime) or `flag` is
  // non-zero (a signal handler may set it). A mini-batch then stays open, so that the next
  // run_steps() goes on exactly as if nothing had happened. never / nullptr: no pause.
  void pause_at(step_count step) { pause_at_ = step; }
  void pause_on(const std::atomic<int>* flag) { pause_flag_ = flag; }
  // Whether the last run_steps() returned early.
  bool paused() const { return paused_; }

  // Everything of the rest of the run that the simulation and its network hold: the
  // network's state (network::save), the clock ("simulation.steps", "simulation.dt",
  // "simulation.regime") and the regime's own state. Take it when no run is going on
  // (e.g. after a pause).
  checkpoint save() const;
  // Takes a checkpoint back into a simulation of the same regime, clock step and network
  // structure; the next run_steps() goes on bit for bit as the saved run would have.
  // Observers attached now or later see only steps after the restored one.
  void restore(const checkpoint& c);

 protected:
  simulation(network& net, double dt, std::string label);

  // Number of steps of one presentation of stimulus slot i (or "never changes").
  step_count presentation_steps(std::size_t slot) const;
  // Presents the pattern each stimulus shows at the current step, where it changed, and
  // returns for how many steps (at most `limit`) all inputs stay constant from here.
  step_count update_inputs(step_count limit);
  // Set when an input changes; the ODE regime clears it when it hands it to the stepper.
  bool inputs_changed_ = false;

  // Shows the state to every observer due at a step in (after, steps_] that has not seen
  // this step yet.
  void observe(step_count after);
  // The first step after the current one at which an observer is due.
  step_count next_observation() const;
  // Ends a run: flushes every observer.
  void finish_run();
  // Whether a pause is due (see pause_at); sets paused().
  bool pause_due();
  // The regime's part of save() and restore().
  virtual void save_regime(checkpoint& c) const = 0;
  virtual void restore_regime(const checkpoint& c) = 0;

  network& net_;
  double dt_;           // clock resolution [ms]
  step_count steps_ = 0;
  std::string label_;   // "ode_simulation", for messages
  step_count pause_at_ = std::numeric_limits<step_count>::max();
  bool paused_ = false;

 private:
  std::vector<observer*> observers_;
  std::vector<step_count> last_observed_;  // per observer; -1 before the first
  step_count seen_until_ = -1;  // the step new observers count as seen (restore)
  const std::atomic<int>* pause_flag_ = nullptr;
};

// ---- ODE regime -------------------------------------------------------------------------

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
  // Moves every population to its fixed point for the present input (a clean start).
  void settle();
  const ode_options& options() const { return options_; }

 private:
  void save_regime(checkpoint& c) const override;
  void restore_regime(const checkpoint& c) override;

  ode_options options_;
  std::unique_ptr<integrator> integrator_;
};

// ---- Quasi-static regime ----------------------------------------------------------------

struct quasi_static_options {
  double dt = 1.0;             // clock resolution [ms]; the stimulus duration T is a multiple
  std::size_t batch_size = 1;  // presentations whose weight steps are summed before applying
  // Skip weight rows whose update provably rounds away (rules with step_sparse); the
  // weights are bit-identical to the dense update's either way.
  bool exact_sparse = true;
};

class quasi_static_simulation : public simulation {
 public:
  explicit quasi_static_simulation(network& net, quasi_static_options options = {});
  // n must be a whole number of presentations.
  void run_steps(step_count n) override;
  void run_presentations(step_count n);
  // Presentations done so far.
  step_count presentations() const { return presentations_; }
  const quasi_static_options& options() const { return options_; }

 private:
  void save_regime(checkpoint& c) const override;
  void restore_regime(const checkpoint& c) override;
  // Steps of one presentation T; all stimuli must agree.
  step_count period() const;
  // Refuses a weight step that a rule says would overshoot weights below 0 under a
  // log-weight current (plasticity_rule::largest_positive_step).
  void check_step_size() const;
  void apply_batch();

  quasi_static_options options_;
  step_count presentations_ = 0;
  std::size_t pending_ = 0;  // presentations accumulated into batch_ but not yet applied
  vector dw_;                // dW/dt of one presentation, sized once
  vector batch_;             // summed ΔW of the pending presentations
};

}  // namespace ratesim
