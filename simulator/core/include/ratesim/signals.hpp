#pragma once
// Stopping a run cleanly on SIGINT (Ctrl-C) or SIGTERM (a batch system's time limit):
// while a stop_signals object lives, either signal only sets a flag, which a simulation
// watches (simulation::pause_on), so the run pauses at the next step, writes its
// checkpoint and recordings, and returns. A second signal acts as if no handler were
// installed (it ends the process), for a run that does not stop soon enough.
//
//   ratesim::stop_signals guard;
//   sim.pause_on(&guard.flag());

#include <atomic>
#include <csignal>

namespace ratesim {

class stop_signals {
 public:
  stop_signals();   // installs the handlers (one guard at a time)
  ~stop_signals();  // puts back the handlers that were there before
  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;

  // The signal number caught (SIGINT or SIGTERM), or 0.
  const std::atomic<int>& flag() const;
  int caught() const { return flag().load(); }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

}  // namespace ratesim
