#include <ratesim/error.hpp>
#include <ratesim/signals.hpp>

namespace ratesim {
namespace {

std::atomic<int> caught_signal{0};
std::atomic<bool> installed{false};
static_assert(std::atomic<int>::is_always_lock_free, "set from a signal handler");

extern "C" void on_stop_signal(int signal) { caught_signal.store(signal); }

}  // namespace

stop_signals::stop_signals() {
  if (installed.exchange(true)) throw usage_error("stop_signals: one guard at a time");
  caught_signal.store(0);
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND | SA_RESTART;  // the second signal gets the default action
  sigaction(SIGINT, &action, &old_int_);
  sigaction(SIGTERM, &action, &old_term_);
}

stop_signals::~stop_signals() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  installed.store(false);
}

const std::atomic<int>& stop_signals::flag() const { return caught_signal; }

}  // namespace ratesim
