#include "interrupt.hpp"

#include <ratesim/error.hpp>

#include <pybind11/pybind11.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace py = pybind11;

namespace ratesim::python {
namespace {

std::atomic<int> sigint_caught{0};
static_assert(std::atomic<int>::is_always_lock_free, "set from a signal handler");
int depth = 0;  // nested deferrals; changed with the GIL held

extern "C" void on_sigint(int) {
  sigint_caught.store(1);
}

// Whether SIGINT reaches a Python function here: on the main thread, with a handler that is
// neither SIG_IGN nor SIG_DFL (default_int_handler, which raises KeyboardInterrupt, or a
// script's own).
bool python_handles_sigint() {
  py::module_ threading = py::module_::import("threading");
  if (!threading.attr("current_thread")().is(threading.attr("main_thread")())) return false;
  py::object handler = py::module_::import("signal").attr("getsignal")(SIGINT);
  return PyCallable_Check(handler.ptr()) != 0;
}

// Hands a SIGINT over to Python: its handler runs at the next check.
void pass_to_python() {
  PyErr_SetInterruptEx(SIGINT);
}

}  // namespace

sigint_deferral::sigint_deferral() {
  if (depth++ > 0 || !python_handles_sigint()) return;
  sigint_caught.store(0);
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // file writes in recorders go on undisturbed
  installed_ = sigaction(SIGINT, &action, &python_handler_) == 0;
}

sigint_deferral::~sigint_deferral() {
  --depth;
  if (!installed_) return;
  sigaction(SIGINT, &python_handler_, nullptr);
  if (sigint_caught.exchange(0) != 0) pass_to_python();  // e.g. the run ended in an error
}

const std::atomic<int>* sigint_deferral::flag() const {
  return installed_ ? &sigint_caught : nullptr;
}

bool sigint_deferral::deliver() {
  if (!installed_ || sigint_caught.exchange(0) == 0) return false;
  pass_to_python();
  return PyErr_CheckSignals() != 0;
}

namespace {
// Simulations running now; read and changed with the GIL held.
std::set<const simulation*>& running_now() {
  static std::set<const simulation*> running;
  return running;
}
}  // namespace

bool running(const simulation& sim) { return running_now().count(&sim) > 0; }

void run_interruptibly(simulation& sim, const std::function<void()>& first,
                       const std::function<void()>& go_on, const std::function<void()>& report) {
  auto& running = running_now();
  if (!running.insert(&sim).second)
    throw usage_error(
        "this simulation is running already (in another thread, or it was "
        "called from inside its own run)");
  struct done {
    simulation& sim;
    ~done() {
      sim.pause_on(nullptr);
      sim.pause_at(observer::never);
      running_now().erase(&sim);
    }
  } cleanup{sim};
  sigint_deferral sigint;
  sim.pause_on(sigint.flag());
  // Reports: the steps between two reports double while they take less than `every`.
  using clock = std::chrono::steady_clock;
  constexpr auto every = std::chrono::milliseconds(200);
  step_count chunk = 1;
  for (bool started = false;; started = true) {
    const auto begun = clock::now();
    if (report) sim.pause_at(sim.steps() + chunk);
    {
      py::gil_scoped_release release;
      started ? go_on() : first();
    }
    if (sigint.deliver()) throw py::error_already_set();
    if (report) {
      report();
      const auto took = clock::now() - begun;
      if (took < every)
        chunk = std::min(2 * chunk, observer::never / 4);
      else if (took > 2 * every)
        chunk = std::max<step_count>(1, chunk / 2);
    }
    if (!sim.paused()) return;
  }
}

}  // namespace ratesim::python
