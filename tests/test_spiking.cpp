// The spiking regime (ratesim/regimes/spiking.hpp) on its statistics, with fixed seeds:
// Poisson input counts, the winner-take-all's choice of unit, the spike-triggered update
// against the rate circuit's quasi-static update computed here, the rules' closed forms,
// the incremental currents against a fresh computation, bit-identical split runs and
// resume, and the refusals.

#include <ratesim/error.hpp>
#include <ratesim/models/poisson_input.hpp>
#include <ratesim/models/rate_population.hpp>
#include <ratesim/models/softmax_competition.hpp>
#include <ratesim/models/stochastic_wta.hpp>
#include <ratesim/network.hpp>
#include <ratesim/observer.hpp>
#include <ratesim/random.hpp>
#include <ratesim/plasticity/homeostasis.hpp>
#include <ratesim/regimes/quasi_static.hpp>
#include <ratesim/regimes/spiking.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace ratesim {
namespace {

// Counts spikes per unit of one population, in windows of `window` steps.
class spike_counter : public spike_observer {
 public:
  spike_counter(std::size_t population, std::size_t units, step_count window)
      : population_(population), units_(units), window_(window) {}
  void spikes(step_count step, std::size_t population,
              std::span<const std::uint32_t> units) override {
    if (population != population_) return;
    const auto w = static_cast<std::size_t>((step - 1) / window_);  // the step ending at `step`
    while (counts.size() <= w) counts.emplace_back(units_, 0.0);
    for (std::uint32_t c : units) counts[w][c] += 1.0;
    total += units.size();
  }
  std::vector<std::vector<double>> counts;  // [window][unit]
  std::size_t total = 0;

 private:
  std::size_t population_, units_;
  step_count window_;
};

// y of poisson_input: (A − D) ỹ / Σỹ + 1.
vector normalised(const vector& raw, double A) {
  return ((A - static_cast<double>(raw.size())) / raw.sum()) * raw.array() + 1.0;
}

vector softmax_of(const vector& u) {
  vector s = (u.array() - u.maxCoeff()).exp();
  return s / s.sum();
}

TEST(PoissonInput, CountsInAWindowArePoissonWithMeanNuYT) {
  const vector raw = (vector(4) << 1.0, 2.0, 3.0, 10.0).finished();
  const double A = 8.0, nu = 0.3, dt = 0.5, T = 20.0;  // mean counts nu y T: 6.6 to 23
  network net;
  net.add<poisson_input>("in", {.size = 4, .A = A, .nu = nu});
  net.stimulate("in", std::make_unique<constant_input>(raw));
  spiking_simulation sim(net, {.dt = dt, .seed = 11});
  const auto window = static_cast<step_count>(T / dt);
  spike_counter counter(0, 4, window);
  sim.attach(counter);
  const int n = 4000;
  sim.run(n * T);
  ASSERT_EQ(counter.counts.size(), static_cast<std::size_t>(n));
  const vector y = normalised(raw, A);
  for (int d = 0; d < 4; ++d) {
    double sum = 0.0, squares = 0.0;
    for (const auto& w : counter.counts) sum += w[d];
    const double mean = sum / n;
    for (const auto& w : counter.counts) squares += (w[d] - mean) * (w[d] - mean);
    const double variance = squares / (n - 1);
    const double expected = nu * y[d] * T;
    // The mean within 4 standard errors; the dispersion index var/mean of a Poisson count
    // is 1, its sampling sd about sqrt(2 / n).
    EXPECT_NEAR(mean, expected, 4.0 * std::sqrt(expected / n)) << "unit " << d;
    EXPECT_NEAR(variance / expected, 1.0, 4.0 * std::sqrt(2.0 / n)) << "unit " << d;
  }
  // Units are independent: the correlation of two units' counts is about 0.
  double c01 = 0.0, m0 = 0.0, m3 = 0.0;
  for (const auto& w : counter.counts) m0 += w[0] / n, m3 += w[3] / n;
  double v0 = 0.0, v3 = 0.0;
  for (const auto& w : counter.counts) {
    c01 += (w[0] - m0) * (w[3] - m3);
    v0 += (w[0] - m0) * (w[0] - m0);
    v3 += (w[3] - m3) * (w[3] - m3);
  }
  EXPECT_NEAR(c01 / std::sqrt(v0 * v3), 0.0, 4.0 / std::sqrt(double(n)));
  EXPECT_EQ(sim.spike_count(0), counter.total);
}

// A chi-square statistic of observed counts against probabilities p.
double chi_square(const std::vector<double>& observed, const vector& p) {
  double total = 0.0, chi2 = 0.0;
  for (double o : observed) total += o;
  for (std::size_t c = 0; c < observed.size(); ++c) {
    const double e = total * p[static_cast<Eigen::Index>(c)];
    chi2 += (observed[c] - e) * (observed[c] - e) / e;
  }
  return chi2;
}

TEST(StochasticWTA, SpikesGoToUnitsInProportionToSoftmaxAtTotalRateR) {
  // One input unit: its normalised trace is A whatever its spikes, so with a static linear
  // projection u = W A exactly, and the layer's spikes are a Poisson process of rate R
  // split by softmax(u).
  const vector u = (vector(4) << 0.0, std::log(2.0), std::log(3.0), -1.0).finished();
  const double A = 2.0, R = 0.5, dt = 0.5;
  network net;
  net.add<poisson_input>("in", {.size = 1, .A = A, .nu = 1.0});
  net.add<stochastic_wta>("out", {.size = 4, .R = R});
  net.connect("in", "out", {.name = "ff", .weights = u / A, .current = "linear"});
  net.stimulate("in", std::make_unique<constant_input>(vector::Ones(1)));
  spiking_simulation sim(net, {.dt = dt, .seed = 3});
  const double duration = 40000.0;  // ms: 20,000 spikes expected
  spike_counter counter(1, 4, static_cast<step_count>(duration / dt));
  sim.attach(counter);
  sim.run(duration);
  const double spikes = static_cast<double>(counter.total);
  EXPECT_NEAR(spikes, R * duration, 4.0 * std::sqrt(R * duration));
  // χ² with 3 degrees of freedom: P(χ² > 16.3) = 0.001.
  EXPECT_LT(chi_square(counter.counts.at(0), softmax_of(u)), 16.3);
  // The regime's own input equals W x̂ = u.
  EXPECT_LT((sim.input(1) - u).cwiseAbs().maxCoeff(), 1e-14);
}

TEST(StochasticWTA, AnInputDrivenLayerDrawsFromItsAliasTable) {
  // Driven by its stimulus alone, the layer's p comes from the input once per pattern.
  const vector u = (vector(3) << 1.0, 0.0, -0.5).finished();
  network net;
  net.add<stochastic_wta>("out", {.size = 3, .R = 1.0});
  net.stimulate("out", std::make_unique<constant_input>(u));
  spiking_simulation sim(net, {.dt = 1.0, .seed = 5});
  spike_counter counter(0, 3, 20000);
  sim.attach(counter);
  sim.run(20000.0);
  EXPECT_LT(chi_square(counter.counts.at(0), softmax_of(u)), 13.8);  // 2 dof, p = 0.001
}

TEST(SpikeTriggeredRules, StepsHaveTheirClosedForms) {
  const matrix W = (matrix(2, 3) << 1.0, 2.0, 3.0, 0.5, 4.0, 1.5).finished();
  const vector xhat = (vector(3) << 2.5, 1.0, 2.5).finished();
  const double eta = 0.1, scale = 0.5;
  matrix scaled = W, nessler = W;
  make_rule("spike_scaling", {{"eta", eta}})->post_spike(scaled, 1, xhat, scale);
  make_rule("nessler", {{"eta", eta}})->post_spike(nessler, 1, xhat, scale);
  EXPECT_EQ(scaled.row(0), W.row(0));
  EXPECT_EQ(nessler.row(0), W.row(0));
  for (Eigen::Index d = 0; d < 3; ++d) {
    EXPECT_NEAR(scaled(1, d), W(1, d) + eta * scale * (xhat[d] - W(1, d)), 1e-15);
    // ln W += η (x̂ e^{−ln W} − 1)
    const double w = std::log(W(1, d)) + eta * scale * (xhat[d] * std::exp(-std::log(W(1, d))) - 1);
    EXPECT_NEAR(nessler(1, d), std::exp(w), 4e-16 * std::exp(w));
  }
  // Synaptic scaling by spikes keeps the row sum at Σ x̂ = 6 when it starts there.
  EXPECT_NEAR(scaled.row(1).sum(), W.row(1).sum() + eta * scale * (6.0 - W.row(1).sum()), 1e-14);
  EXPECT_THROW(make_rule("spike_scaling", {{"eta", 1.5}}), parameter_error);
  EXPECT_THROW(make_rule("nessler", {{"eta", 0.0}}), parameter_error);
}

// Poisson input -> stochastic WTA with spike_scaling, the seed's circuit in spikes.
struct spiking_circuit {
  network net;
  spiking_circuit(const vector& raw, const matrix& W0, double nu, double R, double eta,
                  double A) {
    net.add<poisson_input>("in", {.size = static_cast<std::size_t>(raw.size()), .A = A, .nu = nu});
    net.add<stochastic_wta>("out", {.size = static_cast<std::size_t>(W0.rows()), .R = R});
    net.connect("in", "out", {.name = "ff", .weights = W0,
                              .rule = make_rule("spike_scaling", {{"eta", eta}})});
    net.stimulate("in", std::make_unique<constant_input>(raw));
  }
};

TEST(SpikeTriggeredRules, TheAverageUpdateIsTheRateCircuitsQuasiStaticUpdate) {
  // Averaged over many presentations of one pattern, each from the same W, the
  // spike-triggered update over T equals the rate circuit's quasi-static step
  // ΔW = T η R s_c (y − W_c), s = softmax(ln W y), within its confidence interval. The
  // input rate is high, so that x̂ stays close to y (the rest is a bias far below the CI).
  const vector raw = (vector(3) << 1.0, 3.0, 2.0).finished();
  const double A = 6.0, nu = 40.0, R = 1.0, eta = 1e-4, T = 50.0, dt = 0.5;
  const matrix W0 = (matrix(2, 3) << 1.0, 3.2, 1.8, 2.6, 1.6, 1.8).finished();  // rows: y = (1.5, 2.5, 2)
  spiking_circuit c(raw, W0, nu, R, eta, A);
  spiking_simulation sim(c.net, {.dt = dt, .seed = 17});
  sim.run(100.0);  // the traces settle
  const int n = 3000;
  std::vector<matrix> steps;
  for (int i = 0; i < n; ++i) {
    c.net.weights("ff") = W0;
    sim.run(T);
    steps.push_back(c.net.weights("ff") - W0);
  }
  const vector y = normalised(raw, A);
  const vector s = softmax_of(W0.array().log().matrix() * y);
  for (Eigen::Index r = 0; r < 2; ++r)
    for (Eigen::Index d = 0; d < 3; ++d) {
      double mean = 0.0, squares = 0.0;
      for (const auto& m : steps) mean += m(r, d) / n;
      for (const auto& m : steps) squares += (m(r, d) - mean) * (m(r, d) - mean);
      const double se = std::sqrt(squares / (n - 1) / n);
      const double expected = T * eta * R * s[r] * (y[d] - W0(r, d));
      EXPECT_NEAR(mean, expected, 4.0 * se) << "W(" << r << ", " << d << ")";
      EXPECT_GT(std::abs(expected), 4.0 * se);  // the test can tell a wrong update
    }
}

// Runs `c` through several rebases (every 16 τ_x = 320 ms), checking after each run the
// regime's currents against ln W x̂ computed here from the state, and the row sums.
void expect_currents_match(spiking_circuit& c, double A, std::uint64_t seed) {
  spiking_simulation sim(c.net, {.dt = 0.5, .seed = seed});
  for (int k = 0; k < 5; ++k) {
    sim.run(777.5);
    const matrix W = c.net.weights("ff");
    const vector x = c.net.variable("in", "trace");
    const vector xhat = (A / x.sum()) * x;
    const vector fresh = W.array().log().matrix() * xhat;
    const vector held = sim.input(1);
    const double scale = (W.array().log().abs().matrix() * xhat).maxCoeff();
    EXPECT_LT((held - fresh).cwiseAbs().maxCoeff(), 1e-12 * scale) << "after run " << k;
    // spike_scaling keeps every row sum at A (x̂ sums to A).
    EXPECT_LT((W.rowwise().sum().array() - A).abs().maxCoeff(), 1e-11);
  }
  EXPECT_GT(sim.spike_count(1), 100u);
}

TEST(SpikingRegime, IncrementalCurrentsMatchAFreshComputationAndRowSumsStay) {
  {  // many input spikes between output spikes: the currents are recomputed as F(W) z
    const vector raw = (vector(6) << 1.0, 5.0, 2.0, 0.5, 3.0, 4.0).finished();
    matrix W0(3, 6);
    W0 << 1, 2, 3, 2, 2, 2, 3, 2, 1, 2, 2, 2, 2, 2, 2, 1, 2, 3;
    spiking_circuit c(raw, W0, 2.0, 0.5, 0.05, 12.0);
    expect_currents_match(c, 12.0, 2);
  }
  {  // few (5 per ms against D = 40, an output spike every 2 ms): column by column
    vector raw(40);
    for (int d = 0; d < 40; ++d) raw[d] = 1.0 + d % 7;
    random_stream rng(1, 2);
    matrix W0(4, 40);
    for (Eigen::Index i = 0; i < W0.size(); ++i) W0.data()[i] = uniform(rng, 0.5, 1.5);
    normalize_rows(W0, 50.0);
    spiking_circuit c(raw, W0, 0.1, 0.5, 0.05, 50.0);
    expect_currents_match(c, 50.0, 3);
  }
}

TEST(SpikingRegime, SplitRunsAndResumedRunsGiveTheSameBits) {
  const vector raw = (vector(5) << 1.0, 5.0, 2.0, 0.5, 3.0).finished();
  matrix W0 = matrix::Constant(3, 5, 2.0);
  W0(0, 1) = 3.0, W0(0, 2) = 1.0, W0(1, 3) = 2.5, W0(1, 4) = 1.5;
  auto make = [&](spiking_circuit& c) {
    return std::make_unique<spiking_simulation>(c.net, spiking_options{.dt = 0.5, .seed = 9});
  };
  spiking_circuit whole(raw, W0, 3.0, 0.4, 0.05, 10.0);
  auto w = make(whole);
  w->run(2000.0);

  spiking_circuit split(raw, W0, 3.0, 0.4, 0.05, 10.0);
  auto s = make(split);
  s->run(333.5);
  s->run(1666.5);
  EXPECT_EQ(split.net.state(), whole.net.state());

  spiking_circuit first(raw, W0, 3.0, 0.4, 0.05, 10.0);
  auto a = make(first);
  a->run(777.0);
  const checkpoint saved = a->save();
  spiking_circuit second(raw, W0, 3.0, 0.4, 0.05, 10.0);
  auto b = make(second);
  b->restore(saved);
  b->run(1223.0);
  EXPECT_EQ(second.net.state(), whole.net.state());
  EXPECT_EQ(b->spike_count(1), w->spike_count(1));
  EXPECT_EQ(b->spike_count(0), w->spike_count(0));
  // Another seed gives other spikes.
  spiking_circuit other(raw, W0, 3.0, 0.4, 0.05, 10.0);
  spiking_simulation(other.net, {.dt = 0.5, .seed = 10}).run(2000.0);
  EXPECT_NE(other.net.state(), whole.net.state());
  // A checkpoint of another seed is refused.
  spiking_circuit third(raw, W0, 3.0, 0.4, 0.05, 10.0);
  spiking_simulation wrong(third.net, {.dt = 0.5, .seed = 1});
  EXPECT_THROW(wrong.restore(saved), usage_error);
}

TEST(SpikingRegime, HomeostasisEvensOutTheUnitsFiring) {
  // Two units, one with a much larger input: homeostasis (the intrinsic rule, fed each
  // unit's spikes per step relative to R dt) brings both toward 1/2 of the spikes.
  const vector u = (vector(2) << 0.0, 3.0).finished();
  network net;
  net.add<poisson_input>("in", {.size = 1, .A = 2.0, .nu = 1.0});
  net.add<stochastic_wta>("out", {.size = 2, .R = 1.0});
  net.connect("in", "out", {.name = "ff", .weights = u / 2.0, .current = "linear"});
  net.adapt("out", make_intrinsic_rule("homeostasis", {{"tau", 200.0}}));
  net.stimulate("in", std::make_unique<constant_input>(vector::Ones(1)));
  spiking_simulation sim(net, {.dt = 0.5, .seed = 4});
  sim.run(5000.0);  // adapt
  spike_counter counter(1, 2, 40000);
  sim.attach(counter);
  sim.run(20000.0);
  const auto& n = counter.counts.at(0);
  EXPECT_NEAR(n[0] / (n[0] + n[1]), 0.5, 0.05);  // without it: e^0 / (e^0 + e^3) = 0.047
}

TEST(SpikingRegime, RatePopulationsUpstreamDriveTheSpikingOnes) {
  // A linear rate population r = M s under stimulus s drives Poisson input through a static
  // linear projection W: the input units fire at ν y_d with y normalised from W r.
  const vector stimulus = (vector(2) << 1.0, 3.0).finished();
  const matrix M = (matrix(2, 2) << 1.0, 0.5, 0.0, 2.0).finished();
  const matrix W = (matrix(3, 2) << 1.0, 0.0, 0.5, 0.5, 0.0, 1.0).finished();
  const double A = 6.0, nu = 2.0, T = 1000.0;
  network net;
  net.add<rate_population>("r", {.size = 2, .tau = 1.0, .transfer = "linear"});
  net.add<rate_population>("s", {.size = 2, .tau = 1.0, .transfer = "linear"});
  net.add<poisson_input>("in", {.size = 3, .A = A, .nu = nu});
  net.connect("s", "r", {.name = "m", .weights = M, .current = "linear"});
  net.connect("r", "in", {.name = "w", .weights = W, .current = "linear"});
  net.stimulate("s", std::make_unique<constant_input>(stimulus));
  spiking_simulation sim(net, {.dt = 0.5, .seed = 8});
  spike_counter counter(2, 3, static_cast<step_count>(T / 0.5));
  sim.attach(counter);
  const int n = 50;
  sim.run(n * T);
  // The rate populations sit at their fixed points.
  const vector r = M * stimulus;
  EXPECT_LT((net.rates("r") - r).cwiseAbs().maxCoeff(), 1e-14);
  const vector y = normalised(W * r, A);
  for (int d = 0; d < 3; ++d) {
    double total = 0.0;
    for (const auto& w : counter.counts) total += w[d];
    const double expected = nu * y[d] * T * n;
    EXPECT_NEAR(total, expected, 4.0 * std::sqrt(expected)) << "unit " << d;
  }
}

TEST(SpikingRegime, RefusesWhatItCannotRun) {
  {  // a rate population driven by a spiking one
    network net;
    net.add<poisson_input>("in", {.size = 2, .A = 4.0});
    net.add<softmax_competition>("out", {.size = 2});
    net.connect("in", "out", {.name = "ff", .weights = matrix::Ones(2, 2)});
    try {
      spiking_simulation sim(net);
      FAIL();
    } catch (const usage_error& e) {
      EXPECT_NE(std::string(e.what()).find(
                    "softmax_competition \"out\" is driven by the spiking population \"in\""),
                std::string::npos)
          << e.what();
    }
  }
  {  // a rule without a spike-triggered form
    network net;
    net.add<poisson_input>("in", {.size = 2, .A = 4.0});
    net.add<stochastic_wta>("out", {.size = 2});
    net.connect("in", "out", {.name = "ff", .weights = matrix::Ones(2, 2),
                              .rule = make_rule("synaptic_scaling")});
    try {
      spiking_simulation sim(net);
      FAIL();
    } catch (const usage_error& e) {
      EXPECT_NE(std::string(e.what()).find("rule \"synaptic_scaling\" has no spike-triggered"),
                std::string::npos)
          << e.what();
    }
  }
  {  // negative rates into poisson_input: its spike probabilities would be < 0
    network net;
    net.add<rate_population>("r", {.size = 2, .tau = 1.0, .transfer = "linear"});
    net.add<poisson_input>("in", {.size = 2, .A = 4.0});
    net.connect("r", "in", {.name = "w", .weights = (matrix(2, 2) << 1, 0, -3, 1).finished(),
                            .current = "linear"});
    net.stimulate("r", std::make_unique<constant_input>(vector::Ones(2)));
    spiking_simulation sim(net);
    try {
      sim.run(10.0);
      FAIL();
    } catch (const numerical_error& e) {
      EXPECT_NE(std::string(e.what()).find("poisson_input \"in\": its spike probabilities"),
                std::string::npos)
          << e.what();
    }
  }
  {  // a rate that would draw more than 10^6 spikes per step
    network net;
    net.add<poisson_input>("in", {.size = 2, .A = 4.0, .nu = 1e9});
    net.stimulate("in", std::make_unique<constant_input>(vector::Ones(2)));
    spiking_simulation sim(net);
    EXPECT_THROW(sim.run(1.0), parameter_error);
  }
  EXPECT_THROW(make_rule("spike_scaling", {{"eta", 1.0}}), parameter_error);  // W_c = x̂: zeros
  {  // spiking populations in a rate regime
    network net;
    net.add<poisson_input>("in", {.size = 2, .A = 4.0});
    net.stimulate("in", std::make_unique<constant_input>(vector::Ones(2)));
    EXPECT_THROW(quasi_static_simulation sim(net), usage_error);
  }
  // Parameters name the population and the value.
  network net;
  try {
    net.add<poisson_input>("in", {.size = 4, .A = 3.0});
    FAIL();
  } catch (const parameter_error& e) {
    EXPECT_NE(std::string(e.what()).find("poisson_input \"in\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(net.add<stochastic_wta>("out", {.size = 2, .R = -1.0}), parameter_error);
  EXPECT_THROW(net.add<poisson_input>("in2", {.size = 2, .A = 4.0, .tau_x = 0.0}), parameter_error);
}

}  // namespace
}  // namespace ratesim
