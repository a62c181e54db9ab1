#include <ratesim/clock.hpp>
#include <ratesim/error.hpp>
#include <ratesim/simulation.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace ratesim {
namespace {

// `duration` [ms] as a whole number of steps of `dt` (infinity: never), or an error
// naming `what`.
step_count to_steps(double duration, double dt, std::string_view component,
                    std::string_view what) {
  if (std::isinf(duration) && duration > 0) return never;
  if (const auto n = exact_steps(duration, dt)) return *n;
  throw parameter_error(fmt::format("{}: {} = {} ms must be a whole number of steps dt = {} ms",
                                    component, what, duration, dt));
}

}  // namespace

simulation::simulation(network& net, double dt, std::string label)
    : net_(net), dt_(dt), label_(std::move(label)) {
  require_positive(label_, "dt", dt_);
  net_.state();  // lays out the state: the structure is fixed from here on
}

void simulation::run(double duration) {
  if (!std::isfinite(duration))
    throw_parameter_error(label_, "duration", "finite [ms]", duration);
  run_steps(to_steps(duration, dt_, label_, "duration"));
}

step_count simulation::presentation_steps(std::size_t slot) const {
  const double T = net_.stimuli()[slot].source->duration();
  const step_count n = to_steps(T, dt_, label_, "stimulus duration");
  if (n == 0)
    throw parameter_error(fmt::format("{}: stimulus duration {} ms is shorter than dt = {} ms",
                                      label_, T, dt_));
  return n;
}

step_count simulation::update_inputs(step_count limit) {
  step_count hold = limit;
  auto& slots = net_.stimuli();
  for (std::size_t i = 0; i < slots.size(); ++i) {
    auto& slot = slots[i];
    if (slot.origin < 0) slot.origin = steps_;
    const step_count period = presentation_steps(i);
    const step_count elapsed = steps_ - slot.origin;
    const step_count k = period == never ? 0 : elapsed / period;
    if (k != slot.presented) {
      net_.present(i, k);
      inputs_changed_ = true;
    }
    if (period != never) hold = std::min(hold, (k + 1) * period - elapsed);
  }
  return hold;
}

void simulation::attach(observer& o) {
  o.start(net_, dt_);
  observers_.push_back(&o);
  last_observed_.push_back(seen_until_);
}

bool simulation::pause_due() {
  paused_ = steps_ >= pause_at_ || (pause_flag_ && pause_flag_->load() != 0);
  return paused_;
}

// ---- Checkpoints ----------------------------------------------------------------------

checkpoint simulation::save() const {
  checkpoint c;
  net_.save(c);
  c.set("simulation.regime", label_);
  c.set_number("simulation.dt", dt_);
  c.set_integer("simulation.steps", steps_);
  save_regime(c);
  return c;
}

void simulation::restore(const checkpoint& c) {
  if (c.text("simulation.regime") != label_)
    throw usage_error(fmt::format("{}: the checkpoint is of a {}", label_,
                                  c.text("simulation.regime")));
  if (c.number("simulation.dt") != dt_)
    throw usage_error(fmt::format("{}: the checkpoint has dt = {} ms, this simulation {} ms",
                                  label_, c.number("simulation.dt"), dt_));
  const step_count steps = c.integer("simulation.steps");
  if (steps < 0 || steps > max_steps)
    throw input_error(fmt::format("{}: the checkpoint's step count is {}", label_, steps));
  for (std::int64_t origin : c.integers("network.stimulus_origin"))
    if (origin < -1 || origin > steps)
      throw input_error(fmt::format("{}: the checkpoint has a stimulus that began at step {}, "
                                    "outside [-1, {}]",
                                    label_, origin, steps));
  net_.restore(c, static_cast<double>(steps) * dt_);
  restore_regime(c);
  steps_ = steps;
  // Every observer saw the saved step before the checkpoint was taken.
  seen_until_ = steps_;
  std::fill(last_observed_.begin(), last_observed_.end(), steps_);
  inputs_changed_ = true;
}

void simulation::observe(step_count after) {
  for (std::size_t i = 0; i < observers_.size(); ++i) {
    if (last_observed_[i] == steps_) continue;
    const step_count due = observers_[i]->next_due(after);
    if (due <= steps_) {
      observers_[i]->observe(steps_, net_);
      last_observed_[i] = steps_;
    }
  }
}

step_count simulation::next_observation() const {
  step_count next = never;
  for (const observer* o : observers_) next = std::min(next, o->next_due(steps_ + 1));
  return next;
}

void simulation::finish_run() {
  for (observer* o : observers_) o->flush();
}

// ---- ODE regime -------------------------------------------------------------------------

ode_simulation::ode_simulation(network& net, ode_options options)
    : simulation(net, options.dt, "ode_simulation"), options_(std::move(options)) {
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
    } catch (const numerical_error&) {
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
  finish_run();
}

void ode_simulation::save_regime(checkpoint& c) const {
  c.set("ode.stepper", options_.stepper);
  integrator_->save(c);
}

void ode_simulation::restore_regime(const checkpoint& c) {
  if (c.text("ode.stepper") != options_.stepper)
    throw usage_error(fmt::format("{}: the checkpoint was made with stepper {}, this one is {}",
                                  label_, c.text("ode.stepper"), options_.stepper));
  integrator_->restore(c);
}

void ode_simulation::settle() {
  net_.check_feedforward();
  net_.check_before_run(time());
  update_inputs(1);
  net_.settle();
}

// ---- Quasi-static regime ----------------------------------------------------------------

quasi_static_simulation::quasi_static_simulation(network& net, quasi_static_options options)
    : simulation(net, options.dt, "quasi_static_simulation"), options_(options) {
  if (options_.batch_size == 0) throw_parameter_error(label_, "batch_size", ">= 1", 0);
  net_.check_feedforward();
  period();  // validates the stimuli now rather than at the first run
  check_step_size();
  dw_ = vector::Zero(net_.weight_count());
  batch_ = vector::Zero(net_.weight_count());
}

step_count quasi_static_simulation::period() const {
  auto& slots = net_.stimuli();
  if (slots.empty())
    throw usage_error(fmt::format("{}: needs a stimulus that presents patterns", label_));
  step_count common = never;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const step_count n = presentation_steps(i);
    if (n == never) continue;  // a constant input fits any period
    if (common != never && n != common)
      throw parameter_error(fmt::format(
          "{}: all stimuli must present patterns for the same duration, got {} and {} ms",
          label_, static_cast<double>(common) * dt_, static_cast<double>(n) * dt_));
    common = n;
  }
  if (common == never)
    throw usage_error(fmt::format(
        "{}: needs a stimulus with a finite presentation duration T (ε = T/τ)", label_));
  return common;
}

void quasi_static_simulation::check_step_size() const {
  const double duration = static_cast<double>(period()) * dt_;  // T [ms]
  const double step = duration * static_cast<double>(options_.batch_size) * net_.learning_rate_scale();
  for (const auto& p : net_.projections())
    if (p.plastic() && p.current().needs_positive_weights() &&
        step > p.rule()->largest_positive_step())
      throw parameter_error(
          fmt::format("{}: {}: a weight step of T · batch_size = {} ms (times the learning-rate "
                      "scale) exceeds what rule \"{}\" allows, {} ms (ε = T/τ must be <= 1): "
                      "weights would overshoot below 0 under its {} current",
                      label_, p.label(), step, p.rule()->name(), p.rule()->largest_positive_step(),
                      p.current().name()),
          {p.label(), "tau", fmt::format("{}", p.rule()->largest_positive_step())});
}

void quasi_static_simulation::run_steps(step_count n) {
  const step_count T = period();
  if (n < 0 || n % T != 0)
    throw parameter_error(fmt::format("{}: {} steps is not a whole number of presentations of "
                                      "{} steps",
                                      label_, n, T));
  run_presentations(n / T);
}

void quasi_static_simulation::run_presentations(step_count n) {
  const step_count T = period();
  if (n < 0 || n > (max_steps - steps_) / T)
    throw_parameter_error(label_, "presentations", fmt::format(">= 0 and <= {}", (max_steps - steps_) / T), n);
  const double duration = static_cast<double>(T) * dt_;  // T [ms]
  vector& x = net_.state();
  net_.forget_cached_currents();  // the weights may have been changed since the last run
  net_.check_before_run(time());
  check_step_size();
  paused_ = false;
  observe(steps_);
  for (step_count i = 0; i < n && !pause_due(); ++i) {
    update_inputs(T);
    net_.settle_incremental();
    if (options_.batch_size == 1) {
      net_.quasi_static_step(duration, options_.exact_sparse);
      net_.constrain(x);
    } else {
      net_.weight_derivative(dw_);
      batch_ += duration * dw_;
      if (++pending_ == options_.batch_size) apply_batch();
    }
    steps_ += T;
    try {
      net_.check_state(x, time());
    } catch (const numerical_error&) {
      finish_run();
      throw;
    }
    ++presentations_;
    // Observers due during the presentation see its end state (the weights then wait
    // for the rest of a mini-batch).
    observe(steps_ - T + 1);
  }
  if (!paused()) apply_batch();  // a run ends with every weight step applied
  finish_run();
}

void quasi_static_simulation::save_regime(checkpoint& c) const {
  c.set_integer("quasi_static.presentations", presentations_);
  c.set_integer("quasi_static.batch_size", static_cast<std::int64_t>(options_.batch_size));
  c.set_integer("quasi_static.pending", static_cast<std::int64_t>(pending_));
  c.set("quasi_static.batch", std::vector<double>(batch_.data(), batch_.data() + batch_.size()));
}

void quasi_static_simulation::restore_regime(const checkpoint& c) {
  const auto batch_size = c.integer("quasi_static.batch_size");
  const auto pending = c.integer("quasi_static.pending");
  const auto& batch = c.numbers("quasi_static.batch");
  if (batch_size != static_cast<std::int64_t>(options_.batch_size))
    throw usage_error(fmt::format("{}: the checkpoint has batch_size {}, this simulation {}",
                                  label_, batch_size, options_.batch_size));
  if (pending < 0 || pending >= batch_size || static_cast<Eigen::Index>(batch.size()) != batch_.size())
    throw input_error(fmt::format("{}: the checkpoint's mini-batch is damaged ({} pending, {} "
                                  "values for {} weights)",
                                  label_, pending, batch.size(), batch_.size()));
  presentations_ = c.integer("quasi_static.presentations");
  if (presentations_ < 0)
    throw input_error(fmt::format("{}: the checkpoint has {} presentations", label_, presentations_));
  pending_ = static_cast<std::size_t>(pending);
  batch_ = Eigen::Map<const vector>(batch.data(), batch_.size());
}

void quasi_static_simulation::apply_batch() {
  if (pending_ == 0) return;
  vector& x = net_.state();
  x.tail(net_.weight_count()) += batch_;
  batch_.setZero();
  pending_ = 0;
  net_.forget_cached_currents();
  net_.constrain(x);
}

}  // namespace ratesim
