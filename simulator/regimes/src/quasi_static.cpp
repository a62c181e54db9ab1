#include <ratesim/clock.hpp>
#include <ratesim/comm.hpp>
#include <ratesim/error.hpp>
#include <ratesim/parallel.hpp>
#include <ratesim/regimes/quasi_static.hpp>
#include <ratesim/spiking.hpp>

#include "batch_sum.hpp"
#include "settling.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace ratesim {

quasi_static_simulation::quasi_static_simulation(network& net, quasi_static_options options)
    : simulation(net, options.dt, "quasi_static_simulation"), options_(options) {
  refuse_spiking(net_, label_);
  if (options_.batch_size == 0) throw_parameter_error(label_, "batch_size", ">= 1", 0);
  settling_ = std::make_unique<settling>(net_);  // refuses a network with a loop
  period();  // validates the stimuli now rather than at the first run
  check_step_size();
  for (const auto& p : net_.projections()) {
    dense_dw_.push_back(p.plastic() ? matrix(p.rows(), p.cols()) : matrix());
    scaling_q_.push_back(p.plastic() ? vector(p.rows()) : vector());
  }

  dw_ = vector::Zero(net_.plastic_count());
  if (options_.batch_size > 1) {
    const auto slots = static_cast<std::int64_t>(options_.batch_size);
    const group_range held = shared() ? rank_groups(slots, options_.ranks->rank(),
                                                    options_.ranks->size())
                                      : group_range{0, slots};
    batch_ = std::make_unique<batch_sum>(slots, held, net_.plastic_count());
  }
}

bool quasi_static_simulation::shared() const {
  return options_.ranks && options_.ranks->size() > 1 && options_.batch_size > 1;
}

quasi_static_simulation::~quasi_static_simulation() = default;

void quasi_static_simulation::weights_changed() { settling_->caches().mark_all_changed(); }

void quasi_static_simulation::step(double duration) {
  // θ of the intrinsic rules first, through dw_'s slots for them (its head, in population
  // order): a weight rule that reads θ (a post variable) sees the step's new value, as
  // online EM divides by the updated count.
  Eigen::Index at = 0;
  vector& x = net_.state();
  for (std::size_t i = 0; i < net_.population_count(); ++i) {
    if (!net_.intrinsic(i)) continue;
    auto theta = net_.intrinsic_state(i);
    auto dtheta = dw_.segment(at, theta.size());
    net_.intrinsic_derivative(i, x, settling_->rates(i), dtheta);
    theta += duration * dtheta;  // dθ/dt includes the learning-rate scale
    at += theta.size();
  }
  net_.constrain_intrinsic(x);
  const double factor = duration * net_.learning_rate_scale();
  const auto& projections = net_.projections();
  for (std::size_t k = 0; k < projections.size(); ++k) {
    const projection& p = projections[k];
    if (!p.plastic()) continue;
    auto W = net_.weights(k);
    const vector& pre = settling_->rates(p.pre());
    const vector& post = settling_->rates(p.post());
    // The sparse path lists the rows it changes for the cache; it needs a cache that has
    // seen every earlier change (settle() refreshed it).
    auto& changed = settling_->caches().changed_rows(k);
    // The sparse path passes no post variable: a rule that reads one steps densely.
    if (options_.exact_sparse && !settling_->caches().stale(k) && changed.empty() &&
        p.rule()->post_variable().empty()) {
      row_minima row_min = settling_->caches().row_min(k, W);
      if (p.rule()->step_sparse(W, row_min, pre, post, factor, changed)) continue;
    }
    weight_step change{.factor = factor, .dW = &dense_dw_[k]};
    if (net_.scaling_form(k, x, pre, post, scaling_q_[k]))  // dW/dt never formed
      change = {.factor = factor, .pre = &pre, .q = &scaling_q_[k]};
    else
      net_.weight_derivative(k, x, pre, post, dense_dw_[k]);
    settling_->caches().step_weights(k, W, change, !options_.exact_log);
  }
}

void quasi_static_simulation::check_state() const {
  // Only what may have changed: the populations, and the weight rows the step listed,
  // unless some projection changed wholesale (a dense step, a mini-batch, a constraint).
  const vector& x = net_.state();
  const auto& projections = net_.projections();
  for (std::size_t k = 0; k < projections.size(); ++k)
    if (projections[k].plastic() && settling_->caches().stale(k)) return net_.check_state(x, time());
  net_.check_populations(x, time());
  for (std::size_t k = 0; k < projections.size(); ++k)
    net_.check_weight_rows(k, settling_->caches().changed_rows(k), x, time());
}

void quasi_static_simulation::weight_derivative() {
  // dw_ is laid out as the plastic tail of the state: θ of the intrinsic rules, then W.
  Eigen::Index at = 0;
  for (std::size_t i = 0; i < net_.population_count(); ++i) {
    if (!net_.intrinsic(i)) continue;
    const auto n = static_cast<Eigen::Index>(net_.get_population(i).size());
    net_.intrinsic_derivative(i, net_.state(), settling_->rates(i), dw_.segment(at, n));
    at += n;
  }
  const auto& projections = net_.projections();
  for (std::size_t k = 0; k < projections.size(); ++k) {
    const projection& p = projections[k];
    if (!p.plastic()) continue;
    Eigen::Map<matrix> dwk(dw_.data() + at, p.rows(), p.cols());
    net_.weight_derivative(k, net_.state(), settling_->rates(p.pre()),
                           settling_->rates(p.post()), dwk);
    if (net_.learning_rate_scale() != 1.0) dwk *= net_.learning_rate_scale();
    at += p.rows() * p.cols();
  }
}

step_count quasi_static_simulation::period() const {
  const auto& slots = net_.stimuli();
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
  for (std::size_t i = 0; i < net_.population_count(); ++i)
    if (const intrinsic_rule* rule = net_.intrinsic(i); rule && step > rule->largest_step()) {
      const std::string who = fmt::format("intrinsic rule \"{}\"", rule->name());
      throw parameter_error(
          fmt::format("{}: {} of {}: a step of T · batch_size = {} ms (times the learning-rate "
                      "scale) exceeds what it allows, {} ms",
                      label_, who, net_.get_population(i).label(), step, rule->largest_step()),
          {who, "step", fmt::format("{}", step)});
    }
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
  weights_changed();  // the weights may have been changed since the last run
  net_.check_before_run(time());
  check_step_size();
  paused_ = false;
  observe(steps_);
  for (step_count i = 0; i < n && !pause_due(); ++i) {
    update_inputs(T);
    // Whether this presentation changed anything here: under ranks, one of another rank's
    // slots changes nothing until its mini-batch is applied.
    bool changed = true;
    try {  // a rule may find its inputs invalid, the check the new state
      if (options_.batch_size == 1) {
        settling_->settle();
        step(duration);
        if (net_.constrain_weights(x)) weights_changed();
      } else {
        changed = batch_->holds(static_cast<std::int64_t>(pending_));
        if (changed) {
          settling_->settle();
          weight_derivative();
          batch_->leaf() = duration * dw_;
          batch_->push();
        }
        if (++pending_ == options_.batch_size) {
          apply_batch();
          changed = true;
        }
      }
      steps_ += T;
      if (changed) check_state();
    } catch (...) {  // a numerical error, or a rule written in Python that raised
      finish_run();  // what was recorded up to here reaches the files
      throw;
    }
    ++presentations_;
    // Observers due during the presentation see its end state (the weights then wait
    // for the rest of a mini-batch).
    observe(steps_ - T + 1);
  }
  if (!paused()) apply_batch();  // a run ends with every weight step applied
  settling_->caches().sync();  // the caches at the run's W, kept by the next run if W stays
  finish_run();
}

// The open mini-batch is kept as one process holds it: the sums of the largest tree nodes
// of its slots so far. Under ranks each holds only its share of them, so a checkpoint is
// taken between mini-batches there (the state is then the same on every rank, but for the
// populations' last settled rates, which the next settle() replaces) and resumes under
// any number of ranks.
void quasi_static_simulation::save_regime(checkpoint& c) const {
  if (shared() && pending_ != 0)
    throw usage_error(fmt::format("{}: under {} ranks a checkpoint is taken between "
                                  "mini-batches; {} of {} presentations are pending",
                                  label_, options_.ranks->size(), pending_, options_.batch_size));
  c.set_integer("quasi_static.presentations", presentations_);
  c.set_integer("quasi_static.batch_size", static_cast<std::int64_t>(options_.batch_size));
  c.set_integer("quasi_static.pending", static_cast<std::int64_t>(pending_));
  std::vector<double> sums;
  if (batch_)
    for (std::size_t i = 0; i < batch_->nodes().size(); ++i) {
      const auto node = batch_->node_values(i);
      sums.insert(sums.end(), node.begin(), node.end());
    }
  c.set("quasi_static.batch_sums", std::move(sums));
  // The caches kept incrementally (a log-weight current's ln W between exact
  // computations), at the W of the run's end (sync()).
  settling_->caches().save(c, "quasi_static");
}

void quasi_static_simulation::restore_regime(const checkpoint& c) {
  const auto batch_size = c.integer("quasi_static.batch_size");
  const auto pending = c.integer("quasi_static.pending");
  if (batch_size != static_cast<std::int64_t>(options_.batch_size))
    throw usage_error(fmt::format("{}: the checkpoint has batch_size {}, this simulation {}",
                                  label_, batch_size, options_.batch_size));
  if (pending < 0 || pending >= batch_size)
    throw input_error(fmt::format("{}: the checkpoint's mini-batch is damaged ({} pending of {})",
                                  label_, pending, batch_size));
  if (shared() && pending != 0)
    throw usage_error(fmt::format("{}: the checkpoint has {} presentations of a mini-batch "
                                  "pending; under {} ranks a run resumes between mini-batches "
                                  "(resume it in one process)",
                                  label_, pending, options_.ranks->size()));
  // Checkpoints of earlier versions ("quasi_static.batch": the pending steps summed in
  // order) hold the same sum as the tree's only up to one pending presentation.
  const bool tree = c.has("quasi_static.batch_sums");
  if (!tree && pending > 1)
    throw usage_error(fmt::format("{}: the checkpoint's open mini-batch ({} presentations) was "
                                  "summed in order by an earlier ratesim; this one sums over a "
                                  "tree: resume it with that version",
                                  label_, pending));
  const auto& sums = c.numbers(tree ? "quasi_static.batch_sums" : "quasi_static.batch");
  const std::span<const double> kept(sums.data(), pending == 0 ? 0 : sums.size());
  // (Under ranks pending is 0: a rank's share starts empty.)
  if (batch_ && !batch_->restore(std::max<std::int64_t>(pending, batch_->held().first), kept))
    throw input_error(fmt::format("{}: the checkpoint's mini-batch is damaged ({} values for {} "
                                  "pending presentations of {} weights)",
                                  label_, sums.size(), pending, dw_.size()));
  presentations_ = c.integer("quasi_static.presentations");
  if (presentations_ < 0)
    throw input_error(fmt::format("{}: the checkpoint has {} presentations", label_, presentations_));
  pending_ = static_cast<std::size_t>(pending);
  settling_->caches().restore(c, "quasi_static", label_);
}

void quasi_static_simulation::apply_batch() {
  if (pending_ == 0) return;
  vector& x = net_.state();
  batch_->skip_to(batch_->held().last);  // slots without a presentation add zero
  if (shared()) {
    exact_sum sum(*options_.ranks, static_cast<std::int64_t>(options_.batch_size),
                  static_cast<std::size_t>(dw_.size()));
    for (std::size_t i = 0; i < batch_->nodes().size(); ++i) {
      const auto node = batch_->node_values(i);
      sum.add(batch_->nodes()[i], std::vector<double>(node.begin(), node.end()));
    }
    const std::vector<double> total = sum.total();
    x.tail(net_.plastic_count()) += Eigen::Map<const vector>(total.data(), dw_.size());
  } else {
    x.tail(net_.plastic_count()) += batch_->node_values(0);  // the root
  }
  batch_->clear();
  pending_ = 0;
  weights_changed();
  net_.constrain(x);
}

}  // namespace ratesim
