#include <ratesim/clock.hpp>
#include <ratesim/error.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/spiking.hpp>
#include <ratesim/spiking.hpp>

#include "detail/random_math.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <cmath>

namespace ratesim {

namespace {

// (t − t0)/τ_x at which a population's trace factor is folded into its traces.
constexpr double rebase_at = 16.0;
// The most spikes a population may draw in one step (expected), so that a run cannot spend
// hours on one step.
constexpr double max_spikes_per_step = 1e6;

// Walker's alias method (Vose's construction): a draw of unit c with probability
// p_c / Σp in O(1), built in O(n) once per pattern.
struct alias_table {
  vector threshold;                  // keep the drawn column when u < threshold
  std::vector<std::uint32_t> alias;  // else take this one
  std::vector<std::uint32_t> small, large;

  void resize(std::size_t n) {
    threshold.resize(static_cast<Eigen::Index>(n));
    alias.resize(n);
    small.reserve(n);
    large.reserve(n);
  }
  void build(const vector& p) {
    const auto n = static_cast<std::uint32_t>(p.size());
    const double scale = static_cast<double>(n) / p.sum();
    small.clear();
    large.clear();
    for (std::uint32_t i = 0; i < n; ++i) {
      threshold[i] = p[i] * scale;
      alias[i] = i;
      (threshold[i] < 1.0 ? small : large).push_back(i);
    }
    while (!small.empty() && !large.empty()) {
      const std::uint32_t s = small.back(), l = large.back();
      small.pop_back();
      alias[s] = l;
      threshold[l] = (threshold[l] + threshold[s]) - 1.0;
      if (threshold[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (std::uint32_t i : small) threshold[i] = 1.0;  // left over by rounding
    for (std::uint32_t i : large) threshold[i] = 1.0;
  }
  // One 64-bit word w per draw: the high word of w · n picks the column (Lemire's
  // multiply, its bias below n / 2^64 left in) and the low word, a uniform fraction
  // independent of it, decides between the column and its alias.
  std::uint32_t draw(random_stream& r) const {
    const auto [column, fraction] = detail::mulhilo(r.next(), alias.size());
    const auto i = static_cast<std::uint32_t>(column);
    return static_cast<double>(fraction >> 11) * 0x1.0p-53 < threshold[i] ? i : alias[i];
  }
};

}  // namespace

struct spiking_simulation::spiking_state {
  std::size_t index = 0;  // in the network
  const spiking_population* model = nullptr;
  bool input_driven = false;         // no incoming projections: p changes with the stimulus only
  std::uint64_t stream = 0;          // stream_id("spikes.<name>")
  vector z;                          // traces times e^{(t − t0)/τ_x}
  double z_sum = 0.0;                // Σ z, kept with z
  step_count origin = 0;             // t0 as a step
  double g = 1.0;                    // e^{(t − t0)/τ_x} in this step
  // The spikes (unit, g) not yet added to the currents out of it by every one of them.
  std::vector<std::pair<std::uint32_t, double>> log;
  vector p, input, rates, counts, dtheta;  // scratch, sized once
  bool p_valid = false;              // p matches input (populations with incoming projections)
  alias_table table;                 // input-driven populations
  double rate = 0.0;                 // Λ of this step
  std::vector<std::uint32_t> fired;  // this step's spikes
  std::vector<std::size_t> in, out;  // projections into and out of it, from and to spiking ones
  std::vector<std::size_t> in_static;  // projections into it from rate populations
  vector static_input;                 // its external input and in_static's currents
  std::uint64_t spikes = 0;
};

struct spiking_simulation::current_state {
  matrix F;                 // F(W)
  vector v;                 // F(W) z_pre, but for the presynaptic log's entries from `applied` on
  std::size_t applied = 0;  // entries of the presynaptic log in v
  bool stale = false;       // the log overflowed since v was last computed: a product is due
  bool used = false;
};

spiking_simulation::spiking_simulation(network& net, spiking_options options)
    : simulation(net, options.dt, "spiking_simulation"), options_(options) {
  const auto& projections = net_.projections();
  pop_of_.assign(net_.population_count(), 0);
  spiking_pre_.assign(projections.size(), 0);
  rate_rates_.resize(net_.population_count());
  rate_input_.resize(net_.population_count());
  auto spiking = [&](std::size_t i) {
    return dynamic_cast<const spiking_population*>(&net_.get_population(i)) != nullptr;
  };
  for (std::size_t i : net_.feedforward_order()) {  // refuses a loop
    const population& pop = net_.get_population(i);
    const auto* model = dynamic_cast<const spiking_population*>(&pop);
    if (!model) {  // a rate population, settled whenever the stimuli change
      for (std::size_t k : net_.incoming(i)) {
        const projection& p = projections[k];
        if (spiking(p.pre()))
          throw usage_error(fmt::format(
              "{}: {} is driven by the spiking population \"{}\" ({}); in this regime rate "
              "populations take their input from stimuli and rate populations only",
              label_, pop.label(), net_.get_population(p.pre()).name(), p.label()));
        if (p.plastic())
          throw usage_error(fmt::format("{}: {}: this regime steps spike-triggered rules of "
                                        "projections into spiking populations only",
                                        label_, p.label()));
      }
      if (net_.intrinsic(i))
        throw usage_error(fmt::format("{}: {} is a rate population with an intrinsic rule, "
                                      "which this regime does not step",
                                      label_, pop.label()));
      rate_order_.push_back(i);
      rate_rates_[i] = vector::Zero(static_cast<Eigen::Index>(pop.size()));
      rate_input_[i] = vector::Zero(static_cast<Eigen::Index>(pop.size()));
      continue;
    }
    spiking_state s;
    s.index = i;
    s.model = model;
    for (std::size_t k : net_.incoming(i)) {
      const projection& p = projections[k];
      if (spiking(p.pre())) {
        s.in.push_back(k);
        spiking_pre_[k] = 1;
      } else if (p.plastic()) {
        throw usage_error(fmt::format("{}: {}: a plastic projection from a rate population; "
                                      "spike-triggered rules here read presynaptic traces",
                                      label_, p.label()));
      } else {
        s.in_static.push_back(k);
      }
    }
    s.input_driven = s.in.empty();
    if (s.input_driven && net_.intrinsic(i))
      throw usage_error(fmt::format("{}: {} has an intrinsic rule but no input from a spiking "
                                    "population; this regime adapts populations whose input "
                                    "spikes change",
                                    label_, pop.label()));
    s.stream = stream_id(fmt::format("spikes.{}", pop.name()));
    const auto n = static_cast<Eigen::Index>(pop.size());
    s.z = vector::Zero(n);
    s.p = vector::Zero(n);
    s.input = vector::Zero(n);
    s.static_input = vector::Zero(n);
    s.rates = vector::Zero(n);
    s.counts = vector::Zero(n);
    s.dtheta = vector::Zero(n);
    s.fired.reserve(1024);
    if (s.input_driven) s.table.resize(pop.size());
    if (model->constant_rate()) s.rate = checked_rate(*model, model->total_rate(s.input));
    pop_of_[i] = pops_.size();
    pops_.push_back(std::move(s));
  }
  currents_.resize(projections.size());
  for (std::size_t k = 0; k < projections.size(); ++k) {
    const projection& p = projections[k];
    if (!spiking_pre_[k]) continue;  // from a rate population: through current().add
    if (!p.current().elementwise(nullptr, nullptr, 0))
      throw usage_error(fmt::format("{}: {}: its {} current is not F(W) times the presynaptic "
                                    "rates, which this regime updates spike by spike",
                                    label_, p.label(), p.current().name()));
    if (p.plastic() && !p.rule()->spike_triggered())
      throw usage_error(fmt::format("{}: {}: rule \"{}\" has no spike-triggered form; this "
                                    "regime takes rules such as spike_scaling and nessler",
                                    label_, p.label(), p.rule()->name()));
    if (p.plastic() && !p.rule()->post_variable().empty())
      throw usage_error(fmt::format("{}: {}: rule \"{}\" reads a post variable, which this "
                                    "regime does not pass",
                                    label_, p.label(), p.rule()->name()));
    pops_[pop_of_[p.pre()]].out.push_back(k);
    currents_[k].F = matrix::Zero(p.rows(), p.cols());
    currents_[k].v = vector::Zero(p.rows());
    row_w_.resize(std::max(row_w_.size(), static_cast<std::size_t>(p.cols())));
    row_f_.resize(std::max(row_f_.size(), static_cast<std::size_t>(p.cols())));
  }
  one_row_.reserve(1);
  refresh_currents();
  inputs_changed_ = true;  // the rate populations settle, the static inputs are summed
}

spiking_simulation::~spiking_simulation() = default;

std::uint64_t spiking_simulation::spike_count(std::size_t population) const {
  return pops_.at(pop_of_.at(population)).spikes;
}

double spiking_simulation::checked_rate(const spiking_population& model, double rate) const {
  if (!(std::isfinite(rate) && rate >= 0.0))
    throw numerical_error(fmt::format("{}: {}: total rate {} at t = {} ms", label_,
                                      model.label(), rate, time()));
  // A bound that keeps a step's draws countable (and the Poisson mean in range).
  if (rate * dt_ > max_spikes_per_step)
    throw parameter_error(
        fmt::format("{}: {}: a total rate of {} spikes/ms is {} spikes per step of dt = {} ms; "
                    "at most {:g}",
                    label_, model.label(), rate, rate * dt_, dt_, max_spikes_per_step),
        {model.label(), "rate", fmt::format("{}", rate)});
  return rate;
}

void spiking_simulation::check_probabilities(const spiking_state& s) const {
  const double total = s.p.sum();
  const Eigen::Index n = s.p.size();
  Eigen::Index bad = 0;
  while (bad < n && s.p[bad] >= 0.0) ++bad;  // (a NaN fails the test too)
  if (bad == n && std::isfinite(total) && total > 0.0) return;
  throw numerical_error(fmt::format(
      "{}: {}: its spike probabilities must be >= 0 and not all 0, got {} at t = {} ms (its "
      "input: a projection into it may carry negative rates)",
      label_, s.model->label(),
      bad < n ? fmt::format("p[{}] = {}", bad, s.p[bad]) : fmt::format("a sum of {}", total),
      time()));
}

double spiking_simulation::factor(const spiking_state& s, step_count step) const {
  const double elapsed = static_cast<double>(step - s.origin) * dt_ / s.model->tau_x();
  return 1.0 / detail::exp_nonpositive(-elapsed);
}

void spiking_simulation::compute_F(std::size_t k) {
  const auto W = net_.weights(k);
  auto& F = currents_[k].F;
  for (Eigen::Index d = 0; d < W.cols(); ++d)
    net_.projections()[k].current().elementwise(W.col(d).data(), F.col(d).data(),
                                                static_cast<std::size_t>(W.rows()));
}

void spiking_simulation::refresh_currents() {
  const auto& projections = net_.projections();
  for (std::size_t k = 0; k < projections.size(); ++k) {
    if (!spiking_pre_[k]) continue;
    const projection& p = projections[k];
    auto& cur = currents_[k];
    const matrix before = cur.F;
    compute_F(k);
    // (bit for bit: v is kept when W, hence F(W), is as it was)
    const bool changed = !cur.used || std::memcmp(before.data(), cur.F.data(),
                                                  sizeof(double) * static_cast<std::size_t>(before.size())) != 0;
    if (changed) {
      auto& pre = pops_[pop_of_[p.pre()]];
      cur.v.noalias() = cur.F * pre.z;
      cur.applied = pre.log.size();
      cur.stale = false;
    }
    cur.used = true;
  }
  for (auto& s : pops_) s.p_valid = false;
}

void spiking_simulation::rebase(spiking_state& s) {
  const double decay = 1.0 / factor(s, steps_);
  s.z *= decay;
  s.z_sum = s.z.sum();
  s.origin = steps_;
  s.log.clear();
  for (std::size_t k : s.out) {
    currents_[k].v.noalias() = currents_[k].F * s.z;
    currents_[k].applied = 0;
    currents_[k].stale = false;
    pops_[pop_of_[net_.projections()[k].post()]].p_valid = false;
  }
}

void spiking_simulation::log_spike(spiking_state& s, std::uint32_t c) {
  // A log as long as half the units costs more to take in than one product F(W) z: it is
  // dropped, and the currents out of s are computed anew when next read.
  if (2 * s.log.size() >= static_cast<std::size_t>(s.z.size())) {
    s.log.clear();
    for (std::size_t k : s.out) {
      currents_[k].stale = true;
      currents_[k].applied = 0;
    }
  }
  s.log.emplace_back(c, s.g);
}

void spiking_simulation::sync(std::size_t k) {
  auto& cur = currents_[k];
  auto& pre = pops_[pop_of_[net_.projections()[k].pre()]];
  const std::size_t pending = pre.log.size() - cur.applied;
  if (pending == 0 && !cur.stale) return;
  if (cur.stale || 2 * pending >= static_cast<std::size_t>(cur.F.cols())) {
    cur.v.noalias() = cur.F * pre.z;
    cur.stale = false;
  } else {
    for (std::size_t i = cur.applied; i < pre.log.size(); ++i)
      cur.v += pre.log[i].second * cur.F.col(pre.log[i].first);
  }
  cur.applied = pre.log.size();
  // The log is kept until every projection out of pre has taken it in.
  for (std::size_t out : pre.out)
    if (currents_[out].applied != pre.log.size() || currents_[out].stale) return;
  pre.log.clear();
  for (std::size_t out : pre.out) currents_[out].applied = 0;
}

void spiking_simulation::compute_rates(spiking_state& s) const {
  const double sum = s.model->trace_sum();
  if (sum == 0.0)
    s.rates = s.z / s.g;
  else if (s.z_sum > 0.0)
    s.rates = (sum / s.z_sum) * s.z;
  else
    s.rates.setConstant(sum / static_cast<double>(s.z.size()));
}

void spiking_simulation::compute_input(spiking_state& s, bool query) {
  s.input = s.static_input;
  net_.add_bias(s.index, s.input);
  for (std::size_t k : s.in) {
    vector now;  // (a query: v with what it has not taken in, v itself left as it is)
    if (query) now = current_now(k); else sync(k);
    const vector& v = query ? now : currents_[k].v;
    const spiking_state& pre = pops_[pop_of_[net_.projections()[k].pre()]];
    const double sum = pre.model->trace_sum();
    if (sum == 0.0)
      s.input += v / pre.g;
    else if (pre.z_sum > 0.0)
      s.input += (sum / pre.z_sum) * v;
    else  // no spike yet: x̂ uniform
      s.input += (sum / static_cast<double>(pre.z.size())) * currents_[k].F.rowwise().sum();
  }
}

vector spiking_simulation::current_now(std::size_t k) const {
  const auto& cur = currents_[k];
  const auto& pre = pops_[pop_of_[net_.projections()[k].pre()]];
  if (cur.stale) return cur.F * pre.z;
  vector v = cur.v;
  for (std::size_t i = cur.applied; i < pre.log.size(); ++i)
    v += pre.log[i].second * cur.F.col(pre.log[i].first);
  return v;
}

vector spiking_simulation::input(std::size_t population) {
  auto& s = pops_.at(pop_of_.at(population));
  compute_input(s, true);
  return s.input;
}

void spiking_simulation::spike(spiking_state& s, Eigen::Index c) {
  const auto& projections = net_.projections();
  vector& x = net_.state();
  // The rules of the projections into s, at the presynaptic traces.
  for (std::size_t k : s.in) {
    const projection& p = projections[k];
    if (!p.plastic()) continue;
    spiking_state& pre = pops_[pop_of_[p.pre()]];
    sync(k);
    compute_rates(pre);
    auto W = net_.weights(k);
    p.rule()->post_spike(W, c, pre.rates, net_.learning_rate_scale());
    one_row_.assign(1, c);
    net_.check_weight_rows(k, one_row_, x, time());
    auto& cur = currents_[k];
    // Row c of F(W), gathered (rows of a column-major W are strided).
    const auto n = static_cast<std::size_t>(W.cols());
    for (Eigen::Index d = 0; d < W.cols(); ++d) row_w_[static_cast<std::size_t>(d)] = W(c, d);
    p.current().elementwise(row_w_.data(), row_f_.data(), n);
    for (Eigen::Index d = 0; d < W.cols(); ++d) cur.F(c, d) = row_f_[static_cast<std::size_t>(d)];
    cur.v[c] = cur.F.row(c).dot(pre.z);
    s.p_valid = false;
  }
  // c's trace; the currents out of s take it in when they are next read (sync).
  s.z[c] += s.g;
  s.z_sum += s.g;
  if (!s.out.empty()) log_spike(s, static_cast<std::uint32_t>(c));
  for (std::size_t k : s.out) pops_[pop_of_[projections[k].post()]].p_valid = false;
}

void spiking_simulation::fire(spiking_state& s) {
  random_stream r(options_.seed, s.stream, static_cast<std::uint64_t>(steps_));
  if (!s.input_driven && !s.model->constant_rate()) {
    compute_input(s);
    s.rate = checked_rate(*s.model, s.model->total_rate(s.input));
  }
  const std::uint64_t n = poisson(r, s.rate * dt_);
  s.fired.clear();
  if (s.input_driven) {  // no rule to step: only the traces and the log
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint32_t c = s.table.draw(r);
      s.fired.push_back(c);
      s.z[c] += s.g;
      if (!s.out.empty()) log_spike(s, c);
    }
    s.z_sum += static_cast<double>(n) * s.g;
    if (n > 0)
      for (std::size_t k : s.out) pops_[pop_of_[net_.projections()[k].post()]].p_valid = false;
  }
  for (std::uint64_t i = 0; i < n && !s.input_driven; ++i) {
    std::uint32_t c = 0;
    {
      if (!s.p_valid) {  // new spikes in, or a rule changed the weights at the last spike
        compute_input(s);
        s.model->spike_probabilities(s.input, s.p);
        check_probabilities(s);
        s.p_valid = true;
      }
      const double u = uniform(r) * s.p.sum();
      double below = 0.0;
      const auto last = static_cast<std::uint32_t>(s.p.size() - 1);
      while (c < last && !(u < (below += s.p[c]))) ++c;
    }
    s.fired.push_back(c);
    spike(s, c);
  }
  s.spikes += n;
  if (n > 0) report_spikes(steps_ + 1, s.index, s.fired);  // the step ends at steps_ + 1
}

void spiking_simulation::settle_static() {
  const auto& projections = net_.projections();
  for (std::size_t i : rate_order_) {  // feedforward order
    vector& input = rate_input_[i];
    input = net_.external_input(i);
    for (std::size_t k : net_.incoming(i))
      projections[k].current().add(net_.weights(k), rate_rates_[projections[k].pre()], input);
    const population& pop = net_.get_population(i);
    auto x = net_.state_of(i);
    pop.fixed_point(input, x);
    pop.rates(x, rate_rates_[i]);
  }
  for (auto& s : pops_) {
    s.static_input = net_.external_input(s.index);
    for (std::size_t k : s.in_static)
      projections[k].current().add(net_.weights(k), rate_rates_[projections[k].pre()],
                                   s.static_input);
  }
}

void spiking_simulation::step() {
  update_inputs(1);
  if (inputs_changed_) {
    settle_static();
    for (auto& s : pops_) {
      s.p_valid = false;
      if (!s.input_driven) continue;
      s.model->spike_probabilities(s.static_input, s.p);
      check_probabilities(s);
      s.rate = checked_rate(*s.model, s.model->total_rate(s.static_input));
      s.table.build(s.p);
    }
    inputs_changed_ = false;
  }
  for (auto& s : pops_) {
    if (static_cast<double>(steps_ - s.origin) * dt_ / s.model->tau_x() >= rebase_at) rebase(s);
    s.g = factor(s, steps_ + 1);  // spikes count at the end of the step they fall in
  }
  bool adapted = false;
  vector& x = net_.state();
  for (auto& s : pops_) {
    fire(s);
    if (!net_.intrinsic(s.index)) continue;
    // The units' spikes over the step as rates relative to Λ (their expectation: p / Σp).
    s.counts.setZero();
    for (std::uint32_t c : s.fired) s.counts[c] += 1.0;
    if (s.rate > 0.0) s.counts /= s.rate * dt_;
    net_.intrinsic_derivative(s.index, x, s.counts, s.dtheta);
    net_.intrinsic_state(s.index) += dt_ * s.dtheta;
    s.p_valid = false;
    adapted = true;
  }
  if (adapted) net_.constrain_intrinsic(x);
  ++steps_;
  if (adapted) net_.check_populations(x, time());
}

void spiking_simulation::sync_state() {
  for (auto& s : pops_) {
    s.g = factor(s, steps_);
    net_.state_of(s.index) = s.z / s.g;
  }
}

void spiking_simulation::run_steps(step_count n) {
  if (n < 0 || n > max_steps - steps_)
    throw_parameter_error(label_, "steps", fmt::format(">= 0 and <= {}", max_steps - steps_), n);
  refresh_currents();
  net_.check_before_run(time());
  inputs_changed_ = true;  // external inputs or static weights may have been written
  paused_ = false;
  sync_state();
  observe(steps_);
  step_count due = next_observation();
  const step_count end = steps_ + n;
  try {
    while (steps_ < end && !pause_due()) {
      step();
      if (steps_ >= due) {
        sync_state();
        observe(steps_ - 1);
        due = next_observation();
      }
    }
  } catch (...) {  // a numerical error, or a rule written in Python that raised
    sync_state();
    finish_run();  // what was recorded up to here reaches the files
    throw;
  }
  sync_state();
  finish_run();
}

// ---- Checkpoints ----------------------------------------------------------------------
// "spiking.traces" (z of every population, in feedforward order), "spiking.trace_sums",
// "spiking.trace_origins" (t0 as steps), "spiking.spike_counts", the spikes not yet in
// every current ("spiking.log_sizes" per population, "spiking.log_units" and
// "spiking.log_factors" one per spike), "spiking.currents" (v of every projection, in
// order), "spiking.applied" (per projection; −1 when a product is due) and "spiking.seed".

void spiking_simulation::save_regime(checkpoint& c) const {
  std::vector<double> traces, sums, currents, log_factors;
  std::vector<std::int64_t> origins, counts, log_sizes, log_units, applied;
  for (const auto& s : pops_) {
    traces.insert(traces.end(), s.z.data(), s.z.data() + s.z.size());
    sums.push_back(s.z_sum);
    origins.push_back(s.origin);
    counts.push_back(static_cast<std::int64_t>(s.spikes));
    log_sizes.push_back(static_cast<std::int64_t>(s.log.size()));
    for (const auto& [unit, g] : s.log) {
      log_units.push_back(unit);
      log_factors.push_back(g);
    }
  }
  for (const auto& cur : currents_) {
    currents.insert(currents.end(), cur.v.data(), cur.v.data() + cur.v.size());
    applied.push_back(cur.stale ? -1 : static_cast<std::int64_t>(cur.applied));
  }
  c.set("spiking.log_sizes", std::move(log_sizes));
  c.set("spiking.log_units", std::move(log_units));
  c.set("spiking.log_factors", std::move(log_factors));
  c.set("spiking.applied", std::move(applied));
  c.set("spiking.traces", std::move(traces));
  c.set("spiking.trace_sums", std::move(sums));
  c.set("spiking.trace_origins", std::move(origins));
  c.set("spiking.spike_counts", std::move(counts));
  c.set("spiking.currents", std::move(currents));
  c.set("spiking.seed", std::to_string(options_.seed));
}

void spiking_simulation::restore_regime(const checkpoint& c) {
  if (c.text("spiking.seed") != std::to_string(options_.seed))
    throw usage_error(fmt::format("{}: the checkpoint has seed {}, this simulation {}", label_,
                                  c.text("spiking.seed"), options_.seed));
  const auto& traces = c.numbers("spiking.traces");
  const auto& sums = c.numbers("spiking.trace_sums");
  const auto& origins = c.integers("spiking.trace_origins");
  const auto& counts = c.integers("spiking.spike_counts");
  const auto& currents = c.numbers("spiking.currents");
  const auto& log_sizes = c.integers("spiking.log_sizes");
  const auto& log_units = c.integers("spiking.log_units");
  const auto& log_factors = c.numbers("spiking.log_factors");
  const auto& applied = c.integers("spiking.applied");
  const step_count steps = c.integer("simulation.steps");
  // Everything is checked before anything is taken: a refused checkpoint changes nothing
  // of the regime.
  auto damaged = [&](std::string_view entry, std::string_view what) {
    return input_error(fmt::format("{}: the checkpoint's entry \"spiking.{}\" is damaged: {}",
                                   label_, entry, what));
  };
  auto finite = [](const std::vector<double>& values, double least) {
    return std::all_of(values.begin(), values.end(),
                       [&](double v) { return std::isfinite(v) && v >= least; });
  };
  std::size_t n_traces = 0, n_currents = 0, n_log = 0;
  for (const auto& s : pops_) n_traces += static_cast<std::size_t>(s.z.size());
  for (const auto& cur : currents_) n_currents += static_cast<std::size_t>(cur.v.size());
  const std::size_t n = pops_.size();
  if (traces.size() != n_traces || !finite(traces, 0.0))
    throw damaged("traces", fmt::format("{} values, {} expected, finite and >= 0",
                                        traces.size(), n_traces));
  if (sums.size() != n || !finite(sums, 0.0)) throw damaged("trace_sums", "not one finite sum >= 0 per population");
  if (origins.size() != n || counts.size() != n || log_sizes.size() != n)
    throw damaged("trace_origins", "not one entry per population");
  for (std::size_t i = 0; i < n; ++i) {
    if (origins[i] < 0 || origins[i] > steps) throw damaged("trace_origins", "outside the run");
    if (counts[i] < 0) throw damaged("spike_counts", "negative");
    if (log_sizes[i] < 0) throw damaged("log_sizes", "negative");
    n_log += static_cast<std::size_t>(log_sizes[i]);
  }
  if (log_units.size() != n_log || log_factors.size() != n_log || !finite(log_factors, 0.0))
    throw damaged("log_units", "not one unit and one finite factor per logged spike");
  for (std::size_t i = 0, logged = 0; i < n; ++i)
    for (std::int64_t j = 0; j < log_sizes[i]; ++j, ++logged)
      if (log_units[logged] < 0 || log_units[logged] >= pops_[i].z.size())
        throw damaged("log_units", fmt::format("unit {} of a population of {}",
                                               log_units[logged], pops_[i].z.size()));
  if (currents.size() != n_currents || !finite(currents, -std::numeric_limits<double>::max()))
    throw damaged("currents", fmt::format("{} values, {} expected, finite", currents.size(),
                                          n_currents));
  const auto& projections = net_.projections();
  if (applied.size() != projections.size()) throw damaged("applied", "not one per projection");
  for (std::size_t k = 0; k < projections.size(); ++k)
    if (spiking_pre_[k] &&
        (applied[k] < -1 || applied[k] > log_sizes[pop_of_[projections[k].pre()]]))
      throw damaged("applied", fmt::format("{} of a log of {}", applied[k],
                                           log_sizes[pop_of_[projections[k].pre()]]));

  std::size_t at = 0, logged = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto& s = pops_[i];
    s.z = Eigen::Map<const vector>(traces.data() + at, s.z.size());
    at += static_cast<std::size_t>(s.z.size());
    s.z_sum = sums[i];
    s.origin = origins[i];
    s.spikes = static_cast<std::uint64_t>(counts[i]);
    s.log.clear();
    for (std::int64_t j = 0; j < log_sizes[i]; ++j, ++logged)
      s.log.emplace_back(static_cast<std::uint32_t>(log_units[logged]), log_factors[logged]);
    s.p_valid = false;
  }
  // v and the log it has taken in are kept; F is a function of W, computed anew.
  at = 0;
  for (std::size_t k = 0; k < projections.size(); ++k) {
    auto& cur = currents_[k];
    cur.v = Eigen::Map<const vector>(currents.data() + at, cur.v.size());
    at += static_cast<std::size_t>(cur.v.size());
    if (!spiking_pre_[k]) continue;
    cur.stale = applied[k] == -1;  // (-1: stale, a product due)
    cur.applied = cur.stale ? 0 : static_cast<std::size_t>(applied[k]);
    compute_F(k);
    cur.used = true;
  }
}

}  // namespace ratesim
