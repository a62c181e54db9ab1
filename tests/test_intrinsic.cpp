// Intrinsic plasticity (ratesim/intrinsic.hpp): the built-in rules' fixed points and the
// invariants they keep, in both regimes; the bias reaching the population's input exactly
// as the rule defines it; bit-identical resume; the checks at the edges (a step too large,
// a variable that turns non-finite, a second rule on one population).

#include "circuit.hpp"

#include <ratesim/error.hpp>
#include <ratesim/plasticity/homeostasis.hpp>
#include <ratesim/plasticity/learned_priors.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/regimes/quasi_static.hpp>

#include <gtest/gtest.h>

#include <cmath>

namespace ratesim {
namespace {

constexpr Eigen::Index D = 12, C = 4;
constexpr double A = 36.0;

// Feedforward inhibition -> softmax on a static log-weight projection (no weight rule:
// only the intrinsic rule learns), presenting the columns of `patterns` in order for 1 ms
// each. Row c of W prefers pixels 3c..3c+2, so pattern c (bright there) makes unit c win.
void build(network& net, const matrix& patterns, const std::string& rule, double tau) {
  net.add<feedforward_inhibition>("input", {.size = D, .A = A, .tau_y = 1.0, .tau_h = 1.0});
  net.add<softmax_competition>("output", {.size = C, .tau_u = 1.0});
  matrix W = matrix::Constant(C, D, 1.0);
  for (Eigen::Index c = 0; c < C; ++c) W.block(c, 3 * c, 1, 3).setConstant(4.0);
  normalize_rows(W, A);
  net.connect("input", "output", {.name = "ff", .weights = W});
  net.adapt("output", make_intrinsic_rule(rule, {{"tau", tau}}));
  net.stimulate("input", std::make_unique<pattern_set>(
                             patterns, pattern_set::params{.duration = 1.0}));
}

// Pattern c: 1 everywhere, 3 on unit c's pixels.
matrix pattern_for(Eigen::Index c) {
  matrix p = matrix::Constant(D, 1, 1.0);
  p.block(3 * c, 0, 3, 1).setConstant(3.0);
  return p;
}

TEST(Homeostasis, DrivesEveryUnitToTheTargetAndKeepsTheSumOfBiases) {
  // One pattern that unit 0 wins by far: at the rule's fixed point every unit is active
  // 1/C of the time, s = 1/C, so b_c = -I_c + const. Σ_c b_c stays 0 (Σ_c s_c = 1).
  network net;
  build(net, pattern_for(0), "homeostasis", 5.0);
  quasi_static_simulation sim(net);
  const auto theta = std::as_const(net).intrinsic_state(1);
  double worst_sum = 0.0;
  for (int i = 0; i < 1000; ++i) {
    sim.run_presentations(1);
    worst_sum = std::max(worst_sum, std::abs(theta.sum()));
  }
  const vector s = net.rates("output");
  EXPECT_LT((s.array() - 1.0 / C).abs().maxCoeff(), 1e-12) << s.transpose();
  EXPECT_LT(worst_sum, 1e-13);
  EXPECT_GT(theta[1], 0.0);  // the losers became more excitable than the winner
  EXPECT_LT(theta[0], 0.0);
}

TEST(Homeostasis, TheBiasEntersTheInputExactly) {
  // s = softmax(I + b) with I the log-weight current, computed here independently. A
  // presentation settles the populations with the bias it starts with, then steps b.
  network net;
  build(net, pattern_for(2), "homeostasis", 3.0);
  quasi_static_simulation sim(net);
  sim.run_presentations(6);
  const vector b_before = std::as_const(net).intrinsic_state(1);
  sim.run_presentations(1);
  net.evaluate();
  const vector y = net.rates("input");
  const matrix W = net.weights("ff");
  const vector b = std::as_const(net).intrinsic_state(1);
  ASSERT_NE(b, b_before);
  vector u = W.array().log().matrix() * y + b_before;
  u = (u.array() - u.maxCoeff()).exp().matrix();
  u /= u.sum();
  EXPECT_LT((net.rates("output") - u).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_LT((net.last_input(1) - (W.array().log().matrix() * y + b)).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(Homeostasis, ODEReachesTheSameFixedPoint) {
  network net;
  build(net, pattern_for(0), "homeostasis", 5.0);
  ode_simulation sim(net, ode_options{.stepper = "rk4", .dt = 0.05});
  sim.run(400.0);
  EXPECT_LT((net.rates("output").array() - 1.0 / C).abs().maxCoeff(), 1e-6);
  EXPECT_LT(std::abs(std::as_const(net).intrinsic_state(1).sum()), 1e-12);
}

TEST(Homeostasis, ATargetOfItsOwn) {
  // With m given, Σ_c s_c = 1 must split as the fixed point allows: target 0.25 for C = 4
  // is the default's fixed point; another m is refused only when invalid.
  EXPECT_THROW(make_intrinsic_rule("homeostasis", {{"target", -1.0}}), parameter_error);
  EXPECT_THROW(make_intrinsic_rule("homeostasis", {{"tau", 0.0}}), parameter_error);
  EXPECT_THROW(make_intrinsic_rule("homeostasis", {{"tua", 1.0}}), parameter_error);
  const auto rule = make_intrinsic_rule("homeostasis", {{"target", 0.1}, {"tau", 2.0}});
  vector theta = vector::Zero(3), d(3);
  const vector r = (vector(3) << 0.1, 0.6, 0.3).finished();
  rule->derivative(theta, r, d);
  EXPECT_DOUBLE_EQ(d[0], 0.0);
  EXPECT_DOUBLE_EQ(d[1], (0.1 - 0.6) / 2.0);
}

TEST(LearnedPriors, TrackTheFrequencyOfEachUnitsPatterns) {
  // Patterns of units 0, 0, 0, 1 in turn: the priors' fixed point is the mean posterior,
  // about (3/4, 1/4, 0, 0) (units 2 and 3 lose every pattern and fall to the floor; the
  // posteriors are not exactly one-hot, so compare with their own mean). Σ π = 1 always.
  matrix P(D, 4);
  P << pattern_for(0), pattern_for(0), pattern_for(0), pattern_for(1);
  network net;
  build(net, P, "priors", 40.0);
  quasi_static_simulation sim(net);
  const auto pi = std::as_const(net).intrinsic_state(1);
  double worst = 0.0;
  for (int i = 0; i < 4000; ++i) {
    sim.run_presentations(1);
    worst = std::max(worst, std::abs(pi.sum() - 1.0));
  }
  EXPECT_LT(worst, 1e-15 * C);
  // The mean posterior of the last cycle of four patterns, at the learned priors.
  vector mean = vector::Zero(C);
  for (int i = 0; i < 4; ++i) {
    sim.run_presentations(1);
    mean += net.rates("output") / 4.0;
  }
  // A ripple of order T/τ_π around the mean remains (the priors move with each pattern).
  EXPECT_NEAR(pi[0], mean[0], 0.05);
  EXPECT_NEAR(pi[1], mean[1], 0.05);
  EXPECT_NEAR(pi[0], 0.75, 0.06);
  // The floor, then the rescaling by Σ π (which the floor raised a little above 1).
  EXPECT_GE(pi.minCoeff(), learned_priors_rule::relative_floor / C * (1.0 - 1e-12));
}

TEST(LearnedPriors, AStepBeyondTauIsRefusedBeforeTheRun) {
  network net;
  build(net, pattern_for(0), "priors", 0.5);  // T = 1 ms > τ_π
  try {
    quasi_static_simulation sim(net);
    sim.run_presentations(1);
    FAIL() << "a step of 1 ms was taken with tau = 0.5 ms";
  } catch (const parameter_error& e) {
    EXPECT_NE(std::string(e.what()).find("intrinsic rule \"priors\""), std::string::npos) << e.what();
  }
}

TEST(IntrinsicRule, OnePerPopulationAndOnlyWhileBuilding) {
  network net;
  build(net, pattern_for(0), "homeostasis", 5.0);
  EXPECT_THROW(net.adapt("output", make_intrinsic_rule("priors")), usage_error);
  EXPECT_THROW(net.adapt("nobody", make_intrinsic_rule("priors")), lookup_error);
  EXPECT_THROW(make_intrinsic_rule("no_such_rule"), lookup_error);
  net.state();
  EXPECT_THROW(net.adapt("input", make_intrinsic_rule("priors")), usage_error);
}

// A rule whose θ turns NaN at its `bad`-th step: homeostasis otherwise. Its variable name
// is a parameter, for the checks of adapt().
class failing_rule : public intrinsic_rule {
 public:
  failing_rule(int bad, std::string variable = "excitability")
      : bad_(bad), variable_(std::move(variable)) {}
  std::string_view name() const override { return "failing"; }
  std::string_view variable() const override { return variable_; }
  void initial_state(vector_span theta) const override { theta.setZero(); }
  void bias(vector_view theta, vector_span b) const override { b = theta; }
  void derivative(vector_view, vector_view rates, vector_span dtheta) const override {
    dtheta = (0.25 - rates.array()).matrix();
    if (++calls_ == bad_) dtheta[2] = std::nan("");
  }

 private:
  int bad_;
  std::string variable_;
  mutable int calls_ = 0;
};

TEST(IntrinsicRule, AVariableThatTurnsNonFiniteMidRunIsNamed) {
  network failing;
  failing.add<feedforward_inhibition>("input", {.size = D, .A = A});
  failing.add<softmax_competition>("output", {.size = C});
  failing.connect("input", "output", {.name = "ff", .weights = matrix::Constant(C, D, A / D)});
  failing.adapt("output", std::make_unique<failing_rule>(5));
  failing.stimulate("input", std::make_unique<pattern_set>(pattern_for(1), pattern_set::params{}));
  quasi_static_simulation sim(failing);
  try {
    sim.run_presentations(10);
    FAIL() << "ran on with a NaN excitability";
  } catch (const numerical_error& e) {
    const std::string what = e.what();
    EXPECT_EQ(sim.presentations(), 4) << what;  // the 5th step made it; checked right after
    EXPECT_NE(what.find("intrinsic rule \"failing\": excitability of unit 2"), std::string::npos)
        << what;
  }
}

TEST(IntrinsicRule, ItsVariableNeedsANameOfItsOwn) {
  for (const char* taken : {"u", "rate", "input", "a/b", ""}) {
    network net;
    net.add<softmax_competition>("output", {.size = C});
    EXPECT_THROW(net.adapt("output", std::make_unique<failing_rule>(0, taken)), parameter_error)
        << taken;
  }
}

TEST(IntrinsicRule, AMiniBatchSumsItsSteps) {
  // Static W, one pattern: every presentation of a batch of 4 settles to the same s, so
  // after it b = 4 T (1/C − s) / τ, and priors stay a distribution after the batch's step.
  network net;
  build(net, pattern_for(3), "homeostasis", 8.0);
  quasi_static_simulation sim(net, quasi_static_options{.batch_size = 4});
  sim.run_presentations(4);
  const vector s = net.rates("output");  // settled in the last presentation, still at b = 0
  const vector expected = (4.0 * 1.0 * (1.0 / C - s.array()) / 8.0).matrix();
  EXPECT_LT((std::as_const(net).intrinsic_state(1) - expected).cwiseAbs().maxCoeff(), 1e-15);

  network priors;
  matrix P(D, 2);
  P << pattern_for(0), pattern_for(1);
  build(priors, P, "priors", 10.0);
  quasi_static_simulation batched(priors, quasi_static_options{.batch_size = 3});
  batched.run_presentations(30);
  const auto pi = std::as_const(priors).intrinsic_state(1);
  EXPECT_NEAR(pi.sum(), 1.0, 1e-15);
  EXPECT_GT(pi[0], 0.3);
  EXPECT_GT(pi[1], 0.3);
}

TEST(IntrinsicRule, IsAVariableOfItsPopulation) {
  network net;
  build(net, pattern_for(0), "priors", 10.0);
  EXPECT_EQ(net.variable("output", "prior").size(), C);
  EXPECT_DOUBLE_EQ(net.variable("output", "prior")[0], 1.0 / C);
  EXPECT_THROW(net.variable("output", "bias"), lookup_error);
  EXPECT_NE(net.describe_structure().find("intrinsic rule priors"), std::string::npos);
}

class IntrinsicResume : public ::testing::TestWithParam<std::string> {};

TEST_P(IntrinsicResume, IsBitIdentical) {
  // The full circuit (synaptic scaling too) with an intrinsic rule, in both regimes and
  // with a mini-batch: stopped, saved, restored into a new network, run on.
  const std::string regime = GetParam();
  auto make = [&](network& net) -> std::unique_ptr<simulation> {
    random_stream rng(3, 0);
    testing::build_circuit(net, {.D = D, .C = C, .A = A, .tau_W = 20.0}, rng);
    net.adapt("output", make_intrinsic_rule(regime == "quasi_static" ? "priors" : "homeostasis",
                                            {{"tau", 10.0}}));
    net.stimulate("input", std::make_unique<pattern_set>(
                               testing::random_patterns(D, 9, rng),
                               pattern_set::params{.duration = 1.0,
                                                   .ordering = pattern_set::order::shuffled,
                                                   .seed = 5}));
    if (regime == "ode")
      return std::make_unique<ode_simulation>(net, ode_options{.stepper = "rk4", .dt = 0.1});
    return std::make_unique<quasi_static_simulation>(
        net, quasi_static_options{.batch_size = regime == "batch" ? 3u : 1u});
  };
  const step_count total = 60, pause = regime == "ode" ? 23 : 31;
  network straight;
  make(straight)->run_steps(total);
  checkpoint saved;
  {
    network first;
    auto sim = make(first);
    sim->pause_at(pause);
    sim->run_steps(total);
    ASSERT_TRUE(sim->paused());
    saved = sim->save();
  }
  network resumed;
  auto sim = make(resumed);
  sim->restore(saved);
  sim->run_steps(total - sim->steps());
  const vector& a = straight.state();
  const vector& b = resumed.state();
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ((a.array() != b.array()).count(), 0);
  EXPECT_NE(std::as_const(straight).intrinsic_state(1).maxCoeff(),
            std::as_const(straight).intrinsic_state(1).minCoeff());  // it learned something
}

INSTANTIATE_TEST_SUITE_P(Regimes, IntrinsicResume,
                         ::testing::Values("quasi_static", "batch", "ode"));

}  // namespace
}  // namespace ratesim
