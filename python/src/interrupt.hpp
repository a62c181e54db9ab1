#pragma once
// Long calls from Python: the GIL released while the engine runs, and Ctrl-C turned into
// KeyboardInterrupt within a presentation (or a piece of ODE steps), with the simulation
// left where a checkpoint could be taken, so that calling run again goes on from there.
//
// Python's own SIGINT handler only marks the signal; the mark is acted on when the main
// thread next runs Python code, which a run in C++ never does. So while a run goes on, a
// handler of ours takes SIGINT and sets the flag the simulation's pause mechanism watches
// (simulation::pause_on); when the run has paused, the signal is handed to Python's
// handler, which raises KeyboardInterrupt (or does whatever a script installed instead;
// if it returns, the run goes on).

#include <ratesim/simulation.hpp>

#include <atomic>
#include <csignal>
#include <functional>

namespace ratesim::python {

// While it lives, on Python's main thread and when Python handles SIGINT with a function
// of its own (not SIG_IGN or SIG_DFL), SIGINT only sets flag(). Only the outermost of
// nested deferrals (a Python rule running a simulation of its own) installs anything.
class sigint_deferral {
 public:
  sigint_deferral();
  ~sigint_deferral();  // puts Python's handler back; hands over a signal not delivered yet
  sigint_deferral(const sigint_deferral&) = delete;
  sigint_deferral& operator=(const sigint_deferral&) = delete;

  // The flag to pause on, or nullptr when this deferral installed nothing.
  const std::atomic<int>* flag() const;
  // Hands a caught SIGINT to Python's handler (the GIL held). Returns true when the
  // handler raised: the Python error is then set.
  bool deliver();

 private:
  bool installed_ = false;
  struct sigaction python_handler_ {};
};

// Runs `first()` with the GIL released and the simulation pausing on Ctrl-C. After a
// pause, Python's SIGINT handler runs: if it raises, so does this (py::error_already_set);
// if not, `go_on()` continues the run to its end, released again. With `report`, the run
// also pauses (pause_at) about every 0.2 s of wall-clock time and at its end to call
// report() with the GIL held; where it pauses never changes the result. Refuses a
// simulation that is already running (in another thread, or from a rule of its own).
void run_interruptibly(simulation& sim, const std::function<void()>& first,
                       const std::function<void()>& go_on,
                       const std::function<void()>& report = {});
// Whether `sim` is in run_interruptibly now (call with the GIL held).
bool running(const simulation& sim);

}  // namespace ratesim::python
