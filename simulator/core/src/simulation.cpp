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
  const double T = net_.stimuli().at(slot).source->duration();
  const step_count n = to_steps(T, dt_, label_, "stimulus duration");
  if (n == 0)
    throw parameter_error(fmt::format("{}: stimulus duration {} ms is shorter than dt = {} ms",
                                      label_, T, dt_));
  return n;
}

void simulation::sync_stimuli() {
  const auto& slots = net_.stimuli();
  presenting_.resize(slots.size());
  for (std::size_t i = 0; i < slots.size(); ++i)
    if (presenting_[i].generation != slots[i].generation)
      presenting_[i] = presenting{slots[i].generation};
}

step_count simulation::update_inputs(step_count limit) {
  sync_stimuli();
  step_count hold = limit;
  const auto& slots = net_.stimuli();
  for (std::size_t i = 0; i < slots.size(); ++i) {
    auto& p = presenting_[i];
    if (p.origin < 0) p.origin = steps_;
    const step_count period = presentation_steps(i);
    const step_count elapsed = steps_ - p.origin;
    const step_count k = period == never ? 0 : elapsed / period;
    if (k != p.presented) {
      slots[i].source->pattern(k, net_.external_input(slots[i].target));
      p.presented = k;
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
  std::vector<std::int64_t> origins;  // a stimulus new since the last run has not begun
  const auto& slots = net_.stimuli();
  for (std::size_t i = 0; i < slots.size(); ++i)
    origins.push_back(i < presenting_.size() && presenting_[i].generation == slots[i].generation
                          ? presenting_[i].origin
                          : -1);
  c.set("network.stimulus_origin", std::move(origins));
  c.set("simulation.regime", label_);
  c.set_number("simulation.dt", dt_);
  c.set_integer("simulation.steps", steps_);
  save_regime(c);
  return c;
}

void simulation::restore(const checkpoint& c) {
  // All or nothing: a refusal found halfway (a damaged entry of the regime's, after the
  // network took its state) puts back what was there.
  const checkpoint before = save();
  try {
    restore_from(c);
  } catch (...) {
    restore_from(before);
    throw;
  }
}

void simulation::restore_from(const checkpoint& c) {
  if (c.text("simulation.regime") != label_)
    throw usage_error(fmt::format("{}: the checkpoint is of a {}", label_,
                                  c.text("simulation.regime")));
  if (c.number("simulation.dt") != dt_)
    throw usage_error(fmt::format("{}: the checkpoint has dt = {} ms, this simulation {} ms",
                                  label_, c.number("simulation.dt"), dt_));
  const step_count steps = c.integer("simulation.steps");
  if (steps < 0 || steps > max_steps)
    throw input_error(fmt::format("{}: the checkpoint's step count is {}", label_, steps));
  const auto& origins = c.integers("network.stimulus_origin");
  for (std::int64_t origin : origins)
    if (origin < -1 || origin > steps)
      throw input_error(fmt::format("{}: the checkpoint has a stimulus that began at step {}, "
                                    "outside [-1, {}]",
                                    label_, origin, steps));
  if (origins.size() != net_.stimuli().size())
    throw usage_error(fmt::format("{}: the checkpoint has {} stimuli, this network {}", label_,
                                  origins.size(), net_.stimuli().size()));
  net_.restore(c, static_cast<double>(steps) * dt_);
  restore_regime(c);
  steps_ = steps;
  presenting_.clear();
  sync_stimuli();
  for (std::size_t i = 0; i < origins.size(); ++i)
    presenting_[i].origin = origins[i];  // presented anew at the next run
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

void simulation::report_spikes(step_count step, std::size_t population,
                               std::span<const std::uint32_t> units) {
  for (observer* o : observers_) o->spikes(step, population, units);
}

step_count simulation::next_observation() const {
  step_count next = never;
  for (const observer* o : observers_) next = std::min(next, o->next_due(steps_ + 1));
  return next;
}

void simulation::finish_run() {
  for (observer* o : observers_) o->flush();
}

}  // namespace ratesim
