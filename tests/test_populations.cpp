// Each population's ODE form converges to its closed-form fixed point, and the closed forms
// agree with the equations of DESIGN.md section 1 computed independently here.

#include "circuit.hpp"

#include <ratesim/models/rate_population.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/ode.hpp>

#include <gtest/gtest.h>

#include <cmath>

namespace ratesim {
namespace {

// Integrates `net` with rk4 for `duration` ms under its (constant) stimulus.
void integrate(network& net, double duration) {
  ode_simulation sim(net, {.stepper = "rk4", .dt = 0.01});
  sim.run(duration);
}

TEST(FeedforwardInhibition, FixedPointIsTheNormalisationFormula) {
  random_stream rng(1, 0);
  const matrix raw = testing::random_patterns(16, 5, rng);
  feedforward_inhibition input("input", {.size = 16, .A = 48.0});
  const matrix y = input.normalize(raw);
  for (Eigen::Index n = 0; n < raw.cols(); ++n) {
    const double total = raw.col(n).sum();
    for (Eigen::Index d = 0; d < raw.rows(); ++d)
      EXPECT_NEAR(y(d, n), (48.0 - 16.0) * raw(d, n) / total + 1.0, 1e-12);
    EXPECT_NEAR(y.col(n).sum(), 48.0, 1e-12);
  }
}

TEST(FeedforwardInhibition, OdeConvergesToFixedPointIn20TimeConstants) {
  random_stream rng(2, 0);
  const vector raw = testing::random_patterns(16, 1, rng).col(0);
  const double total = raw.sum();
  network net;
  // τ_h ≠ τ_y, and the pool starts at half its fixed point.
  net.add<feedforward_inhibition>(
      "input", {.size = 16, .A = 48.0, .tau_y = 2.0, .tau_h = 1.0, .h0 = 0.5 * total});
  net.stimulate("input", std::make_unique<constant_input>(raw));
  integrate(net, 20 * 2.0);

  EXPECT_NEAR(net.variable("input", "h")[0], total, 1e-8 * total);
  const vector y = net.rates("input");
  for (Eigen::Index d = 0; d < 16; ++d) {
    const double expected = 32.0 * raw[d] / total + 1.0;
    EXPECT_NEAR(y[d], expected, 1e-8 * expected) << "unit " << d;
  }
}

TEST(SoftmaxCompetition, OdeConvergesToSoftmaxOfInput) {
  // Inputs in the thousands, as log-weight currents are: a naive exp would overflow.
  vector I(5);
  I << 2000.0, 2001.5, 1999.0, 2001.0, 1500.0;
  network net;
  net.add<softmax_competition>("output", {.size = 5, .tau_u = 0.5});
  net.stimulate("output", std::make_unique<constant_input>(I));
  integrate(net, 20 * 0.5);

  const vector u = net.state_of("output");
  for (Eigen::Index c = 0; c < 5; ++c) EXPECT_NEAR(u[c], I[c], 1e-8 * std::abs(I[c]));
  // Independent softmax of u in long double, shifted by hand: the rates are exactly it.
  long double norm = 0;
  for (Eigen::Index c = 0; c < 5; ++c) norm += std::exp(static_cast<long double>(u[c] - u[1]));
  const vector s = net.rates("output");
  EXPECT_NEAR(s.sum(), 1.0, 1e-15);
  for (Eigen::Index c = 0; c < 5; ++c) {
    const double expected =
        static_cast<double>(std::exp(static_cast<long double>(u[c] - u[1])) / norm);
    EXPECT_NEAR(s[c], expected, 1e-13 * expected) << "unit " << c;
  }
  EXPECT_GT(s[4], 0.0);  // e^-501 relative to the winner: tiny, but no underflow to NaN
  EXPECT_NEAR(s[1] / s[3], std::exp(0.5), 1e-4);
}

class RatePopulation : public ::testing::TestWithParam<std::string> {};

double reference_transfer(const std::string& f, double u) {
  if (f == "linear") return u;
  if (f == "relu") return u > 0 ? u : 0.0;
  if (f == "sigmoid") return 1.0 / (1.0 + std::exp(-u));
  if (f == "tanh") return std::tanh(u);
  ADD_FAILURE() << "no reference for " << f;
  return 0;
}

TEST_P(RatePopulation, OdeConvergesToFixedPointAndRatesAreTransferOfIt) {
  vector I(4);
  I << -2.0, -0.25, 0.5, 3.0;
  network net;
  net.add<rate_population>("units", {.size = 4, .tau = 3.0, .transfer = GetParam()});
  net.stimulate("units", std::make_unique<constant_input>(I));
  integrate(net, 20 * 3.0);

  const vector u = net.state_of("units");
  const vector r = net.rates("units");
  for (Eigen::Index i = 0; i < 4; ++i) {
    EXPECT_NEAR(u[i], I[i], 1e-8 * std::abs(I[i]));
    EXPECT_NEAR(r[i], reference_transfer(GetParam(), u[i]), 1e-14);
  }
}

INSTANTIATE_TEST_SUITE_P(TransferFunctions, RatePopulation,
                         ::testing::Values("linear", "relu", "sigmoid", "tanh"));

TEST(RatePopulation, UserTransferFunctionPlugsInByName) {
  transfer_functions().add("square_test", [](vector_view u, vector_span r) {
    r = u.array().square().matrix();
  });
  network net;
  net.add<rate_population>("units", {.size = 2, .tau = 1.0, .transfer = "square_test"});
  net.state_of("units") << 3.0, -2.0;
  const vector r = net.rates("units");
  EXPECT_DOUBLE_EQ(r[0], 9.0);
  EXPECT_DOUBLE_EQ(r[1], 4.0);
}

TEST(Network, QuasiStaticSettleChainsFixedPointsThroughProjections) {
  // Two linear populations in a chain: u2 = W u1 with u1 = external input.
  network net;
  net.add<rate_population>("a", {.size = 3, .tau = 1.0});
  net.add<rate_population>("b", {.size = 2, .tau = 1.0, .transfer = "tanh"});
  matrix W(2, 3);
  W << 0.1, -0.2, 0.3, 0.4, 0.5, -0.6;
  net.connect("a", "b", {.name = "ab", .weights = W, .current = "linear"});
  vector in(3);
  in << 1.0, 2.0, -1.0;
  net.stimulate("a", std::make_unique<constant_input>(in));
  ode_simulation sim(net);
  sim.settle();
  const vector expected = (W * in).array().tanh();
  EXPECT_NEAR((net.rates("b") - expected).norm(), 0.0, 1e-15);
}

}  // namespace
}  // namespace ratesim
