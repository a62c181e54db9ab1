// Weight rules that read a variable of their postsynaptic population (rule.hpp:
// post_variable): the BCM rule with a sliding threshold reaching its known selective fixed
// point, synaptic scaling divided by learned priors against an online-EM step computed
// here, and the refusal of a rule whose variable the population lacks.

#include "circuit.hpp"

#include <ratesim/error.hpp>
#include <ratesim/models/rate_population.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/regimes/quasi_static.hpp>

#include <gtest/gtest.h>

#include <cmath>

namespace ratesim {
namespace {

// Four bars on a 3 × 3 grid, one per orientation (horizontal, vertical and the two
// diagonals), one per column: they share the centre pixel and are linearly independent.
matrix oriented_bars() {
  matrix bars = matrix::Zero(9, 4);
  for (int i = 0; i < 3; ++i) {
    bars(3 * 1 + i, 0) = 1.0;      // row 1
    bars(3 * i + 1, 1) = 1.0;      // column 1
    bars(3 * i + i, 2) = 1.0;      // diagonal
    bars(3 * i + 2 - i, 3) = 1.0;  // anti-diagonal
  }
  return bars;
}

TEST(BCM, ASlidingThresholdMakesEveryUnitSelectiveToOneOrientation) {
  // Linear units r = W x under τ dW/dt = r (r − θ) x with τ_θ dθ/dt = r² − θ. With K
  // equally frequent, linearly independent patterns the stable fixed points are selective
  // (Intrator & Cooper 1992): r = K for one pattern, 0 for the others, and θ = E[r²] = K.
  const matrix bars = oriented_bars();
  const double K = static_cast<double>(bars.cols());
  network net;
  net.add<rate_population>("x", {.size = 9, .tau = 1.0});
  net.add<rate_population>("y", {.size = 3, .tau = 1.0});
  random_stream rng(7, stream_id("test.bcm"));
  net.connect("x", "y", {.name = "xy", .weights = uniform_weights(3, 9, 0.05, 0.25, rng),
                         .current = "linear",
                         .rule = make_rule("bcm", {{"tau", 200.0},
                                                   {"theta_from", std::string("threshold")}})});
  net.adapt("y", make_intrinsic_rule("sliding_threshold", {{"tau", 20.0}}));
  net.stimulate("x", std::make_unique<pattern_set>(
                         bars, pattern_set::params{.duration = 1.0,
                                                   .ordering = pattern_set::order::shuffled,
                                                   .seed = 3}));
  quasi_static_simulation sim(net);
  // The steps' noise around the fixed point shrinks with the learning rate.
  for (double scale : {1.0, 0.1, 0.01}) {
    net.set_learning_rate_scale(scale);
    sim.run_presentations(40000);
  }
  const matrix responses = net.weights("xy") * bars;  // 3 units × 4 orientations
  const vector theta = std::as_const(net).intrinsic_state(1);
  for (Eigen::Index c = 0; c < responses.rows(); ++c) {
    Eigen::Index best = 0;
    responses.row(c).maxCoeff(&best);
    for (Eigen::Index k = 0; k < responses.cols(); ++k) {
      const double expected = k == best ? K : 0.0;
      EXPECT_NEAR(responses(c, k), expected, 0.02 * K) << "unit " << c << "\n" << responses;
    }
    EXPECT_NEAR(theta[c], K, 0.02 * K) << theta.transpose();
  }
}

TEST(BCM, AFixedThresholdOrAVariableNotBoth) {
  EXPECT_NO_THROW(make_rule("bcm", {{"theta", 0.5}}));
  EXPECT_THROW(make_rule("bcm", {{"theta", 0.5}, {"theta_from", std::string("threshold")}}),
               parameter_error);
  EXPECT_THROW(make_rule("bcm", {{"tau", -1.0}}), parameter_error);
  EXPECT_THROW(make_intrinsic_rule("sliding_threshold", {{"initial", -1.0}}), parameter_error);
}

TEST(PostVariable, AVariableThePopulationLacksIsRefusedAndTheNetworkStaysBuildable) {
  network net;
  random_stream rng(1, 1);
  testing::build_circuit(net, {.C = 3}, rng);
  // A second projection whose rule divides by "prior", which "output" does not keep yet.
  net.add<feedforward_inhibition>("other", {.size = 16, .A = 48.0, .tau_y = 1.0, .tau_h = 1.0});
  matrix W = uniform_weights(3, 16, 1.0, 2.0, rng);
  net.connect("other", "output",
              {.name = "g", .weights = W,
               .rule = make_rule("synaptic_scaling", {{"divide_by", std::string("prior")}})});
  try {
    net.state();
    FAIL() << "no error";
  } catch (const parameter_error& e) {
    EXPECT_EQ(e.component(), "projection \"g\"");
    EXPECT_EQ(e.parameter(), "rule");
    EXPECT_EQ(e.value(), "prior");
    EXPECT_NE(std::string(e.what()).find("\"output\""), std::string::npos) << e.what();
  }
  net.adapt("output", make_intrinsic_rule("priors"));
  EXPECT_EQ(net.state().size(), 2 * (16 + 1) + 3 + 3 + 2 * 3 * 16);  // y and h, u, π, W
}

TEST(PostVariable, ScalingDividedByLearnedPriorsIsAnOnlineEMStep) {
  // One presentation, computed here: s = softmax(ln W y + ln π), then the priors step
  // π' = π + f (s − π)/τ_π (renormalised; it sums to 1 already), then each unit's weights
  // W_c' = W_c + f s_c / (τ_W C π'_c) (y − W_c), the step divided by the relative prior.
  constexpr Eigen::Index C = 4, D = 16;
  const double T = 2.0, tau_W = 40.0, tau_pi = 30.0;
  network net;
  random_stream rng(5, 2);
  net.add<feedforward_inhibition>("input", {.size = D, .A = 48.0, .tau_y = 1.0, .tau_h = 1.0});
  net.add<softmax_competition>("output", {.size = C, .tau_u = 1.0});
  matrix W0 = uniform_weights(C, D, 1.0, 2.0, rng);
  normalize_rows(W0, 48.0);
  net.connect("input", "output",
              {.name = "ff", .weights = W0,
               .rule = make_rule("synaptic_scaling",
                                 {{"tau", tau_W}, {"divide_by", std::string("prior")}})});
  net.adapt("output", make_intrinsic_rule("priors", {{"tau", tau_pi}}));
  const matrix patterns = testing::random_patterns(D, 3, rng, 48.0);
  net.stimulate("input", std::make_unique<pattern_set>(patterns, pattern_set::params{.duration = T}));
  quasi_static_simulation sim(net, {.dt = 1.0});
  sim.run_presentations(2);  // priors away from uniform
  const matrix W = net.weights("ff");
  const vector pi = std::as_const(net).intrinsic_state(1);
  sim.run_presentations(1);
  const vector y = net.rates("input");  // the third pattern, settled
  vector s = W.array().log().matrix() * y + pi.array().log().matrix();
  s = (s.array() - s.maxCoeff()).exp().matrix();
  s /= s.sum();
  vector pi_new = pi + T * (s - pi) / tau_pi;
  pi_new /= pi_new.sum();
  matrix W_new = W;
  for (Eigen::Index c = 0; c < C; ++c)
    W_new.row(c) += T * s[c] / (tau_W * C * pi_new[c]) * (y.transpose() - W.row(c));
  EXPECT_LT((std::as_const(net).intrinsic_state(1) - pi_new).cwiseAbs().maxCoeff(), 1e-15);
  EXPECT_LT(((net.weights("ff") - W_new).array() / W_new.array()).abs().maxCoeff(), 1e-13);
  ASSERT_GT((pi - vector::Constant(C, 1.0 / C)).cwiseAbs().maxCoeff(), 1e-3);  // a real test
}

// The circuit with synaptic scaling divided by the output layer's variable `variable`,
// kept by intrinsic rule `intrinsic`.
void divided_circuit(network& net, random_stream& rng, const std::string& intrinsic,
                     const std::string& variable) {
  constexpr Eigen::Index C = 5, D = 12;
  net.add<feedforward_inhibition>("input", {.size = D, .A = 36.0, .tau_y = 1.0, .tau_h = 1.0});
  net.add<softmax_competition>("output", {.size = C, .tau_u = 1.0});
  matrix W = uniform_weights(C, D, 1.0, 2.0, rng);
  normalize_rows(W, 36.0);
  net.connect("input", "output",
              {.name = "ff", .weights = W,
               .rule = make_rule("synaptic_scaling", {{"tau", 50.0}, {"divide_by", variable}})});
  net.adapt("output", make_intrinsic_rule(intrinsic));
  net.stimulate("input", std::make_unique<pattern_set>(testing::random_patterns(D, 4, rng, 36.0),
                                                       pattern_set::params{.duration = 1.0}));
}

TEST(PostVariable, TheODERightHandSideReadsTheVariableOfTheSameState) {
  network net;
  random_stream rng(8, 1);
  divided_circuit(net, rng, "priors", "prior");
  ode_simulation sim(net, ode_options{.stepper = "euler", .dt = 0.05});
  sim.run(2.0);  // rates and W away from their start
  auto pi = net.intrinsic_state(1);
  pi << 0.1, 0.3, 0.2, 0.15, 0.25;  // a state of the ODE, as any stage of a stepper sees
  const vector x = net.state();
  vector dxdt(x.size());
  net(x, dxdt, sim.time());
  const vector s = net.last_rates(1), y = net.last_rates(0);
  const matrix W = net.weights("ff");
  matrix expected(W.rows(), W.cols());
  for (Eigen::Index c = 0; c < W.rows(); ++c)
    expected.row(c) = s[c] * 0.2 / (50.0 * pi[c]) * (y.transpose() - W.row(c));
  const Eigen::Index at = x.size() - W.size();  // the plastic W is the state's tail
  const matrix dW = Eigen::Map<const matrix>(dxdt.data() + at, W.rows(), W.cols());
  EXPECT_LT(((dW - expected).array() / expected.array()).abs().maxCoeff(), 1e-13);
}

TEST(PostVariable, ADivisorThatIsNotPositiveIsANumericalErrorNamingIt) {
  // Homeostasis's bias starts at 0 and steps first: a losing unit's turns negative, which
  // would turn its learning anti-Hebbian.
  network net;
  random_stream rng(8, 2);
  divided_circuit(net, rng, "homeostasis", "bias");
  quasi_static_simulation sim(net);
  try {
    sim.run_presentations(3);
    FAIL() << "no error";
  } catch (const numerical_error& e) {
    EXPECT_EQ(e.parameter(), "divide_by");
    EXPECT_NE(std::string(e.what()).find("divide_by \"bias\" must be finite and > 0, got -"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(sim.presentations(), 0);
}

}  // namespace
}  // namespace ratesim
