// The bars test from a fixed seed: the circuit, learning in the quasi-static regime from
// samples of a Poisson mixture of bars, recovers every generating bar.

#include <ratesim/mixture/bars.hpp>
#include <ratesim/mixture/poisson_mixture.hpp>
#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/softmax_competition.hpp>
#include <ratesim/network.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/quasi_static.hpp>

#include <gtest/gtest.h>

namespace ratesim {
namespace {

TEST(Bars, GeneratorHasTheKnownComponents) {
  const matrix W = bars_components(3, 5.0, 0.5);
  ASSERT_EQ(W.rows(), 6);
  ASSERT_EQ(W.cols(), 9);
  EXPECT_DOUBLE_EQ(W(0, 0), 5.0);  // horizontal bar 0: pixels 0, 1, 2
  EXPECT_DOUBLE_EQ(W(0, 2), 5.0);
  EXPECT_DOUBLE_EQ(W(0, 3), 0.5);
  EXPECT_DOUBLE_EQ(W(4, 1), 5.0);  // vertical bar 1: pixels 1, 4, 7
  EXPECT_DOUBLE_EQ(W(4, 7), 5.0);
  EXPECT_DOUBLE_EQ(W(4, 0), 0.5);
}

TEST(Bars, PoissonSamplesHaveTheComponentMeans) {
  random_stream rng(1, 0);
  const matrix W = bars_components(3, 5.0, 0.5);
  const mixture_sample s = sample_poisson_mixture(W, 30000, rng);
  matrix sum = matrix::Zero(W.rows(), W.cols());
  vector count = vector::Zero(W.rows());
  for (std::size_t n = 0; n < s.labels.size(); ++n) {
    sum.row(s.labels[n]) += s.data.col(static_cast<Eigen::Index>(n)).transpose();
    count[s.labels[n]] += 1.0;
  }
  for (Eigen::Index c = 0; c < W.rows(); ++c) {
    EXPECT_NEAR(count[c] / 30000.0, 1.0 / 6.0, 0.01);  // uniform prior
    for (Eigen::Index d = 0; d < W.cols(); ++d)  // Poisson mean; sd of the mean ≈ 0.03
      EXPECT_NEAR(sum(c, d) / count[c], W(c, d), 0.15) << c << ", " << d;
  }
}

TEST(Bars, CircuitRecoversEveryGeneratingBar) {
  const double A = 40.0;
  random_stream rng(2012, 0);
  const matrix generating = bars_components(5, 10.0, 1.0);
  const mixture_sample train = sample_poisson_mixture(generating, 2000, rng);

  network net;
  auto& input = net.add<feedforward_inhibition>("input", {.size = 25, .A = A});
  net.add<softmax_competition>("output", {.size = 10});
  net.connect("input", "output",
              {.name = "ff",
               .weights = data_mean_weights(input.normalize(train.data), 10, 0.5, A, rng),
               .rule = make_rule("synaptic_scaling", {{"tau", 500.0}})});
  net.stimulate("input", std::make_unique<pattern_set>(
                             train.data, pattern_set::params{
                                             .ordering = pattern_set::order::shuffled, .seed = 7}));
  quasi_static_simulation sim(net);
  sim.run_presentations(40000);

  const auto matches = match_components(net.weights("ff"), normalized_components(generating, A));
  std::vector<Eigen::Index> units;
  for (std::size_t b = 0; b < matches.size(); ++b) {
    EXPECT_LT(matches[b].error, 0.10) << "bar " << b;
    units.push_back(matches[b].unit);
  }
  std::sort(units.begin(), units.end());
  EXPECT_EQ(std::unique(units.begin(), units.end()), units.end()) << "a unit matches two bars";
}

}  // namespace
}  // namespace ratesim
