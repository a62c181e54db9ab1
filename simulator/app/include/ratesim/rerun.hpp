#pragma once
// Running again what an output file says ran (`ratesim rerun FILE --output NEW`,
// docs/python.md, "Rerunning"): the experiment in the file's `config` attribute, with its
// output sent to another file.
//
// A file of `ratesim run` holds the experiment file as it ran. A file a Recorder wrote
// from Python holds a description of the network built in Python (populations, rules,
// stimuli, the regime, what was recorded), the arrays it was given as /inputs/<name>
// (read back through the `file` weight initialiser and stimulus source) and
// /inputs/runs, one row per run call with network::fingerprint() at both ends. The rerun
// runs the same calls, and checks the fingerprints: before it starts (the description
// builds the network that ran), between the original's calls (nothing was changed from
// Python in between) and after each call (the rerun took the same steps, bit for bit).

#include <ratesim/experiment.hpp>

#include <string>
#include <vector>

namespace ratesim {

class rerun_plan {
 public:
  // Reads `file`. A file that says it cannot be rerun (attribute rerunnable), holds no
  // configuration, or whose runs were changed from Python between calls is a usage_error
  // that says why.
  explicit rerun_plan(const std::string& file);

  // The experiment, writing its traces to `output` (refused when it is the file itself;
  // an existing one only with `overwrite`).
  std::unique_ptr<experiment> build(const std::string& output, bool overwrite) const;
  // Runs `e` (from build) as the file's runs went, one run per call, checking the
  // fingerprints; a rerun that does not reproduce them is an error naming the step. `stop`
  // as in run_control: returns false when stopped.
  bool run(experiment& e, observer* progress, const std::atomic<int>* stop) const;

  // How a run call from Python ended (/inputs/runs, column 5).
  enum class ending { completed = 0, paused = 1, paused_in_a_mini_batch = 2 };
  // The run calls, as [first step, end step) with the fingerprints at both ends; empty
  // for a file of `ratesim run` (one run of the whole experiment).
  struct call {
    step_count first, end;
    std::uint64_t before, after;
    ending how;
  };
  const std::vector<call>& calls() const { return calls_; }

 private:
  std::string file_, config_;
  double dt_ = 0.0;  // the file's clock step [ms]
  std::vector<std::pair<std::string, std::string>> inputs_;  // key, dataset
  std::vector<call> calls_;
};

}  // namespace ratesim
