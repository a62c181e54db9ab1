// Bad input raises a ratesim error whose message names the component, the parameter and
// the value; nothing crashes.

#include "circuit.hpp"

#include <ratesim/models/rate_population.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/regimes/quasi_static.hpp>

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace ratesim {
namespace {

// Runs `f`, expects an exception of type E whose message contains every one of `parts`.
template <class E, class F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no exception";
  } catch (const E& e) {
    const std::string message = e.what();
    for (const auto& part : parts)
      EXPECT_NE(message.find(part), std::string::npos)
          << "message \"" << message << "\" lacks \"" << part << "\"";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
  static_assert(std::is_base_of_v<error, E>);
}

TEST(Errors, AMustExceedD) {
  expect_error<parameter_error>(
      [] { feedforward_inhibition("input", {.size = 25, .A = 25.0}); },
      {"feedforward_inhibition \"input\"", "A", "> D = 25", "got 25"});
  expect_error<parameter_error>([] { feedforward_inhibition("input", {.size = 25, .A = 3.5}); },
                                {"A", "got 3.5"});
}

TEST(Errors, TimeConstantsMustBePositive) {
  expect_error<parameter_error>(
      [] { feedforward_inhibition("in", {.size = 4, .A = 8, .tau_y = 0.0}); },
      {"feedforward_inhibition \"in\"", "tau_y", "got 0"});
  expect_error<parameter_error>(
      [] { feedforward_inhibition("in", {.size = 4, .A = 8, .tau_h = -1.0}); },
      {"tau_h", "got -1"});
  expect_error<parameter_error>([] { softmax_competition("out", {.size = 3, .tau_u = -2.0}); },
                                {"softmax_competition \"out\"", "tau_u", "got -2"});
  expect_error<parameter_error>(
      [] { rate_population("r", {.size = 3, .tau = std::numeric_limits<double>::quiet_NaN()}); },
      {"rate_population \"r\"", "tau", "got nan"});
  expect_error<parameter_error>([] { make_rule("synaptic_scaling", {{"tau", -5.0}}); },
                                {"rule \"synaptic_scaling\"", "tau", "got -5"});
  expect_error<parameter_error>([] { make_rule("oja", {{"tau", 0.0}}); },
                                {"rule \"oja\"", "tau", "got 0"});
  expect_error<parameter_error>([] { pattern_set(matrix::Ones(2, 2), {.duration = 0.0}); },
                                {"pattern_set", "duration", "got 0"});
  network net;
  net.add<rate_population>("u", {.size = 1});
  expect_error<parameter_error>([&] { ode_simulation(net, {.dt = -0.1}); },
                                {"ode_simulation", "dt", "got -0.1"});
}

// The input layer with one bad pattern among good ones.
void stimulate_with(double bad_value, std::vector<std::string> parts) {
  network net;
  net.add<feedforward_inhibition>("input", {.size = 3, .A = 10.0});
  matrix patterns = matrix::Ones(3, 4);
  patterns(1, 2) = bad_value;
  parts.insert(parts.begin(), {"feedforward_inhibition \"input\"", "pattern 2", "value 1"});
  expect_error<input_error>(
      [&] { net.stimulate("input", std::make_unique<pattern_set>(patterns, pattern_set::params{})); },
      parts);
}

TEST(Errors, PatternValuesMustBeNonNegativeAndFinite) {
  stimulate_with(-0.5, {">= 0", "got -0.5"});
  stimulate_with(std::numeric_limits<double>::quiet_NaN(), {"finite", "got nan"});
  stimulate_with(std::numeric_limits<double>::infinity(), {"finite", "got inf"});
}

TEST(Errors, AllZeroPatternIsRejected) {
  network net;
  net.add<feedforward_inhibition>("input", {.size = 3, .A = 10.0});
  matrix patterns = matrix::Ones(3, 3);
  patterns.col(1).setZero();
  expect_error<input_error>(
      [&] { net.stimulate("input", std::make_unique<pattern_set>(patterns, pattern_set::params{})); },
      {"feedforward_inhibition \"input\"", "pattern 1", "all zero"});
  expect_error<input_error>(
      [&] { net.stimulate("input", std::make_unique<constant_input>(vector::Zero(3))); },
      {"constant input", "all zero"});
}

TEST(Errors, MismatchedSizesAreRejected) {
  network net;
  net.add<feedforward_inhibition>("input", {.size = 4, .A = 10.0});
  net.add<softmax_competition>("output", {.size = 2});
  expect_error<input_error>(
      [&] {
        net.stimulate("input",
                      std::make_unique<pattern_set>(matrix::Ones(5, 2), pattern_set::params{}));
      },
      {"feedforward_inhibition \"input\"", "pattern 0 has 5 values", "4 units"});
  expect_error<parameter_error>(
      [&] { net.connect("input", "output", {.name = "ff", .weights = matrix::Ones(4, 2)}); },
      {"projection \"ff\"", "weights must be 2 x 4", "got 4 x 2"});
  expect_error<input_error>(
      [&] {
        net.stimulate("input", std::make_unique<generated_input>(
                                   3, 1.0, [](step_count, vector_span out) { out.setOnes(); }));
      },
      {"generated_input", "size 3", "4 units"});
}

TEST(Errors, LogWeightCurrentNeedsPositiveWeights) {
  network net;
  net.add<feedforward_inhibition>("input", {.size = 2, .A = 10.0});
  net.add<softmax_competition>("output", {.size = 2});
  matrix W = matrix::Ones(2, 2);
  W(1, 0) = 0.0;
  expect_error<parameter_error>(
      [&] { net.connect("input", "output", {.name = "ff", .weights = W}); },
      {"projection \"ff\"", "log_weight", "W(1, 0) = 0"});
}

TEST(Errors, UnknownNamesAreRejectedWithTheKnownOnes) {
  expect_error<lookup_error>([] { make_rule("hebbian_typo"); },
                             {"plasticity rule \"hebbian_typo\"", "synaptic_scaling", "oja"});
  expect_error<parameter_error>([] { make_rule("synaptic_scaling", {{"taw", 5.0}}); },
                                {"rule \"synaptic_scaling\"", "unknown parameter", "taw"});
  network net;
  net.add<rate_population>("u", {.size = 1});
  expect_error<lookup_error>([&] { ode_simulation(net, {.stepper = "rk45"}); },
                             {"ode_simulation", "stepper \"rk45\"", "dopri5", "euler", "rk4"});
  expect_error<lookup_error>(
      [] { rate_population("r", {.size = 2, .transfer = "softplus"}); },
      {"rate_population \"r\"", "transfer function \"softplus\"", "sigmoid"});
  network fresh;
  fresh.add<rate_population>("u", {.size = 1});
  expect_error<lookup_error>(
      [&] { fresh.connect("u", "v", {.name = "uv", .weights = matrix::Ones(1, 1)}); },
      {"no population named \"v\""});
}

TEST(Errors, StructureIsFixedOnceTheStateIsLaidOut) {
  network net;
  net.add<rate_population>("u", {.size = 1});
  net.state();
  expect_error<usage_error>([&] { net.add<rate_population>("v", {.size = 1}); },
                            {"cannot add a population"});
}

TEST(Errors, QuasiStaticNeedsAFeedforwardNetworkAndAStimulus) {
  network net;
  net.add<rate_population>("a", {.size = 1});
  net.add<rate_population>("b", {.size = 1});
  net.connect("a", "b", {.name = "ff", .weights = matrix::Ones(1, 1), .current = "linear"});
  net.connect("b", "a", {.name = "back", .weights = matrix::Ones(1, 1), .current = "linear"});
  expect_error<usage_error>([&] { quasi_static_simulation sim(net); },
                            {"\"ff\", \"back\"", "\"a\", \"b\"", "feedforward", "loop"});
  network self;
  self.add<rate_population>("a", {.size = 1});
  self.connect("a", "a", {.name = "self", .weights = matrix::Ones(1, 1), .current = "linear"});
  expect_error<usage_error>([&] { quasi_static_simulation sim(self); },
                            {"projection \"self\"", "itself"});
  network lone;
  lone.add<rate_population>("a", {.size = 1});
  expect_error<usage_error>([&] { quasi_static_simulation sim(lone); }, {"stimulus"});
}

// The order in which populations settle comes from the projections, not from the order
// they were added in: a network whose input is added last settles like one whose input
// is added first.
TEST(Errors, SettleOrderFollowsTheProjections) {
  auto settled = [](bool input_first) {
    network net;
    auto add_input = [&] { net.add<rate_population>("in", {.size = 2}); };
    if (input_first) add_input();
    net.add<rate_population>("mid", {.size = 2});
    net.add<rate_population>("out", {.size = 1});
    if (!input_first) add_input();
    net.connect("in", "mid", {.name = "a", .weights = matrix::Constant(2, 2, 0.5), .current = "linear"});
    net.connect("mid", "out", {.name = "b", .weights = matrix::Constant(1, 2, 2.0), .current = "linear"});
    net.stimulate("in", std::make_unique<constant_input>(vector::Constant(2, 3.0)));
    ode_simulation sim(net, {.stepper = "euler", .dt = 0.1});
    sim.settle();
    return vector(net.rates("out"));
  };
  // in: u = 3 (its external input), mid: 0.5·3 + 0.5·3 = 3, out: 2·3 + 2·3 = 12.
  EXPECT_DOUBLE_EQ(settled(true)[0], 12.0);
  EXPECT_DOUBLE_EQ(settled(false)[0], 12.0);
}

}  // namespace
}  // namespace ratesim
