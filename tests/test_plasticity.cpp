// Plasticity rules: the quasi-static update against an independent computation, the
// synaptic-scaling invariant Σ_d W_cd = A, Oja's fixed point, explicit normalisation,
// mini-batches, and a user-defined rule plugged in by name.

#include "circuit.hpp"

#include <ratesim/mixture/bars.hpp>
#include <ratesim/mixture/poisson_mixture.hpp>
#include <ratesim/models/rate_population.hpp>
#include <ratesim/plasticity/synaptic_scaling.hpp>
#include <ratesim/random.hpp>
#include <ratesim/rule.hpp>
#include <ratesim/regimes/quasi_static.hpp>
#include <ratesim/rule.hpp>

#include <Eigen/Eigenvalues>
#include <Eigen/Geometry>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace ratesim {
namespace {

using testing::build_circuit;
using testing::circuit_params;
using testing::random_patterns;

// ΔW = ε (s_c y_d − s_c W_cd) for one raw pattern, written out loop by loop.
matrix reference_update(const matrix& W, const vector& raw, double A, double eps) {
  const Eigen::Index C = W.rows(), D = W.cols();
  const double total = raw.sum();
  std::vector<double> y(D);
  for (Eigen::Index d = 0; d < D; ++d) y[d] = (A - D) * raw[d] / total + 1.0;
  std::vector<long double> I(C, 0.0L);
  for (Eigen::Index c = 0; c < C; ++c)
    for (Eigen::Index d = 0; d < D; ++d) I[c] += std::log(static_cast<long double>(W(c, d))) * y[d];
  long double top = I[0], norm = 0;
  for (auto v : I) top = std::max(top, v);
  for (auto v : I) norm += std::exp(v - top);
  matrix dW(C, D);
  for (Eigen::Index c = 0; c < C; ++c) {
    const double s = static_cast<double>(std::exp(I[c] - top) / norm);
    for (Eigen::Index d = 0; d < D; ++d) dW(c, d) = eps * (s * y[d] - s * W(c, d));
  }
  return dW;
}

TEST(SynapticScaling, OneQuasiStaticPresentationMatchesTheRule) {
  random_stream rng(3, 0);
  const circuit_params p{.D = 16, .C = 4, .A = 48.0, .tau_W = 100.0};
  network net;
  build_circuit(net, p, rng);
  const matrix raw = random_patterns(p.D, 1, rng);
  net.stimulate("input", std::make_unique<pattern_set>(raw, pattern_set::params{.duration = 2.0}));
  const matrix W0 = net.weights("ff");

  quasi_static_simulation sim(net, {.dt = 1.0});
  sim.run_presentations(1);

  const matrix expected = reference_update(W0, raw.col(0), p.A, 2.0 / p.tau_W);
  const matrix actual = matrix(net.weights("ff")) - W0;
  EXPECT_LE((actual - expected).cwiseAbs().maxCoeff(), 1e-12 * expected.cwiseAbs().maxCoeff());
  EXPECT_EQ(sim.steps(), 2);
  EXPECT_DOUBLE_EQ(sim.time(), 2.0);
}

TEST(SynapticScaling, WeightSumsStayAtAOver1e5QuasiStaticUpdates) {
  random_stream rng(4, 0);
  const circuit_params p{.D = 16, .C = 4, .A = 48.0, .tau_W = 50.0};
  network net;
  build_circuit(net, p, rng);
  net.stimulate("input", std::make_unique<pattern_set>(
                             random_patterns(p.D, 500, rng),
                             pattern_set::params{.ordering = pattern_set::order::shuffled}));
  quasi_static_simulation sim(net);
  for (int chunk = 0; chunk < 10; ++chunk) {
    sim.run_presentations(10000);
    const vector sums = net.weights("ff").rowwise().sum();
    EXPECT_LE((sums.array() - p.A).abs().maxCoeff(), 1e-9 * p.A) << "after chunk " << chunk;
  }
  EXPECT_EQ(sim.presentations(), 100000);
}

TEST(SynapticScaling, PerturbedWeightSumIsPulledBackToA) {
  random_stream rng(5, 0);
  const circuit_params p{.D = 16, .C = 4, .A = 48.0, .tau_W = 20.0};
  network net;
  build_circuit(net, p, rng);
  net.stimulate("input", std::make_unique<pattern_set>(random_patterns(p.D, 200, rng),
                                                       pattern_set::params{}));
  net.weights("ff") *= 1.1;  // every row now sums to 1.1 A
  quasi_static_simulation sim(net);
  double previous = 0.1 * p.A;
  for (int chunk = 0; chunk < 20; ++chunk) {
    sim.run_presentations(200);
    const vector sums = net.weights("ff").rowwise().sum();
    const double deviation = (sums.array() - p.A).abs().maxCoeff();
    if (previous > 1e-12 * p.A) EXPECT_LT(deviation, previous) << "chunk " << chunk;
    previous = deviation;
  }
  EXPECT_LT(previous, 1e-12 * p.A);
}

TEST(SynapticScaling, MiniBatchSumsUpdatesComputedWithTheSameWeights) {
  random_stream rng(6, 0);
  const circuit_params p{.D = 16, .C = 4, .A = 48.0, .tau_W = 100.0};
  network net;
  build_circuit(net, p, rng);
  const matrix raw = random_patterns(p.D, 4, rng);
  net.stimulate("input", std::make_unique<pattern_set>(raw, pattern_set::params{}));
  const matrix W0 = net.weights("ff");
  quasi_static_simulation sim(net, {.batch_size = 4});
  sim.run_presentations(4);

  matrix expected = matrix::Zero(p.C, p.D);
  for (Eigen::Index n = 0; n < 4; ++n) expected += reference_update(W0, raw.col(n), p.A, 0.01);
  const matrix actual = matrix(net.weights("ff")) - W0;
  EXPECT_LE((actual - expected).cwiseAbs().maxCoeff(), 1e-12 * expected.cwiseAbs().maxCoeff());
}

// A linear input layer feeding `n_out` linear units through a linear, plastic projection.
void build_linear(network& net, const matrix& data, const matrix& W, const std::string& rule,
                  const parameters& values) {
  net.add<rate_population>("x", {.size = std::size_t(data.rows()), .tau = 1.0});
  net.add<rate_population>("y", {.size = std::size_t(W.rows()), .tau = 1.0});
  net.connect("x", "y",
              {.name = "xy", .weights = W, .current = "linear", .rule = make_rule(rule, values)});
  net.stimulate("x", std::make_unique<pattern_set>(
                         data, pattern_set::params{.ordering = pattern_set::order::shuffled,
                                                   .seed = 11}));
}

TEST(Oja, ConvergesToUnitNormPrincipalEigenvector) {
  // Zero-mean Gaussian data with covariance R diag(4, 1, 0.25) Rᵀ.
  random_stream rng(7, 0);
  Eigen::Matrix3d R = Eigen::AngleAxisd(0.7, Eigen::Vector3d(1, 2, 3).normalized()).matrix();
  const Eigen::Vector3d sd(2.0, 1.0, 0.5);
  matrix data(3, 4000);
  for (Eigen::Index n = 0; n < data.cols(); ++n) {
    Eigen::Vector3d z;
    for (int i = 0; i < 3; ++i) z[i] = sd[i] * normal(rng);  // in order: one draw after another
    data.col(n) = R * z;
  }
  const matrix cov = data * data.transpose() / static_cast<double>(data.cols());
  Eigen::SelfAdjointEigenSolver<matrix> eig(cov);
  const vector principal = eig.eigenvectors().col(2);

  network net;
  build_linear(net, data, matrix::Constant(1, 3, 0.3), "oja", {{"tau", 5000.0}});
  quasi_static_simulation sim(net);
  sim.run_presentations(200000);

  const vector w = net.weights("xy").row(0).transpose();
  EXPECT_NEAR(w.norm(), 1.0, 0.02);
  EXPECT_GT(std::abs(w.normalized().dot(principal)), 0.999);
}

TEST(NormalizedHebbian, RowSumsAreRestoredAfterEveryUpdate) {
  random_stream rng(8, 0);
  const circuit_params p{.D = 16, .C = 4, .A = 48.0, .tau_W = 10.0};
  network net;
  net.add<feedforward_inhibition>("input", {.size = 16, .A = p.A});
  net.add<softmax_competition>("output", {.size = 4});
  matrix W = uniform_weights(4, 16, 1.0, 2.0, rng);
  normalize_rows(W, p.A);
  net.connect("input", "output",
              {.name = "ff",
               .weights = W,
               .rule = make_rule("normalized_hebbian", {{"tau", p.tau_W}, {"A", p.A}})});
  // One pattern presented over and over: the winning unit's weights converge to y.
  const matrix raw = random_patterns(16, 1, rng);
  net.stimulate("input", std::make_unique<pattern_set>(raw, pattern_set::params{}));
  quasi_static_simulation sim(net);
  for (int i = 0; i < 50; ++i) {
    sim.run_presentations(20);
    const vector sums = net.weights("ff").rowwise().sum();
    EXPECT_LE((sums.array() - p.A).abs().maxCoeff(), 1e-12 * p.A);
  }
  const vector y = feedforward_inhibition("ref", {.size = 16, .A = p.A}).normalize(raw).col(0);
  const vector s = net.rates("output");
  Eigen::Index winner;
  s.maxCoeff(&winner);
  EXPECT_LT((net.weights("ff").row(winner).transpose() - y).norm(), 1e-6 * y.norm());
}

// A fourth rule, defined here and registered by name: nothing in the engine changes.
class anti_hebbian_rule : public plasticity_rule {
 public:
  explicit anti_hebbian_rule(double tau) : tau_(tau) {}
  std::string_view name() const override { return "anti_hebbian_test"; }
  void derivative(matrix_view, vector_view pre, vector_view post,
                  matrix_span dWdt) const override {
    dWdt.noalias() = -post * pre.transpose() / tau_;
  }

 private:
  double tau_;
};

TEST(PlasticityRegistry, UserRulePlugsInByName) {
  plasticity_rules().add("anti_hebbian_test", [](const parameters& values) {
    const double tau = values.get("tau", 10.0);
    values.require_all_used("rule \"anti_hebbian_test\"");
    return std::make_unique<anti_hebbian_rule>(tau);
  });
  matrix data(2, 1);
  data << 1.0, 2.0;
  network net;
  build_linear(net, data, matrix::Constant(1, 2, 0.5), "anti_hebbian_test", {{"tau", 4.0}});
  quasi_static_simulation sim(net);
  sim.run_presentations(1);
  // y = 0.5·1 + 0.5·2 = 1.5; ΔW = −T y x / τ = −1.5 x / 4.
  EXPECT_DOUBLE_EQ(net.weights("xy")(0, 0), 0.5 - 1.5 * 1.0 / 4.0);
  EXPECT_DOUBLE_EQ(net.weights("xy")(0, 1), 0.5 - 1.5 * 2.0 / 4.0);
  EXPECT_TRUE(plasticity_rules().contains("synaptic_scaling"));
}

}  // namespace
}  // namespace ratesim

namespace ratesim {
namespace {

// synaptic_scaling_rule that counts how often its sparse path did the work.
class counting_rule : public synaptic_scaling_rule {
 public:
  using synaptic_scaling_rule::synaptic_scaling_rule;
  bool step_sparse(matrix_span W, row_minima& row_min, vector_view pre, vector_view post,
                   double factor, std::vector<Eigen::Index>& changed) const override {
    const bool used = synaptic_scaling_rule::step_sparse(W, row_min, pre, post, factor, changed);
    sparse_steps += used;
    return used;
  }
  mutable int sparse_steps = 0;
};

TEST(SynapticScaling, ExactSparseUpdateIsBitIdenticalToTheDenseOne) {
  // A large A makes the posterior one-hot: most rows' updates round away.
  random_stream rng(12, 0);
  const matrix generating = bars_components(4, 20.0, 0.5);
  const mixture_sample data = sample_poisson_mixture(generating, 300, rng);
  matrix results[2];
  int sparse_steps = 0;
  for (int sparse = 0; sparse < 2; ++sparse) {
    random_stream init(13, 0);
    network net;
    auto& input = net.add<feedforward_inhibition>("input", {.size = 16, .A = 2000.0});
    net.add<softmax_competition>("output", {.size = 16});
    auto rule = std::make_unique<counting_rule>(synaptic_scaling_rule::params{.tau = 20.0});
    const counting_rule& counter = *rule;
    net.connect("input", "output",
                {.name = "ff",
                 .weights = data_mean_weights(input.normalize(data.data), 16, 0.5, 2000.0, init),
                 .rule = std::move(rule)});
    net.stimulate("input", std::make_unique<pattern_set>(
                               data.data, pattern_set::params{
                                              .ordering = pattern_set::order::shuffled, .seed = 3}));
    quasi_static_simulation sim(net, {.exact_sparse = sparse == 1});
    sim.run_presentations(3000);
    results[sparse] = net.weights("ff");
    if (sparse) sparse_steps = counter.sparse_steps;
  }
  EXPECT_GT(sparse_steps, 2000) << "the sparse path was hardly used";
  EXPECT_TRUE((results[0].array() == results[1].array()).all()) << "not bit-identical";
}

}  // namespace
}  // namespace ratesim
