// Stimuli: presentation order (sequential, seeded shuffles), and the clock that decides
// which pattern is shown at which step.

#include <ratesim/models/rate_population.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/stimulus.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

namespace ratesim {
namespace {

std::vector<std::size_t> epoch(pattern_set& s, step_count e) {
  std::vector<std::size_t> order;
  for (step_count k = 0; k < static_cast<step_count>(s.count()); ++k)
    order.push_back(s.index(e * static_cast<step_count>(s.count()) + k));
  return order;
}

TEST(PatternSet, SequentialOrderCyclesThroughThePatterns) {
  pattern_set s(matrix::Zero(2, 3), {});
  for (step_count k = 0; k < 9; ++k) EXPECT_EQ(s.index(k), static_cast<std::size_t>(k % 3));
}

TEST(PatternSet, ShuffledEpochsArePermutationsReproducibleFromTheSeed) {
  const pattern_set::params shuffled{.ordering = pattern_set::order::shuffled, .seed = 42};
  pattern_set a(matrix::Zero(1, 50), shuffled), b(matrix::Zero(1, 50), shuffled);
  std::vector<std::size_t> identity(50);
  std::iota(identity.begin(), identity.end(), std::size_t{0});
  const auto e0 = epoch(a, 0), e1 = epoch(a, 1);
  for (const auto& e : {e0, e1}) {
    auto sorted = e;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, identity);
  }
  EXPECT_NE(e0, identity);
  EXPECT_NE(e0, e1);                // every epoch has its own order
  EXPECT_EQ(epoch(b, 1), e1);       // any epoch can be rebuilt on its own
  EXPECT_EQ(epoch(b, 0), e0);
  pattern_set other(matrix::Zero(1, 50), {.ordering = pattern_set::order::shuffled, .seed = 43});
  EXPECT_NE(epoch(other, 0), e0);
}

TEST(PatternSet, EachPatternIsHeldForItsDuration) {
  matrix values(1, 3);
  values << 1.0, 2.0, 3.0;
  network net;
  // τ tiny against dt: with euler and dt = τ, u jumps to the input in one step.
  net.add<rate_population>("u", {.size = 1, .tau = 0.5});
  net.stimulate("u", std::make_unique<pattern_set>(values, pattern_set::params{.duration = 1.5}));
  ode_simulation sim(net, {.stepper = "euler", .dt = 0.5});
  std::vector<double> seen;
  for (int k = 0; k < 9; ++k) {
    sim.run_steps(1);
    seen.push_back(net.state_of("u")[0]);
  }
  EXPECT_EQ(seen, (std::vector<double>{1, 1, 1, 2, 2, 2, 3, 3, 3}));
}

TEST(PatternSet, ReplacedStimulusStartsAtItsFirstPattern) {
  network net;
  net.add<rate_population>("u", {.size = 1, .tau = 1.0});
  net.stimulate("u", std::make_unique<constant_input>(vector::Constant(1, 7.0)));
  ode_simulation sim(net, {.stepper = "euler", .dt = 1.0});
  sim.run_steps(3);
  EXPECT_DOUBLE_EQ(net.state_of("u")[0], 7.0);
  matrix values(1, 2);
  values << 1.0, 2.0;
  net.stimulate("u", std::make_unique<pattern_set>(values, pattern_set::params{.duration = 1.0}));
  sim.run_steps(1);
  EXPECT_DOUBLE_EQ(net.state_of("u")[0], 1.0);
  sim.run_steps(1);
  EXPECT_DOUBLE_EQ(net.state_of("u")[0], 2.0);
}

TEST(PatternSet, EveryReplacementStartsAnew) {
  // Replaced twice between runs, the last stimulus starts at its first pattern, even when it
  // lives where an earlier one did (the simulation knows stimuli by their stimulate() call,
  // not by address).
  network net;
  net.add<rate_population>("u", {.size = 1, .tau = 1.0});
  matrix values(1, 3);
  values << 1.0, 2.0, 3.0;
  auto patterns = [&] {
    return std::make_unique<pattern_set>(values, pattern_set::params{.duration = 1.0});
  };
  net.stimulate("u", patterns());
  ode_simulation sim(net, {.stepper = "euler", .dt = 1.0});
  sim.run_steps(2);
  EXPECT_DOUBLE_EQ(net.state_of("u")[0], 2.0);
  for (int i = 0; i < 4; ++i) net.stimulate("u", patterns());
  sim.run_steps(1);
  EXPECT_DOUBLE_EQ(net.state_of("u")[0], 1.0);
}

TEST(GeneratedInput, PatternsComeFromTheGeneratorByPresentationIndex) {
  network net;
  net.add<rate_population>("u", {.size = 1, .tau = 1.0});
  net.stimulate("u", std::make_unique<generated_input>(
                         1, 2.0, [](step_count k, vector_span out) { out[0] = double(k); }));
  ode_simulation sim(net, {.stepper = "euler", .dt = 1.0});
  sim.run(6.0);  // presentations 0, 1, 2, each 2 steps
  EXPECT_DOUBLE_EQ(net.state_of("u")[0], 2.0);
}

}  // namespace
}  // namespace ratesim
