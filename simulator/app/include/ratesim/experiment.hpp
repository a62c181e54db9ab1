#pragma once
// An experiment described in a TOML file: populations, projections with their rules and
// initial weights, stimuli, the regime and its stepper, the run's length, what to record
// and where. `ratesim run FILE.toml` runs one; docs/config.md documents every key, and
// examples/keck2012.toml is the seed's circuit.
//
// Every key is checked: an unknown or misspelt key, a value of the wrong type and a value
// a component rejects are config_errors that name the file, line and column, the key and
// what was expected.

#include <ratesim/checkpoint_file.hpp>
#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/network.hpp>
#include <ratesim/simulation.hpp>

#include <atomic>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ratesim {

// Checkpoints and stopping (none of it changes the result, so none of it is part of the
// configuration).
struct run_control {
  std::string checkpoint;  // file to write checkpoints to; empty: none
  double checkpoint_every = 0.0;  // [ms] of simulated time between checkpoints; 0: only on stop
  const std::atomic<int>* stop = nullptr;  // non-zero stops the run (stop_signals::flag())
  double stop_at = std::numeric_limits<double>::infinity();  // [ms] stop here (or just after)
};

// Changes to an experiment file made before it is checked (`ratesim run --unset KEY
// --set KEY=VALUE`): first every key of `unset` is removed ("run.presentations", or a whole
// table: "projection.ff.rule"; a key that is not there is an error), then every value of
// `set` is changed or added ("projection.ff.rule.tau=500": a dotted key, "=", a TOML
// value; a bare word is taken as a string), each in the order given.
struct config_overrides {
  std::vector<std::string> unset;
  std::vector<std::string> set;
};

// `text` as a TOML basic string, quoted and escaped (for --set values and experiment
// files written by code).
std::string toml_quote(std::string_view text);

class experiment {
 public:
  // Reads `path`, applies `overrides`, then builds everything.
  static std::unique_ptr<experiment> load(const std::string& path,
                                          const config_overrides& overrides = {});
  // The same from text; `source` names it in messages.
  static std::unique_ptr<experiment> parse(std::string_view text, const std::string& source,
                                           const config_overrides& overrides = {});
  // Builds the experiment of a checkpoint to go on from where it stopped: from the
  // configuration in `config_path` (or, when empty, the one the checkpoint holds) with
  // `overrides`. Another ratesim version or an effective configuration that differs from
  // the checkpoint's is refused unless `force`; warnings() lists what force let pass. The
  // recorder appends to the run's output file, cut back to the checkpoint.
  static std::unique_ptr<experiment> resume(const checkpoint& from, const std::string& config_path,
                                            const config_overrides& overrides = {},
                                            bool force = false);

  ~experiment();

  network& net() { return *net_; }
  simulation& sim() { return *sim_; }
  // The recorder of [output] and [[record]], if any.
  hdf5_recorder* recorder() { return recorder_.get(); }
  // The number of clock steps the run takes, and the clock step [ms].
  step_count total_steps() const { return total_steps_; }
  // The configuration after the overrides, as TOML (stored in the output file).
  const std::string& effective_config() const { return effective_; }

  // Runs the experiment (the rest of it, after resume()); `progress`, if given, observes
  // it too. Writes checkpoints as `control` asks, and one when it stops early. Returns
  // true when the run is complete, false when it stopped (control.stop or stop_at).
  bool run(observer* progress = nullptr, const run_control& control = {});
  // The next `steps` clock steps as one run of the simulation's own, ending as a run ends
  // (the quasi-static regime applies an open mini-batch), as a call from Python does:
  // `ratesim rerun` replays the calls so. No checkpoints; `stop` (non-zero) stops it, and
  // then it returns false.
  bool run_steps(step_count steps, observer* progress, const std::atomic<int>* stop);
  // Everything needed to go on from the current step: the simulation's checkpoint, the
  // configuration and the recorder's sample counts.
  checkpoint save();
  // What resume() let pass because of `force`.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  experiment() = default;
  // Attaches the recorder before the first run (it makes its file then).
  void start_recording();
  friend class experiment_builder;

  std::unique_ptr<network> net_;
  std::unique_ptr<simulation> sim_;
  std::unique_ptr<hdf5_recorder> recorder_;
  bool recorder_attached_ = false;  // attached by the first run(), which makes its file
  step_count total_steps_ = 0;
  std::string effective_;
  std::vector<std::string> warnings_;
};

}  // namespace ratesim
