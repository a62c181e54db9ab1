#pragma once
// `ratesim sweep`: one experiment over a grid of --set values (docs/mpi.md).
//
//   ratesim sweep CONFIG.toml --grid KEY=v1,v2 [--grid ...] [--unset KEY ...] [--set KEY=V ...] [--out DIR]
//                 [-j N] [--checkpoint-every MS]
//
// Each point of the grid is one `ratesim run` in a process of its own (one OpenMP thread),
// writing DIR/NAME.h5 (NAME from its values) with its checkpoint DIR/NAME.ckpt.h5 and its
// messages in DIR/NAME.log. The runs are shared out over the ranks of an MPI job (run i
// on rank i mod P), or over N local processes. A finished run leaves DIR/NAME.done; a
// failed one DIR/NAME.failed (its exit status), and the sweep goes on. Started again, a
// sweep skips the finished runs and resumes the others from their checkpoints. At the end
// DIR/summary.csv and DIR/summary.md list every run: its values, status, output file.

#include <ratesim/experiment.hpp>

#include <string>
#include <vector>

namespace ratesim::cli {

struct sweep_command {
  std::string config;
  std::vector<std::string> grid;       // "KEY=v1,v2,..."
  config_overrides overrides;          // --unset and --set, for every run
  std::vector<std::string> plugins;
  std::string out = "sweep";
  int jobs = 1;                 // local processes at a time (without MPI)
  double checkpoint_every = 0;  // [ms] passed to every run; 0: checkpoints only on stops
  bool quiet = false;
  // Recordings whose last sample goes into the summary, averaged over its values: a group
  // of the runs' files, e.g. "metrics/weight_sum_ff" or "output/rate".
  std::vector<std::string> metrics;
};

// Runs the sweep; `self` is this program (/proc/self/exe). Returns the exit code: 0 when
// every run finished, 1 when some failed, 128 + the signal when stopped by SIGINT/SIGTERM.
int run_sweep(const sweep_command& command, const std::string& self);

}  // namespace ratesim::cli
