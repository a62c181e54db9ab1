// The Poisson mixture: log-likelihood and posterior against independent computations, EM's
// monotone ascent and recovery of the bars, the link to the circuit, and the classifier.

#include "circuit.hpp"

#include <ratesim/models/bars.hpp>
#include <ratesim/models/classifier.hpp>
#include <ratesim/models/poisson_mixture.hpp>
#include <ratesim/simulation.hpp>

#include <gtest/gtest.h>

#include <cmath>

#include <omp.h>

namespace ratesim {
namespace {

TEST(PoissonMixture, LogLikelihoodAndPosteriorMatchTheDefinition) {
  matrix W(2, 3);
  W << 1.0, 2.0, 3.0, 4.0, 0.5, 1.5;
  matrix Y(3, 2);
  Y << 0.0, 2.5, 1.0, 1.0, 4.0, 0.0;  // non-integer y: lgamma(y + 1) replaces ln y!
  const poisson_mixture model(W);
  double mean = 0.0;
  for (int n = 0; n < 2; ++n) {
    double p[2];
    for (int c = 0; c < 2; ++c) {
      double log_p = std::log(0.5);
      for (int d = 0; d < 3; ++d)
        log_p += Y(d, n) * std::log(W(c, d)) - W(c, d) - std::lgamma(Y(d, n) + 1.0);
      p[c] = std::exp(log_p);
    }
    mean += std::log(p[0] + p[1]) / 2.0;
    const matrix R = model.posterior(Y);
    EXPECT_NEAR(R(0, n), p[0] / (p[0] + p[1]), 1e-14);
    EXPECT_NEAR(R(1, n), p[1] / (p[0] + p[1]), 1e-14);
  }
  EXPECT_NEAR(model.log_likelihood(Y), mean, 1e-12 * std::abs(mean));
}

TEST(PoissonMixture, PosteriorIsTheCircuitsOutputWhenRowSumsAreEqual) {
  // With Σ_d W_cd = A for all c the E-step is softmax_c(Σ_d y_d ln W_cd): s of the circuit.
  std::mt19937_64 rng(1);
  network net;
  testing::build_circuit(net, {.D = 16, .C = 4, .A = 48.0}, rng);
  const matrix raw = testing::random_patterns(16, 1, rng);
  net.stimulate("input", std::make_unique<pattern_set>(raw, pattern_set::params{}));
  ode_simulation sim(net);
  sim.settle();  // every population at its fixed point for the pattern; no learning
  const matrix y = feedforward_inhibition("y", {.size = 16, .A = 48.0}).normalize(raw);
  const matrix R = poisson_mixture(net.weights("ff")).posterior(y);
  const vector s = net.rates("output");
  EXPECT_LT((R.col(0) - s).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(EM, LogLikelihoodNeverDecreases) {
  std::mt19937_64 rng(2);
  const mixture_sample data = sample_poisson_mixture(bars_components(4, 8.0, 1.0), 800, rng);
  const matrix Y = feedforward_inhibition("y", {.size = 16, .A = 40.0}).normalize(data.data);
  const em_result r = fit_em(Y, data_mean_weights(Y, 8, 0.5, 40.0, rng), 40.0,
                             {.iterations = 60, .tolerance = -1.0});
  ASSERT_EQ(r.log_likelihood.size(), 61u);
  for (std::size_t i = 1; i < r.log_likelihood.size(); ++i)
    EXPECT_GE(r.log_likelihood[i], r.log_likelihood[i - 1] - 1e-10 * std::abs(r.log_likelihood[i]))
        << "step " << i;
  EXPECT_GT(r.log_likelihood.back(), r.log_likelihood.front() + 0.1);
  const vector sums = r.W.rowwise().sum();
  EXPECT_LT((sums.array() - 40.0).abs().maxCoeff(), 1e-9 * 40.0);
  EXPECT_NEAR(poisson_mixture(r.W).log_likelihood(Y), r.log_likelihood.back(), 1e-12 * 1e3);
}

TEST(EM, SinglePrecisionProductsStayCloseToDouble) {
  // 5 × 5 bars at A = 900 (values like the digits'), 20 steps from the same start, with
  // the two products in float32 and in float64: every log-likelihood within 1e-5 of
  // itself, the learned weights within 1e-4 (seen: 1.5e-6 and 1e-5), and float32 learns.
  std::mt19937_64 rng(3);
  const mixture_sample data = sample_poisson_mixture(bars_components(5, 10.0, 1.0), 3000, rng);
  const matrix Y = feedforward_inhibition("y", {.size = 25, .A = 900.0}).normalize(data.data);
  const matrix W0 = data_mean_weights(Y, 10, 0.5, 900.0, rng);
  em_options o{.iterations = 20, .tolerance = -1.0, .chunk = 700};
  const em_result full = fit_em(Y, W0, 900.0, o);
  o.single_precision = true;
  const em_result single = fit_em(Y, W0, 900.0, o);
  ASSERT_EQ(single.log_likelihood.size(), full.log_likelihood.size());
  for (std::size_t i = 0; i < full.log_likelihood.size(); ++i)
    EXPECT_NEAR(single.log_likelihood[i], full.log_likelihood[i],
                1e-5 * std::abs(full.log_likelihood[i])) << "step " << i;
  EXPECT_LT(((single.W - full.W).array().abs() / full.W.array()).maxCoeff(), 1e-4);
  EXPECT_GT(single.log_likelihood.back(), single.log_likelihood.front() + 1.0);
  EXPECT_NE(single.log_likelihood.back(), full.log_likelihood.back());  // really float32
}

TEST(EM, ThreadsAndBlocksDoNotChangeTheResult) {
  // The data in 30 blocks dealt to groups: the same bits on 1, 2 and 3 threads, and within
  // rounding of one block of all 3,000 points.
  std::mt19937_64 rng(5);
  const mixture_sample data = sample_poisson_mixture(bars_components(4, 8.0, 1.0), 3000, rng);
  const matrix Y = feedforward_inhibition("y", {.size = 16, .A = 60.0}).normalize(data.data);
  const matrix W0 = data_mean_weights(Y, 8, 0.5, 60.0, rng);
  const int threads_before = omp_get_max_threads();
  auto fit = [&](int threads, std::size_t chunk) {
    omp_set_num_threads(threads);
    return fit_em(Y, W0, 60.0, {.iterations = 5, .tolerance = -1.0, .chunk = chunk});
  };
  const em_result one = fit(1, 100), two = fit(2, 100), three = fit(3, 100), whole = fit(2, 3000);
  omp_set_num_threads(threads_before);
  EXPECT_EQ(one.log_likelihood, two.log_likelihood);
  EXPECT_EQ(one.log_likelihood, three.log_likelihood);
  EXPECT_TRUE(one.W == two.W && one.W == three.W);
  for (std::size_t i = 0; i < one.log_likelihood.size(); ++i)
    EXPECT_NEAR(whole.log_likelihood[i], one.log_likelihood[i],
                1e-12 * std::abs(one.log_likelihood[i]));
  EXPECT_LT(((whole.W - one.W).array().abs() / one.W.array()).maxCoeff(), 1e-10);
}

TEST(EM, RecoversTheBars) {
  for (double anneal : {1.0, 0.5}) {
    std::mt19937_64 rng(2012);
    const double A = 40.0;
    const matrix generating = bars_components(5, 10.0, 1.0);
    const mixture_sample data = sample_poisson_mixture(generating, 2000, rng);
    const matrix Y = feedforward_inhibition("y", {.size = 25, .A = A}).normalize(data.data);
    const em_result r = fit_em(Y, data_mean_weights(Y, 10, 0.5, A, rng), A,
                               {.iterations = 300, .anneal_start = anneal, .anneal_iterations = 20});
    for (const auto& m : match_components(r.W, normalized_components(generating, A)))
      EXPECT_LT(m.error, 0.10) << "annealing from " << anneal;
  }
}

TEST(EM, AnnealedStepsUseTheSofterPosterior) {
  // One step at β = 0 gives every component the same posterior: all rows become the mean.
  std::mt19937_64 rng(3);
  const matrix Y = feedforward_inhibition("y", {.size = 8, .A = 20.0})
                       .normalize(testing::random_patterns(8, 50, rng));
  const em_result r = fit_em(Y, data_mean_weights(Y, 3, 1.0, 20.0, rng), 20.0,
                             {.iterations = 1, .anneal_start = 1e-12, .anneal_iterations = 1});
  const vector mean = Y.rowwise().mean();
  for (Eigen::Index c = 0; c < 3; ++c)
    EXPECT_LT((r.W.row(c).transpose() - mean).cwiseAbs().maxCoeff(), 1e-9);
}

TEST(Classifier, RowsOfBSumToOneAndSeparableDataIsClassifiedExactly) {
  // Two classes, each made of two components of its own: the posteriors separate them.
  matrix W(4, 4);
  W << 20, 1, 1, 1,  //
      1, 20, 1, 1,   //
      1, 1, 20, 1,   //
      1, 1, 1, 20;
  std::mt19937_64 rng(4);
  const mixture_sample s = sample_poisson_mixture(W, 400, rng);
  std::vector<int> labels;
  for (int c : s.labels) labels.push_back(c / 2);  // components 0, 1 → class 0; 2, 3 → 1
  const poisson_mixture model(W);
  const matrix R = model.posterior(s.data);
  const auto classifier = mixture_classifier::fit(R, labels, 2);
  ASSERT_EQ(classifier.B().rows(), 2);
  for (Eigen::Index k = 0; k < 2; ++k) EXPECT_NEAR(classifier.B().row(k).sum(), 1.0, 1e-12);
  EXPECT_EQ(classifier.error(R, labels), 0.0);
  const matrix P = classifier.class_probabilities(R);
  for (Eigen::Index n = 0; n < P.cols(); ++n) EXPECT_NEAR(P.col(n).sum(), 1.0, 1e-12);
}

TEST(Classifier, BadLabelsAreRejected) {
  const matrix R = matrix::Constant(2, 3, 0.5);
  EXPECT_THROW(mixture_classifier::fit(R, {0, 1}, 2), input_error);      // count
  EXPECT_THROW(mixture_classifier::fit(R, {0, 1, 2}, 2), input_error);   // range
  EXPECT_THROW(mixture_classifier::fit(R, {0, 0, 0}, 2), input_error);   // empty class
}

}  // namespace
}  // namespace ratesim
