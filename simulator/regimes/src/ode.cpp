#include <ratesim/clock.hpp>
#include <ratesim/error.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/spiking.hpp>

#include "settling.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace ratesim {

ode_simulation::ode_simulation(network& net, ode_options options)
    : simulation(net, options.dt, "ode_simulation"), options_(std::move(options)) {
  refuse_spiking(net_, label_);
  require_positive(label_, "abs_tol", options_.abs_tol);
  require_positive(label_, "rel_tol", options_.rel_tol);
  try {
    integrator_ = steppers().get(options_.stepper)(options_);
  } catch (const lookup_error& e) {
    throw lookup_error(fmt::format("{}: stepper: {}", label_, e.what()));
  }
}

void ode_simulation::run_steps(step_count n) {
  if (n < 0 || n > max_steps - steps_)
    throw_parameter_error(label_, "steps", fmt::format(">= 0 and <= {}", max_steps - steps_), n);
  const step_count end = steps_ + n;
  vector& x = net_.state();
  net_.check_before_run(time());  // the state may have been changed since the last run
  integrator_->start_run(net_);
  paused_ = false;
  update_inputs(0);  // observers see the input of the state they observe
  observe(steps_);
  // Integration goes in pieces of about `piece_time` of wall-clock time (from one step to
  // 1000), so that a pause is seen soon on a network of any size (Ctrl-C from Python);
  // where the pieces end never changes the result.
  using clock = std::chrono::steady_clock;
  constexpr auto piece_time = std::chrono::milliseconds(20);
  constexpr step_count max_piece = 1000;
  step_count piece = 1;
  while (steps_ < end && !pause_due()) {
    const step_count limit = std::min({end, next_observation(), steps_ + piece,
                                       std::max(pause_at_, steps_ + 1)});
    const step_count hold = update_inputs(limit - steps_);
    const auto started = clock::now();
    try {
      integrator_->advance(net_, x, steps_, steps_ + hold, dt_, inputs_changed_);
    } catch (...) {  // a numerical error, or a rule written in Python that raised
      integrator_->finish_run(net_);
      finish_run();  // what was recorded up to here reaches the files
      throw;
    }
    const auto took = clock::now() - started;
    if (took > 2 * piece_time)
      piece = std::max<step_count>(1, piece / 2);
    else if (took < piece_time / 2 && hold == piece)
      piece = std::min(max_piece, 2 * piece);
    inputs_changed_ = false;
    steps_ += hold;
    observe(steps_);
  }
  integrator_->finish_run(net_);
  finish_run();
}

void ode_simulation::save_regime(checkpoint& c) const {
  c.set("ode.stepper", options_.stepper);
  integrator_->save(net_, c);
}

void ode_simulation::restore_regime(const checkpoint& c) {
  if (c.text("ode.stepper") != options_.stepper)
    throw usage_error(fmt::format("{}: the checkpoint was made with stepper {}, this one is {}",
                                  label_, c.text("ode.stepper"), options_.stepper));
  integrator_->restore(net_, c);
}

void ode_simulation::settle() {
  settling fixed_points(net_);  // refuses a network with a loop
  net_.check_before_run(time());
  update_inputs(1);
  fixed_points.settle();
}

}  // namespace ratesim
