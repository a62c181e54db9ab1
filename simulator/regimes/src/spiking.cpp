#include <ratesim/clock.hpp>
#include <ratesim/error.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/spiking.hpp>
#include <ratesim/spiking.hpp>

#include "detail/random_math.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>

namespace ratesim {

namespace {

// (t − t0)/τ_x at which a population's trace factor is folded into its traces.
constexpr double rebase_at = 16.0;

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
  std::uint32_t draw(random_stream& r) const {
    const auto i = static_cast<std::uint32_t>(uniform_index(r, alias.size()));
    return uniform(r) < threshold[i] ? i : alias[i];
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
  vector p, input, rates, counts, dtheta;  // scratch, sized once
  bool p_valid = false;              // p matches input (populations with incoming projections)
  alias_table table;                 // input-driven populations
  double rate = 0.0;                 // Λ of this step
  std::vector<std::uint32_t> fired;  // this step's spikes
  std::vector<std::size_t> in, out;  // projections into and out of it
  std::uint64_t spikes = 0;
};

struct spiking_simulation::current_state {
  matrix F;  // F(W)
  vector v;  // F(W) z_pre
  bool used = false;
};

spiking_simulation::spiking_simulation(network& net, spiking_options options)
    : simulation(net, options.dt, "spiking_simulation"), options_(options) {
  const auto& projections = net_.projections();
  pop_of_.assign(net_.population_count(), 0);
  for (std::size_t i : net_.feedforward_order()) {  // refuses a loop
    const population& pop = net_.get_population(i);
    const auto* model = dynamic_cast<const spiking_population*>(&pop);
    if (!model)
      throw usage_error(fmt::format("{}: {} is not a spiking population; this regime runs "
                                    "spiking populations only (poisson_input, "
                                    "stochastic_wta, ...)",
                                    label_, pop.label()));
    spiking_state s;
    s.index = i;
    s.model = model;
    s.in = net_.incoming(i);
    s.input_driven = s.in.empty();
    if (s.input_driven && net_.intrinsic(i))
      throw usage_error(fmt::format("{}: {} has an intrinsic rule but no incoming projection; "
                                    "this regime adapts populations with inputs from others",
                                    label_, pop.label()));
    s.stream = stream_id(fmt::format("spikes.{}", pop.name()));
    const auto n = static_cast<Eigen::Index>(pop.size());
    s.z = vector::Zero(n);
    s.p = vector::Zero(n);
    s.input = vector::Zero(n);
    s.rates = vector::Zero(n);
    s.counts = vector::Zero(n);
    s.dtheta = vector::Zero(n);
    s.fired.reserve(1024);
    if (s.input_driven) s.table.resize(pop.size());
    pop_of_[i] = pops_.size();
    pops_.push_back(std::move(s));
  }
  currents_.resize(projections.size());
  for (std::size_t k = 0; k < projections.size(); ++k) {
    const projection& p = projections[k];
    double f = 0.0;
    if (!p.current().elementwise(1.0, f))
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
  }
  one_row_.reserve(1);
  refresh_currents();
}

spiking_simulation::~spiking_simulation() = default;

std::uint64_t spiking_simulation::spike_count(std::size_t population) const {
  return pops_.at(pop_of_.at(population)).spikes;
}

double spiking_simulation::factor(const spiking_state& s) const {
  const double elapsed = static_cast<double>(steps_ - s.origin) * dt_ / s.model->tau_x();
  return 1.0 / detail::exp_nonpositive(-elapsed);
}

void spiking_simulation::refresh_currents() {
  const auto& projections = net_.projections();
  for (std::size_t k = 0; k < projections.size(); ++k) {
    const projection& p = projections[k];
    auto& cur = currents_[k];
    const auto W = net_.weights(k);
    bool changed = !cur.used;
    for (Eigen::Index d = 0; d < W.cols(); ++d)
      for (Eigen::Index c = 0; c < W.rows(); ++c) {
        double f = 0.0;
        p.current().elementwise(W(c, d), f);
        if (std::bit_cast<std::uint64_t>(f) != std::bit_cast<std::uint64_t>(cur.F(c, d))) {
          cur.F(c, d) = f;
          changed = true;
        }
      }
    if (changed) cur.v.noalias() = cur.F * pops_[pop_of_[p.pre()]].z;
    cur.used = true;
  }
  for (auto& s : pops_) s.p_valid = false;
}

void spiking_simulation::rebase(spiking_state& s) {
  const double decay = 1.0 / factor(s);
  s.z *= decay;
  s.z_sum = s.z.sum();
  s.origin = steps_;
  for (std::size_t k : s.out) currents_[k].v.noalias() = currents_[k].F * s.z;
  for (std::size_t k : s.out) pops_[pop_of_[net_.projections()[k].post()]].p_valid = false;
}

void spiking_simulation::compute_rates(spiking_state& s) const {
  const double sum = s.model->trace_sum();
  if (sum == 0.0)
    s.rates = s.z / factor(s);
  else if (s.z_sum > 0.0)
    s.rates = (sum / s.z_sum) * s.z;
  else
    s.rates.setConstant(sum / static_cast<double>(s.z.size()));
}

void spiking_simulation::compute_input(spiking_state& s) {
  s.input = net_.external_input(s.index);
  net_.add_bias(s.index, s.input);
  for (std::size_t k : s.in) {
    const spiking_state& pre = pops_[pop_of_[net_.projections()[k].pre()]];
    const double sum = pre.model->trace_sum();
    if (sum == 0.0)
      s.input += currents_[k].v / factor(pre);
    else if (pre.z_sum > 0.0)
      s.input += (sum / pre.z_sum) * currents_[k].v;
    else  // no spike yet: x̂ uniform
      s.input += (sum / static_cast<double>(pre.z.size())) * currents_[k].F.rowwise().sum();
  }
}

vector spiking_simulation::input(std::size_t population) {
  auto& s = pops_.at(pop_of_.at(population));
  compute_input(s);
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
    compute_rates(pre);
    auto W = net_.weights(k);
    p.rule()->post_spike(W, c, pre.rates, net_.learning_rate_scale());
    one_row_.assign(1, c);
    net_.check_weight_rows(k, one_row_, x, time());
    auto& cur = currents_[k];
    for (Eigen::Index d = 0; d < W.cols(); ++d) p.current().elementwise(W(c, d), cur.F(c, d));
    cur.v[c] = cur.F.row(c).dot(pre.z);
    s.p_valid = false;
  }
  // c's trace, and the currents out of s.
  const double g = factor(s);
  s.z[c] += g;
  s.z_sum += g;
  for (std::size_t k : s.out) {
    currents_[k].v += g * currents_[k].F.col(c);
    pops_[pop_of_[projections[k].post()]].p_valid = false;
  }
}

void spiking_simulation::fire(spiking_state& s) {
  random_stream r(options_.seed, s.stream, static_cast<std::uint64_t>(steps_));
  if (!s.input_driven) {
    compute_input(s);
    s.rate = s.model->total_rate(s.input);
    s.p_valid = false;
  }
  const std::uint64_t n = poisson(r, s.rate * dt_);
  s.fired.clear();
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint32_t c = 0;
    if (s.input_driven) {
      c = s.table.draw(r);
    } else {
      if (!s.p_valid) {  // a rule changed the weights at the last spike
        if (i > 0) compute_input(s);
        s.model->spike_probabilities(s.input, s.p);
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
  if (n > 0) report_spikes(s.index, s.fired);
}

void spiking_simulation::step() {
  update_inputs(1);
  if (inputs_changed_) {
    for (auto& s : pops_) {
      s.p_valid = false;
      if (!s.input_driven) continue;
      const auto input = net_.external_input(s.index);
      s.model->spike_probabilities(input, s.p);
      s.rate = s.model->total_rate(input);
      if (!(std::isfinite(s.rate) && s.rate >= 0.0))
        throw numerical_error(fmt::format("{}: {}: total rate {} at t = {} ms", label_,
                                          s.model->label(), s.rate, time()));
      s.table.build(s.p);
    }
    inputs_changed_ = false;
  }
  for (auto& s : pops_)
    if (static_cast<double>(steps_ - s.origin) * dt_ / s.model->tau_x() >= rebase_at) rebase(s);
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
  for (auto& s : pops_) net_.state_of(s.index) = s.z / factor(s);
}

void spiking_simulation::run_steps(step_count n) {
  if (n < 0 || n > max_steps - steps_)
    throw_parameter_error(label_, "steps", fmt::format(">= 0 and <= {}", max_steps - steps_), n);
  refresh_currents();
  net_.check_before_run(time());
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
  } catch (const numerical_error&) {
    finish_run();  // what was recorded up to here reaches the files
    throw;
  }
  sync_state();
  finish_run();
}

// ---- Checkpoints ----------------------------------------------------------------------
// "spiking.traces" (z of every population, in feedforward order), "spiking.trace_sums",
// "spiking.trace_origins" (t0 as steps), "spiking.spike_counts", "spiking.currents" (v of
// every projection, in order) and "spiking.seed".

void spiking_simulation::save_regime(checkpoint& c) const {
  std::vector<double> traces, sums, currents;
  std::vector<std::int64_t> origins, counts;
  for (const auto& s : pops_) {
    traces.insert(traces.end(), s.z.data(), s.z.data() + s.z.size());
    sums.push_back(s.z_sum);
    origins.push_back(s.origin);
    counts.push_back(static_cast<std::int64_t>(s.spikes));
  }
  for (const auto& cur : currents_) currents.insert(currents.end(), cur.v.data(), cur.v.data() + cur.v.size());
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
  std::size_t n_traces = 0, n_currents = 0;
  for (const auto& s : pops_) n_traces += static_cast<std::size_t>(s.z.size());
  for (const auto& cur : currents_) n_currents += static_cast<std::size_t>(cur.v.size());
  const step_count steps = c.integer("simulation.steps");
  bool ok = traces.size() == n_traces && sums.size() == pops_.size() &&
            origins.size() == pops_.size() && counts.size() == pops_.size() &&
            currents.size() == n_currents;
  for (std::size_t i = 0; ok && i < origins.size(); ++i)
    ok = origins[i] >= 0 && origins[i] <= steps && counts[i] >= 0;
  for (std::size_t i = 0; ok && i < traces.size(); ++i) ok = std::isfinite(traces[i]) && traces[i] >= 0;
  if (!ok) throw input_error(fmt::format("{}: the checkpoint's traces are damaged", label_));
  std::size_t at = 0;
  for (std::size_t i = 0; i < pops_.size(); ++i) {
    auto& s = pops_[i];
    s.z = Eigen::Map<const vector>(traces.data() + at, s.z.size());
    at += static_cast<std::size_t>(s.z.size());
    s.z_sum = sums[i];
    s.origin = origins[i];
    s.spikes = static_cast<std::uint64_t>(counts[i]);
  }
  at = 0;
  for (auto& cur : currents_) {
    cur.v = Eigen::Map<const vector>(currents.data() + at, cur.v.size());
    at += static_cast<std::size_t>(cur.v.size());
    cur.used = false;  // F is recomputed from W, v kept...
  }
  // ... unless F(W) at the restored W differs from what v was summed with: it cannot, F
  // is a function of W, so only F is recomputed here.
  const auto& projections = net_.projections();
  for (std::size_t k = 0; k < projections.size(); ++k) {
    const auto W = net_.weights(k);
    for (Eigen::Index d = 0; d < W.cols(); ++d)
      for (Eigen::Index r = 0; r < W.rows(); ++r)
        projections[k].current().elementwise(W(r, d), currents_[k].F(r, d));
    currents_[k].used = true;
  }
  for (auto& s : pops_) s.p_valid = false;
}

}  // namespace ratesim
