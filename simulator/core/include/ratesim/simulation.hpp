#pragma once
// Running a network: the base of every regime. A regime advances the network's state on one
// clock (an integer step count times dt) in one loop order: present the stimuli, integrate
// (or settle and update the weights), then let the observers that are due see the state.
// Observers also see the state a run starts from, and are flushed when a run returns.
//
// The built-in regimes are one file each in simulator/regimes/ (ratesim/regimes/ode.hpp,
// ratesim/regimes/quasi_static.hpp), registered by name in regimes(); a new regime derives
// from `simulation`, implements run_steps() with the protected helpers below, and is
// registered with regimes().add("name", factory) (docs/architecture.md).

#include <ratesim/network.hpp>
#include <ratesim/observer.hpp>
#include <ratesim/parameters.hpp>
#include <ratesim/registry.hpp>
#include <ratesim/types.hpp>

#include <atomic>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

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
  // The regime's name for messages and checkpoints, e.g. "quasi_static_simulation".
  const std::string& label() const { return label_; }

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
  // "simulation.regime"), the step at which each stimulus began ("network.stimulus_origin")
  // and the regime's own state. Take it when no run is going on
  // (e.g. after a pause).
  checkpoint save() const;
  // Takes a checkpoint back into a simulation of the same regime, clock step and network
  // structure; the next run_steps() goes on bit for bit as the saved run would have (the
  // stimuli present their patterns anew).
  // Observers attached now or later see only steps after the restored one. A checkpoint
  // refused (another structure, a damaged entry) leaves the simulation as it was.
  void restore(const checkpoint& c);

 protected:
  simulation(network& net, double dt, std::string label);

  // Number of steps of one presentation of stimulus slot i (or "never changes").
  step_count presentation_steps(std::size_t slot) const;
  // Presents the pattern each stimulus shows at the current step, where it changed, and
  // returns for how many steps (at most `limit`) all inputs stay constant from here. A
  // stimulus new to this simulation (or replaced by network::stimulate) starts with
  // presentation 0 at the current step.
  step_count update_inputs(step_count limit);
  // Set when an input changes; the ODE regime clears it when it hands it to the stepper.
  bool inputs_changed_ = false;

  // Shows the state to every observer due at a step in (after, steps_] that has not seen
  // this step yet.
  void observe(step_count after);
  // Hands the spikes of population i in the step that ends at clock step `step` (the
  // current step + 1 while the regime is in it) to every observer (observer::spikes).
  void report_spikes(step_count step, std::size_t population,
                     std::span<const std::uint32_t> units);
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
  void restore_from(const checkpoint& c);  // restore()'s work, which may stop halfway

  std::vector<observer*> observers_;
  std::vector<step_count> last_observed_;  // per observer; -1 before the first
  step_count seen_until_ = -1;  // the step new observers count as seen (restore)
  const std::atomic<int>* pause_flag_ = nullptr;

  // Where each of the network's stimuli is in its sequence, by slot.
  struct presenting {
    std::uint64_t generation = 0;  // the stimulus this is of (stimulus_slot::generation)
    step_count origin = -1;            // step at which presentation 0 began; -1: not yet
    step_count presented = -1;         // presentation now in the external input; -1: none
  };
  // The bookkeeping of every slot, new or replaced stimuli starting afresh.
  void sync_stimuli();
  std::vector<presenting> presenting_;
};

// Regimes by name, for experiment files ([run] regime = "...") and Python: a factory makes
// the simulation of a network from named parameters (dt and the regime's own) and checks
// them (parameters::require_all_used). Built in: "ode" and "quasi_static".
using regime_factory =
    std::function<std::unique_ptr<simulation>(network& net, const parameters& values)>;
registry<regime_factory>& regimes();

}  // namespace ratesim
