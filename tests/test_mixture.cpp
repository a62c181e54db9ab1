// The Poisson mixture: log-likelihood and posterior against independent computations (with
// uniform and given priors), EM's monotone ascent and recovery of the bars and of unequal
// priors, the units a model uses, the link to the circuit, and the classifier;
// the matrix-product kernels EM runs on (OpenBLAS, Eigen per instruction set) and their
// choice.

#include "circuit.hpp"
#include "detail/cpu.hpp"
#include "gemm.hpp"

#include <ratesim/mixture/bars.hpp>
#include <ratesim/mixture/classifier.hpp>
#include <ratesim/mixture/poisson_mixture.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/ode.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include <omp.h>

namespace ratesim {
namespace {

// The model's posterior (to 1e-14) and mean log-likelihood (to 1e-12 relative) against
// plain loops over the definition, p(y, c) = π_c Π_d W_cd^y_d e^−W_cd / Γ(y_d + 1).
void expect_definition(const poisson_mixture& model, const std::vector<double>& pi,
                       const matrix& Y) {
  const matrix& W = model.weights();
  const matrix R = model.posterior(Y);
  double mean = 0.0;
  for (Eigen::Index n = 0; n < Y.cols(); ++n) {
    std::vector<double> p(pi.size());
    double total = 0.0;
    for (Eigen::Index c = 0; c < W.rows(); ++c) {
      double log_p = std::log(pi[c]);
      for (Eigen::Index d = 0; d < W.cols(); ++d)
        log_p += Y(d, n) * std::log(W(c, d)) - W(c, d) - std::lgamma(Y(d, n) + 1.0);
      p[c] = std::exp(log_p);
      total += p[c];
    }
    mean += std::log(total) / static_cast<double>(Y.cols());
    for (Eigen::Index c = 0; c < W.rows(); ++c)
      EXPECT_NEAR(R(c, n), p[c] / total, 1e-14) << c << ", " << n;
  }
  EXPECT_NEAR(model.log_likelihood(Y), mean, 1e-12 * std::abs(mean));
}

TEST(PoissonMixture, LogLikelihoodAndPosteriorMatchTheDefinition) {
  matrix W(2, 3);
  W << 1.0, 2.0, 3.0, 4.0, 0.5, 1.5;
  matrix Y(3, 2);
  Y << 0.0, 2.5, 1.0, 1.0, 4.0, 0.0;  // non-integer y: lgamma(y + 1) replaces ln y!
  expect_definition(poisson_mixture(W), {0.5, 0.5}, Y);
}

TEST(PoissonMixture, LogLikelihoodWithPriorsMatchesTheDefinition) {
  matrix W(3, 4);
  W << 1.0, 2.0, 3.0, 4.0,  //
      4.0, 0.5, 1.5, 2.0,   //
      0.2, 6.0, 0.7, 1.1;
  matrix Y(4, 5);
  Y << 0.0, 2.5, 1.0, 7.0, 0.3,  //
      1.0, 1.0, 4.0, 0.0, 2.0,   //
      4.0, 0.0, 0.5, 1.0, 1.0,   //
      3.0, 2.0, 0.0, 5.5, 1.0;
  const poisson_mixture model(W,
                              vector(Eigen::Vector3d(std::log(0.5), std::log(0.3), std::log(0.2))));
  expect_definition(model, {0.5, 0.3, 0.2}, Y);
  // Uniform priors given explicitly are the one-argument model, to the bit.
  const poisson_mixture uniform(W), explicit_uniform(W, uniform_log_priors(3));
  EXPECT_EQ(uniform.log_priors(), explicit_uniform.log_priors());
  EXPECT_EQ(uniform.log_likelihood(Y), explicit_uniform.log_likelihood(Y));
  EXPECT_TRUE(uniform.posterior(Y) == explicit_uniform.posterior(Y));
  EXPECT_GT(std::abs(model.log_likelihood(Y) - uniform.log_likelihood(Y)), 0.01);
}

TEST(PoissonMixture, PriorsAreValidated) {
  const matrix W = matrix::Constant(2, 3, 1.0);
  auto refused = [&](const vector& log_priors, const std::string& parameter) {
    try {
      poisson_mixture(W, log_priors);
      ADD_FAILURE() << "accepted " << log_priors.transpose();
    } catch (const parameter_error& e) {
      EXPECT_EQ(e.component(), "poisson_mixture");
      EXPECT_EQ(e.parameter(), parameter) << e.what();
    }
  };
  refused(uniform_log_priors(3), "log_priors");  // C = 2 values needed
  refused(vector(Eigen::Vector2d(std::log(0.5), std::nan(""))), "log_priors[1]");
  refused(vector(Eigen::Vector2d(-std::numeric_limits<double>::infinity(), 0.0)), "log_priors[0]");
  refused(vector(Eigen::Vector2d(std::log(0.5), std::log(0.4))), "log_priors");  // Σ π = 0.9
  try {
    poisson_mixture(W, vector(Eigen::Vector2d(std::log(0.5), std::log(0.4))));
  } catch (const parameter_error& e) {
    EXPECT_EQ(std::stod(e.value()), 0.9) << e.what();  // the sum, as the message says
  }
  // Within 1e-9 of 1 is accepted.
  EXPECT_NO_THROW(
      poisson_mixture(W, vector(Eigen::Vector2d(std::log(0.5), std::log(0.5 + 5e-10)))));
}

TEST(PoissonMixture, PosteriorIsTheCircuitsOutputWhenRowSumsAreEqual) {
  // With Σ_d W_cd = A for all c the E-step is softmax_c(Σ_d y_d ln W_cd): s of the circuit.
  random_stream rng(1, 0);
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
  random_stream rng(2, 0);
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

// Three components over 12 pixels, each `high` on 4 pixels of its own and 1 elsewhere.
matrix three_blocks(double high) {
  matrix W = matrix::Ones(3, 12);
  for (int c = 0; c < 3; ++c) W.block(c, 4 * c, 1, 4).setConstant(high);
  return W;
}

// n points of the mixture of the rows of `generating` with priors `pi`: each point's
// component drawn from pi, its values by sample_poisson_mixture from that row alone.
mixture_sample sample_with_priors(const matrix& generating, const std::vector<double>& pi,
                                  std::size_t n, random_stream& rng) {
  mixture_sample out{matrix(generating.cols(), static_cast<Eigen::Index>(n)), std::vector<int>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    // The component by inversion of the cumulative priors.
    const double u = uniform(rng);
    int c = 0;
    for (double total = pi[0]; u >= total && c + 1 < static_cast<int>(pi.size());) total += pi[++c];
    out.labels[i] = c;
    out.data.col(static_cast<Eigen::Index>(i)) =
        sample_poisson_mixture(generating.row(c), 1, rng).data.col(0);
  }
  return out;
}

TEST(EM, LearnedPriorsRecoverUnequalMixingProportions) {
  // 4,000 points, π = 0.6, 0.3, 0.1, components far apart (20 against 1): the posteriors
  // are one-hot, so EM's π_c = N_c / N is the fraction f_c of points component c drew, to
  // within the posterior mass of points that land near another component: 1e-4 (seen:
  // below 1e-6; one point in 4,000 mistaken would be 2.5e-4).
  // f_c itself is binomial around π_c, standard deviation σ_c = sqrt(π_c (1 − π_c) / N):
  // 4 σ_c (0.031, 0.029, 0.019) bounds it for any seed but one in ~15,000.
  const std::vector<double> pi = {0.6, 0.3, 0.1};
  const std::size_t N = 4000;
  const double A = 48.0;
  random_stream rng(15, 0);
  const matrix generating = three_blocks(20.0);
  const mixture_sample data = sample_with_priors(generating, pi, N, rng);
  const matrix Y = feedforward_inhibition("y", {.size = 12, .A = A}).normalize(data.data);
  // The start: halfway between the data's mean and one point of each component (in
  // another order), rows summing to A. From the mean plus noise EM (with or without
  // priors) here merges the two small components and splits the large one: a local
  // optimum, not what this test is about.
  matrix W0(3, 12);
  for (int c = 0; c < 3; ++c) {
    const auto first = std::find(data.labels.begin(), data.labels.end(), (c + 1) % 3);
    W0.row(c) = 0.5 * (Y.col(first - data.labels.begin()) + Y.rowwise().mean()).transpose();
  }
  em_options o{.iterations = 200, .tolerance = 1e-12};
  const em_result uniform = fit_em(Y, W0, A, o);
  o.learn_priors = true;
  const em_result learned = fit_em(Y, W0, A, o);

  const auto matches = match_components(learned.W, normalized_components(generating, A));
  double kl = 0.0;  // Σ_c f_c ln(C f_c): what the learned priors add to ln p(y) per point
  for (int c = 0; c < 3; ++c) {
    const double f = static_cast<double>(std::count(data.labels.begin(), data.labels.end(), c)) /
                     static_cast<double>(N);
    const double learned_prior = std::exp(learned.log_priors[matches[c].unit]);
    EXPECT_NEAR(learned_prior, f, 1e-4) << "component " << c;
    EXPECT_NEAR(learned_prior, pi[c], 4.0 * std::sqrt(pi[c] * (1.0 - pi[c]) / N)) << c;
    // W: each mean from at least ~400 points of 12 Poisson values (relative L1 error of
    // the estimate about 0.01); 0.03 allows for the 0.1 component's fewer points.
    EXPECT_LT(matches[c].error, 0.03) << "component " << c;
    kl += f * std::log(3.0 * f);
    std::printf("component %d: drew %.6f of the points, learned prior %.6f, W error %.4f\n", c, f,
                learned_prior, matches[c].error);
  }
  EXPECT_NE(matches[0].unit, matches[1].unit);
  EXPECT_NE(matches[0].unit, matches[2].unit);
  EXPECT_NE(matches[1].unit, matches[2].unit);
  // With one-hot posteriors both fits find the same W, and the learned priors gain exactly
  // Σ_c f_c ln(C f_c) nats per point over uniform ones (here ≈ 0.2).
  const double gain = learned.log_likelihood.back() - uniform.log_likelihood.back();
  EXPECT_NEAR(gain, kl, 1e-3);
  EXPECT_GT(gain, 0.15);
  EXPECT_TRUE(uniform.log_priors == uniform_log_priors(3));  // not learned: exactly uniform
}

TEST(EM, LearnedPriorsNeverDecreaseTheLikelihoodAndSumToOne) {
  // Overlapping components (4 against 1) with π = 0.6, 0.3, 0.1, fitted by 5 components:
  // every step at β = 1 raises the log-likelihood of (W, π), Σ_c π_c stays 1, and the end
  // is above uniform-prior EM's from the same start (not a theorem, the two may settle in
  // different optima; here the surplus components shrink instead of splitting data).
  random_stream rng(16, 0);
  const double A = 48.0;
  const mixture_sample data = sample_with_priors(three_blocks(4.0), {0.6, 0.3, 0.1}, 2000, rng);
  const matrix Y = feedforward_inhibition("y", {.size = 12, .A = A}).normalize(data.data);
  const matrix W0 = data_mean_weights(Y, 5, 0.5, A, rng);
  em_options o{.iterations = 80, .tolerance = -1.0, .chunk = 300};
  o.learn_priors = true;
  em_trainer em(Y, W0, A, o);
  std::vector<double> curve;
  for (int it = 0; it < o.iterations; ++it) {
    curve.push_back(em.step());
    EXPECT_NEAR(em.log_priors().array().exp().sum(), 1.0, 1e-12) << "step " << it + 1;
    ASSERT_TRUE(em.log_priors().allFinite());
  }
  curve.push_back(em.log_likelihood());
  for (std::size_t i = 1; i < curve.size(); ++i)
    EXPECT_GE(curve[i], curve[i - 1] - 1e-12 * std::abs(curve[i])) << "step " << i;
  EXPECT_GT(curve.back(), curve.front() + 0.1);
  EXPECT_FALSE(em.log_priors() == uniform_log_priors(5));
  // fit_em takes the same steps.
  const em_result learned = fit_em(Y, W0, A, o);
  EXPECT_EQ(learned.log_likelihood, curve);
  EXPECT_EQ(learned.log_priors, em.log_priors());
  o.learn_priors = false;
  const em_result uniform = fit_em(Y, W0, A, o);
  EXPECT_GT(curve.back(), uniform.log_likelihood.back());
  std::printf("log-likelihood: learned priors %.6f, uniform %.6f\n", curve.back(),
              uniform.log_likelihood.back());
}

TEST(EM, SinglePrecisionProductsStayCloseToDouble) {
  // 5 × 5 bars at A = 900 (values like the digits'), 20 steps from the same start, with
  // the two products in float32 and in float64: every log-likelihood within 1e-5 of
  // itself, the learned weights within 1e-4 (seen: 1.5e-6 and 1e-5), and float32 learns.
  random_stream rng(3, 0);
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

// 3,000 points from the 4 × 4 bars, 8 components, 5 EM steps from the same start, on
// `threads` threads, in blocks of `chunk` points, on a given matrix-product kernel
// (nullptr: the one chosen for this machine), learning the priors or not.
em_result fit_bars(int threads, std::size_t chunk, const char* kernel = nullptr,
                   bool learn_priors = false) {
  random_stream rng(5, 0);
  const mixture_sample data = sample_poisson_mixture(bars_components(4, 8.0, 1.0), 3000, rng);
  const matrix Y = feedforward_inhibition("y", {.size = 16, .A = 60.0}).normalize(data.data);
  const matrix W0 = data_mean_weights(Y, 8, 0.5, 60.0, rng);
  const int threads_before = omp_get_max_threads();
  omp_set_num_threads(threads);
  if (kernel != nullptr) detail::use_gemm_kernel(detail::gemm_kernel_named(kernel));
  em_options o{.iterations = 5, .tolerance = -1.0, .chunk = chunk};
  o.learn_priors = learn_priors;
  em_result r = fit_em(Y, W0, 60.0, o);
  detail::use_gemm_kernel(nullptr);
  omp_set_num_threads(threads_before);
  return r;
}

TEST(EM, ThreadsAndBlocksDoNotChangeTheResult) {
  // The data in 30 blocks dealt to groups: the same bits on 1, 2 and 3 threads, and within
  // rounding of one block of all 3,000 points.
  const em_result one = fit_bars(1, 100), two = fit_bars(2, 100), three = fit_bars(3, 100),
                  whole = fit_bars(2, 3000);
  EXPECT_EQ(one.log_likelihood, two.log_likelihood);
  EXPECT_EQ(one.log_likelihood, three.log_likelihood);
  EXPECT_TRUE(one.W == two.W && one.W == three.W);
  for (std::size_t i = 0; i < one.log_likelihood.size(); ++i)
    EXPECT_NEAR(whole.log_likelihood[i], one.log_likelihood[i],
                1e-12 * std::abs(one.log_likelihood[i]));
  EXPECT_LT(((whole.W - one.W).array().abs() / one.W.array()).maxCoeff(), 1e-10);
}

TEST(EM, LearnedPriorsAreTheSameBitsOnAnyThreadCount) {
  // N_c are summed with S, in the same fixed groups: the priors, like W, are the same bits
  // on 1, 2 and 3 threads, and within rounding of one block of all the points.
  const em_result one = fit_bars(1, 100, nullptr, true), two = fit_bars(2, 100, nullptr, true),
                  three = fit_bars(3, 100, nullptr, true), whole = fit_bars(2, 3000, nullptr, true);
  EXPECT_EQ(one.log_priors, two.log_priors);
  EXPECT_EQ(one.log_priors, three.log_priors);
  EXPECT_EQ(one.log_likelihood, two.log_likelihood);
  EXPECT_TRUE(one.W == two.W && one.W == three.W);
  EXPECT_LT((whole.log_priors - one.log_priors).cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_LT(((whole.W - one.W).array().abs() / one.W.array()).maxCoeff(), 1e-10);
  EXPECT_GT(one.log_priors.maxCoeff() - one.log_priors.minCoeff(), 1e-3);  // really learned
  EXPECT_NE(one.log_likelihood, fit_bars(1, 100).log_likelihood);
}

TEST(EM, RecoversTheBars) {
  for (double anneal : {1.0, 0.5}) {
    random_stream rng(2012, 0);
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
  random_stream rng(3, 0);
  const matrix Y = feedforward_inhibition("y", {.size = 8, .A = 20.0})
                       .normalize(testing::random_patterns(8, 50, rng));
  const em_result r = fit_em(Y, data_mean_weights(Y, 3, 1.0, 20.0, rng), 20.0,
                             {.iterations = 1, .anneal_start = 1e-12, .anneal_iterations = 1});
  const vector mean = Y.rowwise().mean();
  for (Eigen::Index c = 0; c < 3; ++c)
    EXPECT_LT((r.W.row(c).transpose() - mean).cwiseAbs().maxCoeff(), 1e-9);
}

// ---- The matrix-product kernels -----------------------------------------------------------

// Run by ctest with RATESIM_GEMM set to each kernel (EMForcedKernel.*): a kernel this
// machine lacks skips every test instead of failing them.
bool forced_kernel_missing() {
  const std::string forced = std::getenv("RATESIM_GEMM") ? std::getenv("RATESIM_GEMM") : "";
  return (forced == "eigen-avx2" || forced == "eigen-avx512") &&
         detail::gemm_kernel_named(forced) == nullptr;
}

class forced_kernel_environment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (forced_kernel_missing()) GTEST_SKIP() << "RATESIM_GEMM: not on this machine";
  }
};
::testing::Environment* const forced_kernel =
    ::testing::AddGlobalTestEnvironment(new forced_kernel_environment);

// A random matrix of `rows` × `cols` with leading dimension `ld` (the rows beyond `rows`
// hold a sentinel the kernels must not touch).
template <class T>
std::vector<T> random_matrix(long rows, long cols, long ld, random_stream& rng) {
  std::vector<T> m(static_cast<std::size_t>(ld * cols), T(-7));
  for (long j = 0; j < cols; ++j)
    for (long i = 0; i < rows; ++i)
      m[static_cast<std::size_t>(i + j * ld)] = T(uniform(rng, -1.0, 1.0));
  return m;
}

// The kernel against OpenBLAS on EM's shapes and on shapes across several of the Eigen
// kernels' blocks (kc = 224, mc = 960, nc = 448) with odd remainders: each entry within
// the rounding bound of a k-term dot product, 2 k ε (|A| |op(B)| + |C|), of OpenBLAS's
// (each is within k ε of the exact sum); returns the largest difference relative to
// that scale, printed so the kernels can be compared.
template <class T>
double worst_difference(const detail::gemm_choice& kernel) {
  const detail::gemm_choice& reference = *detail::gemm_kernel_named("openblas");
  struct shape {
    long m, n, k;
    bool b_transposed;
  };
  random_stream rng(11, 0);
  double worst = 0.0;
  for (const shape s : {shape{100, 500, 784, false}, shape{100, 784, 500, true},
                        shape{1000, 500, 300, false}, shape{37, 53, 611, true},
                        shape{1, 1, 1, false}})
    for (const bool accumulate : {false, true}) {
      const long lda = s.m + 3, ldc = s.m + 1, b_rows = s.b_transposed ? s.n : s.k,
                 b_cols = s.b_transposed ? s.k : s.n, ldb = b_rows + 2;
      const auto a = random_matrix<T>(s.m, s.k, lda, rng),
                 b = random_matrix<T>(b_rows, b_cols, ldb, rng);
      const auto c0 = random_matrix<T>(s.m, s.n, ldc, rng);
      auto ours = c0, theirs = c0;
      auto run = [&](const detail::gemm_choice& k, std::vector<T>& c) {
        const auto gemm = [&] {
          if constexpr (std::is_same_v<T, double>)
            return k.dgemm;
          else
            return k.sgemm;
        }();
        gemm(s.b_transposed, s.m, s.n, s.k, a.data(), lda, b.data(), ldb, accumulate, c.data(),
             ldc);
      };
      run(kernel, ours);
      run(reference, theirs);
      const double eps = std::numeric_limits<T>::epsilon();
      for (long j = 0; j < s.n; ++j) {
        for (long i = 0; i < s.m; ++i) {
          double scale = accumulate ? std::abs(double(c0[i + j * ldc])) : 0.0;
          for (long p = 0; p < s.k; ++p)
            scale += std::abs(double(a[i + p * lda])) *
                     std::abs(double(s.b_transposed ? b[j + p * ldb] : b[p + j * ldb]));
          const double difference = std::abs(double(ours[i + j * ldc]) - double(theirs[i + j * ldc]));
          worst = std::max(worst, difference / (eps * scale));
          if (difference > 2.0 * double(s.k) * eps * scale) {
            ADD_FAILURE() << kernel.name << ": C(" << i << ", " << j << ") of " << s.m << " × "
                          << s.k << " · " << s.k << " × " << s.n << " differs by " << difference;
            return worst;
          }
        }
        for (long i = s.m; i < ldc; ++i)
          if (ours[i + j * ldc] != T(-7)) {
            ADD_FAILURE() << kernel.name << ": C's padding written";
            return worst;
          }
      }
    }
  return worst;
}

class GemmKernel : public ::testing::TestWithParam<const char*> {};

TEST_P(GemmKernel, AgreesWithOpenBLASWithinRounding) {
  const detail::gemm_choice* kernel = detail::gemm_kernel_named(GetParam());
  if (kernel == nullptr)
    GTEST_SKIP() << GetParam() << ": this CPU or its operating system does not support it";
  const double d = worst_difference<double>(*kernel), f = worst_difference<float>(*kernel);
  std::printf("%s against openblas: at most %.3g (double) and %.3g (float) ε · Σ|a||b|\n",
              kernel->name, d, f);
}

INSTANTIATE_TEST_SUITE_P(Isa, GemmKernel, ::testing::Values("eigen-avx2", "eigen-avx512"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

// EM on each kernel fits the same mixture to within what the kernels' rounding allows
// (the same bound as cutting the data into other blocks: 1e-12 relative on the
// log-likelihood, 1e-10 on W), and each kernel gives the same bits on 1 and 2 threads.
TEST(EM, EveryKernelFitsTheSameMixture) {
  const em_result reference = fit_bars(2, 100, "openblas");
  for (const char* kernel : {"openblas", "eigen-avx2", "eigen-avx512"}) {
    if (detail::gemm_kernel_named(kernel) == nullptr) continue;
    const em_result one = fit_bars(1, 100, kernel), two = fit_bars(2, 100, kernel);
    EXPECT_EQ(one.log_likelihood, two.log_likelihood) << kernel;
    EXPECT_TRUE(one.W == two.W) << kernel;
    double ll = 0.0;
    for (std::size_t i = 0; i < one.log_likelihood.size(); ++i)
      ll = std::max(ll, std::abs(one.log_likelihood[i] / reference.log_likelihood[i] - 1.0));
    const double w = ((one.W - reference.W).array().abs() / reference.W.array()).maxCoeff();
    EXPECT_LT(ll, 1e-12) << kernel;
    EXPECT_LT(w, 1e-10) << kernel;
    std::printf("%s against openblas: log-likelihood %.2g, W %.2g relative\n", kernel, ll, w);
  }
}

// Run by ctest with RATESIM_GEMM=no-such-kernel (EMUnknownKernel): the error reaches the
// caller, named, although the products run on OpenMP's threads.
TEST(EM, AnUnknownKernelIsAnErrorNamingTheVariable) {
  const char* forced = std::getenv("RATESIM_GEMM");
  if (forced == nullptr || std::string(forced) != "no-such-kernel")
    GTEST_SKIP() << "RATESIM_GEMM is not no-such-kernel";
  try {
    fit_bars(2, 100);
    FAIL() << "no error";
  } catch (const parameter_error& e) {
    EXPECT_NE(std::string(e.what()).find("RATESIM_GEMM=no-such-kernel is unknown"),
              std::string::npos)
        << e.what();
  }
}

// The choice: the kernel RATESIM_GEMM names; else OpenBLAS where its core uses the CPU's
// widest vectors (AVX-512 kernels on a CPU with AVX-512, AVX2 kernels on one with AVX2),
// and the widest Eigen kernel where it does not (run by ctest with
// OPENBLAS_CORETYPE=Prescott too, as Debian's OpenBLAS 0.3.21 picks on CPUs it does not
// know, and Haswell, as it picks on AMD CPUs with AVX-512).
TEST(GemmChoice, FollowsTheEnvironmentAndTheOpenBLASCore) {
  const std::string core = detail::blas_core(), chosen = detail::gemm_kernel().name;
  const detail::cpu_features& f = detail::cpu();
  if (const char* coretype = std::getenv("OPENBLAS_CORETYPE"); coretype && core != coretype)
    GTEST_SKIP() << "this OpenBLAS ignores OPENBLAS_CORETYPE=" << coretype;
  if (const char* forced = std::getenv("RATESIM_GEMM"); forced && *forced) {
    EXPECT_EQ(chosen, forced);
  } else if (detail::blas_core_fits(core, f)) {
    EXPECT_EQ(chosen, "openblas") << "OpenBLAS core " << core;
  } else {
    EXPECT_EQ(chosen, f.avx512f ? "eigen-avx512" : "eigen-avx2") << "OpenBLAS core " << core;
  }
  EXPECT_TRUE(detail::blas_core_has_avx2("SkylakeX"));
  EXPECT_FALSE(detail::blas_core_has_avx2("Prescott"));
  EXPECT_FALSE(detail::blas_core_has_avx2("Sandybridge"));
  const detail::cpu_features avx512{.avx2 = true, .fma = true, .avx512f = true},
      avx2{.avx2 = true, .fma = true, .avx512f = false}, sse{};
  EXPECT_TRUE(detail::blas_core_fits("SkylakeX", avx512));
  EXPECT_FALSE(detail::blas_core_fits("Haswell", avx512));  // Debian's OpenBLAS on Zen 4/5
  EXPECT_TRUE(detail::blas_core_fits("Haswell", avx2));
  EXPECT_TRUE(detail::blas_core_fits("Zen", avx2));
  EXPECT_FALSE(detail::blas_core_fits("Prescott", avx2));
  EXPECT_TRUE(detail::blas_core_fits("Prescott", sse));
}

TEST(UnitsUsed, CountsTheComponentsThatWinATenthOfTheirShare) {
  // C = 4, N = 40: a unit is used if it is the argmax of at least 0.1 · 40 / 4 = 1 point.
  matrix R(4, 40);
  for (Eigen::Index n = 0; n < 40; ++n) R.col(n) << 0.55, 0.0, 0.0, 0.45;  // 0 wins; 3 never
  for (Eigen::Index n = 30; n < 39; ++n) R.col(n) << 0.1, 0.6, 0.0, 0.3;   // 1 wins 9
  R.col(39) << 0.2, 0.0, 0.5, 0.3;                                         // 2 wins 1
  EXPECT_EQ(units_used(R), 3);
  R.col(38) << 0.5, 0.5, 0.0, 0.0;  // a tie goes to the first of equals: 0
  EXPECT_EQ(units_used(R), 3);
  R.col(39) << 0.5, 0.0, 0.5, 0.0;  // 2 now wins nothing
  EXPECT_EQ(units_used(R), 2);
  // With 41 points, one win is below 0.1 · 41 / 4 = 1.025.
  matrix R41(4, 41);
  R41 << R, (vector(4) << 0.0, 0.0, 1.0, 0.0).finished();
  R41.col(39) << 0.2, 0.0, 0.5, 0.3;  // back to one win of 2, plus one more in column 40
  EXPECT_EQ(units_used(R41), 3);      // 2 wins 2 of 41
  R41.col(40) << 1.0, 0.0, 0.0, 0.0;
  EXPECT_EQ(units_used(R41), 2);  // 2 wins 1 of 41

  // A model whose third component is far from all data: the data use two units.
  random_stream rng(17, 0);
  const matrix W = three_blocks(20.0);
  const mixture_sample s = sample_poisson_mixture(W.topRows(2), 500, rng);
  EXPECT_EQ(units_used(poisson_mixture(W).posterior(s.data)), 2);
  EXPECT_EQ(units_used(poisson_mixture(W.topRows(2)).posterior(s.data)), 2);
}

TEST(Classifier, RowsOfBSumToOneAndSeparableDataIsClassifiedExactly) {
  // Two classes, each made of two components of its own: the posteriors separate them.
  matrix W(4, 4);
  W << 20, 1, 1, 1,  //
      1, 20, 1, 1,   //
      1, 1, 20, 1,   //
      1, 1, 1, 20;
  random_stream rng(4, 0);
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
