#pragma once
// An experiment described in a TOML file: populations, projections with their rules and
// initial weights, stimuli, the regime and its stepper, the run's length, what to record
// and where. `ratesim run FILE.toml` runs one; docs/config.md documents every key, and
// examples/keck2012.toml is the seed's circuit.
//
// Every key is checked: an unknown or misspelt key, a value of the wrong type and a value
// a component rejects are config_errors that name the file, line and column, the key and
// what was expected.

#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/network.hpp>
#include <ratesim/simulation.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ratesim {

class experiment {
 public:
  // Reads `path`, applies `overrides` ("projection.ff.rule.tau=500": a dotted key, "=",
  // a TOML value; a bare word is taken as a string), then builds everything.
  static std::unique_ptr<experiment> load(const std::string& path,
                                          const std::vector<std::string>& overrides = {});
  // The same from text; `source` names it in messages.
  static std::unique_ptr<experiment> parse(std::string_view text, const std::string& source,
                                           const std::vector<std::string>& overrides = {});

  ~experiment();

  network& net() { return *net_; }
  simulation& sim() { return *sim_; }
  // The recorder of [output] and [[record]], if any.
  hdf5_recorder* recorder() { return recorder_.get(); }
  // The number of clock steps the run takes, and the clock step [ms].
  step_count total_steps() const { return total_steps_; }
  // The configuration after the overrides, as TOML (stored in the output file).
  const std::string& effective_config() const { return effective_; }

  // Runs the whole experiment; `progress`, if given, observes it too.
  void run(observer* progress = nullptr);

 private:
  experiment() = default;
  friend class experiment_builder;

  std::unique_ptr<network> net_;
  std::unique_ptr<simulation> sim_;
  std::unique_ptr<hdf5_recorder> recorder_;
  step_count total_steps_ = 0;
  std::string effective_;
};

}  // namespace ratesim
