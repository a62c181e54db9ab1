// The vectorised logarithm behind the log-weight current: within 2 ulp of std::log over
// the whole range of normal doubles, the floor and the special values handled, and the
// same bits from every implementation (scalar, SSE2, AVX2, AVX-512F), so results and
// checkpoints do not depend on the machine's instruction set; the environment variables
// that force a kernel. The incremental ln W cache: its step gives the same bits on every
// implementation, follows the logarithm, and drifts less than 1e-12 over 10^6 steps.

#include "detail/cpu.hpp"
#include "detail/vector_log.hpp"

#include <ratesim/error.hpp>
#include <ratesim/projection.hpp>
#include <ratesim/random.hpp>

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <optional>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace ratesim {
namespace {

constexpr double floor_ = std::numeric_limits<double>::min();

// Inputs that probe the algorithm: log-uniform over all normal doubles, near 1, near √2
// and √½ (where the reduction switches), powers of two, and the extremes.
std::vector<double> probes() {
  random_stream rng(42, 0);
  auto exponent = [&] { return uniform(rng, -1021.0, 1023.0); };
  auto near = [&] { return uniform(rng, -1e-3, 1e-3); };
  std::vector<double> x;
  for (int i = 0; i < 200000; ++i) x.push_back(std::exp2(exponent()));
  for (int i = 0; i < 20000; ++i) x.push_back(1.0 + near());
  for (int i = 0; i < 2000; ++i) {
    x.push_back(std::sqrt(2.0) * (1.0 + near() * 1e-9));
    x.push_back(std::sqrt(0.5) * (1.0 + near() * 1e-9));
  }
  for (int e = -1022; e <= 1023; ++e) x.push_back(std::ldexp(1.0, e));
  x.push_back(std::numeric_limits<double>::max());
  x.push_back(1.0);
  return x;
}

std::int64_t ulps(double a, double b) {
  const auto ia = std::bit_cast<std::int64_t>(a), ib = std::bit_cast<std::int64_t>(b);
  return std::abs(ia - ib);
}

TEST(VectorLog, WithinTwoUlpOfStdLog) {
  const auto x = probes();
  std::vector<double> y(x.size());
  detail::log_floored(x.data(), y.data(), x.size(), floor_);
  std::int64_t worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double exact = std::log(x[i]);
    if (exact == 0.0) {
      EXPECT_EQ(y[i], 0.0);
      continue;
    }
    worst = std::max(worst, ulps(y[i], exact));
    ASSERT_LE(ulps(y[i], exact), 2) << "ln " << x[i] << " = " << exact << ", got " << y[i];
  }
  std::printf("worst error %lld ulp over %zu inputs (%s)\n", static_cast<long long>(worst),
              x.size(), detail::log_floored_isa());
}

TEST(VectorLog, FloorAndSpecialValues) {
  const double inf = std::numeric_limits<double>::infinity(),
               nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> x{0.0, -0.0, -3.0, 1e-320, -inf, inf, nan, 2.0, 0.5};
  std::vector<double> y(x.size());
  detail::log_floored(x.data(), y.data(), x.size(), floor_);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(y[i], std::log(floor_)) << "input " << x[i];
  EXPECT_EQ(y[5], inf);
  EXPECT_TRUE(std::isnan(y[6]));
  EXPECT_LE(ulps(y[7], std::log(2.0)), 1);
  EXPECT_LE(ulps(y[8], std::log(0.5)), 1);
  std::vector<double> same = x;  // in place
  detail::log_floored(same.data(), same.data(), same.size(), floor_);
  for (std::size_t i = 0; i < x.size(); ++i)
    EXPECT_TRUE(same[i] == y[i] || (std::isnan(same[i]) && std::isnan(y[i])));
}

std::vector<double> probes_and_special_values() {
  auto x = probes();
  x.push_back(std::numeric_limits<double>::infinity());  // a special value inside a vector
  x.push_back(0.25);
  x.push_back(0.0);
  return x;
}

// Each vector implementation against the scalar reference, bit for bit; skipped where the
// CPU (or its OS) lacks the instruction set.
class VectorLogPath : public testing::TestWithParam<const char*> {};

TEST_P(VectorLogPath, GivesTheSameBitsAsTheScalarReference) {
  const char* isa = GetParam();
  const auto x = probes_and_special_values();
  std::vector<double> reference(x.size()), other(x.size());
  ASSERT_TRUE(detail::log_floored_as("scalar", x.data(), reference.data(), x.size(), floor_));
  // Every offset, so that each input meets every lane position and the scalar tail.
  for (std::size_t offset = 0; offset < 8; ++offset) {
    if (!detail::log_floored_as(isa, x.data() + offset, other.data() + offset,
                                x.size() - offset, floor_))
      GTEST_SKIP() << isa << ": this CPU or its operating system does not support it";
    for (std::size_t i = offset; i < x.size(); ++i)
      ASSERT_EQ(std::bit_cast<std::uint64_t>(other[i]), std::bit_cast<std::uint64_t>(reference[i]))
          << isa << ": ln " << x[i] << " at offset " << offset;
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, VectorLogPath, testing::Values("sse2", "avx2", "avx512"),
                         [](const auto& info) { return std::string(info.param); });

// Run by ctest once per implementation with RATESIM_LOG set (VectorLogForced.*): the
// dispatcher takes the forced one, which gives the scalar reference's bits; one this
// machine lacks is an error naming the variable and the value.
TEST(VectorLog, UsesThePathTheEnvironmentForces) {
  const char* forced = std::getenv("RATESIM_LOG");
  if (forced == nullptr) GTEST_SKIP() << "RATESIM_LOG is not set";
  const auto x = probes_and_special_values();
  std::vector<double> reference(x.size()), y(x.size());
  if (!detail::log_floored_as(forced, x.data(), y.data(), 1, floor_)) {
    try {
      detail::log_floored_isa();
      FAIL() << "RATESIM_LOG=" << forced << " is not available here but was accepted";
    } catch (const parameter_error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("RATESIM_LOG=") + forced),
                std::string::npos) << e.what();
    }
    GTEST_SKIP() << forced << ": this CPU or its operating system does not support it";
  }
  EXPECT_STREQ(detail::log_floored_isa(), forced);
  ASSERT_TRUE(detail::log_floored_as("scalar", x.data(), reference.data(), x.size(), floor_));
  detail::log_floored(x.data(), y.data(), x.size(), floor_);
  for (std::size_t i = 0; i < x.size(); ++i)
    ASSERT_EQ(std::bit_cast<std::uint64_t>(y[i]), std::bit_cast<std::uint64_t>(reference[i]))
        << forced << ": ln " << x[i];
}

// ---- The incremental ln W cache (detail::log_step, the log-weight current's cache) -----

// Weights, changes and cached logarithms that probe log_step: learned-weight magnitudes
// with changes from tiny to large (so both the series, |z| <= 1/16, and the logarithm
// serve), weights near and below the floor, changes that drive a weight to 0, below it,
// to infinity or NaN.
struct step_inputs {
  std::vector<double> w, dw, log_w;
};
step_inputs step_probes() {
  random_stream rng(43, 0);
  step_inputs in;
  auto add = [&](double w, double dw) {
    in.w.push_back(w);
    in.dw.push_back(dw);
    in.log_w.push_back(detail::log_floored(w, floor_));
  };
  for (int i = 0; i < 100000; ++i) {
    const double w = std::exp(uniform(rng, -1.0, 4.0));
    const bool down = uniform(rng, 0.0, 1.0) < 0.5;
    const double relative = down ? -std::exp(uniform(rng, -40.0, -0.2))  // to 0.18 w
                                 : std::exp(uniform(rng, -40.0, 1.0));   // to 3.7 w
    add(w, 100.0 * w * relative);  // factor 0.01 below: relative changes 4e-18 … 2.7
  }
  for (int i = 0; i < 2000; ++i) {  // near the floor
    const double w = floor_ * std::exp(uniform(rng, -5.0, 5.0));
    add(w, 100.0 * w * uniform(rng, -0.5, 0.5));
  }
  const double inf = std::numeric_limits<double>::infinity(),
               nan = std::numeric_limits<double>::quiet_NaN();
  add(2.0, -200.0);  // to 0
  add(2.0, -300.0);  // below 0
  add(1.0, inf);
  add(1.0, nan);
  add(1.0, 0.0);
  return in;
}

// Every implementation gives the scalar reference's bits, for the weights, the logarithms
// and whether the weights are usable; skipped where the CPU lacks the instruction set.
class LogStepPath : public testing::TestWithParam<const char*> {};

TEST_P(LogStepPath, GivesTheSameBitsAsTheScalarReference) {
  const char* isa = GetParam();
  const step_inputs in = step_probes();
  const std::size_t n = in.w.size();
  for (std::size_t offset = 0; offset < 8; ++offset) {
    auto w = in.w, log_w = in.log_w, w_ref = in.w, log_ref = in.log_w;
    bool usable = false, usable_ref = false;
    const detail::weight_change change{.factor = 0.01, .dw = in.dw.data() + offset};
    ASSERT_TRUE(detail::log_step_as("scalar", w_ref.data() + offset, change,
                                    log_ref.data() + offset, n - offset, 1, floor_, usable_ref));
    if (!detail::log_step_as(isa, w.data() + offset, change, log_w.data() + offset, n - offset,
                             1, floor_, usable))
      GTEST_SKIP() << isa << ": this CPU or its operating system does not support it";
    EXPECT_EQ(usable, usable_ref);
    EXPECT_FALSE(usable);  // the probes hold weights driven to 0, below, to inf and NaN
    for (std::size_t i = offset; i < n; ++i) {
      ASSERT_EQ(std::bit_cast<std::uint64_t>(w[i]), std::bit_cast<std::uint64_t>(w_ref[i]))
          << isa << ": weight " << i << " at offset " << offset;
      ASSERT_TRUE(std::bit_cast<std::uint64_t>(log_w[i]) == std::bit_cast<std::uint64_t>(log_ref[i]) ||
                  (std::isnan(log_w[i]) && std::isnan(log_ref[i])))
          << isa << ": ln of weight " << i << " (" << in.w[i] << " + 0.01 · " << in.dw[i]
          << ") at offset " << offset << ": " << log_w[i] << " against " << log_ref[i];
    }
  }
}

// One step of W (C × D) and its cache L = ln W by the scalar reference and by `isa`;
// nothing where this CPU lacks `isa`.
struct both_steps {
  matrix w_ref, log_ref, w, log_w;
  bool usable_ref = false, usable = false;
};
std::optional<both_steps> step_both(const char* isa, const matrix& W, const matrix& L,
                                    const detail::weight_change& change) {
  both_steps s{W, L, W, L};
  const auto C = static_cast<std::size_t>(W.rows()), D = static_cast<std::size_t>(W.cols());
  EXPECT_TRUE(detail::log_step_as("scalar", s.w_ref.data(), change, s.log_ref.data(), C, D,
                                  floor_, s.usable_ref));
  if (!detail::log_step_as(isa, s.w.data(), change, s.log_w.data(), C, D, floor_, s.usable))
    return std::nullopt;
  return s;
}

// The same in the scaling form, dW/dt = (y_d − W_cd) q_c never formed: every
// implementation gives the scalar reference's bits, and the weights are the bits of the
// plain update with synaptic scaling's arithmetic, W + ε ((−W + y) q). 37 rows, so that
// every column ends in a partial vector.
TEST_P(LogStepPath, TheScalingFormGivesThePlainUpdatesBits) {
  const char* isa = GetParam();
  constexpr Eigen::Index C = 37, D = 60;
  random_stream rng(45, 0);
  matrix W(C, D);
  vector y(D), q(C);
  for (double& w : W.reshaped()) w = std::exp(uniform(rng, -0.5, 3.0));
  for (double& v : y) v = std::exp(uniform(rng, 0.0, 2.3));
  for (double& v : q) v = std::exp(uniform(rng, -30.0, 0.0));  // s_c / τ · T, up to 1
  matrix L(C, D);
  detail::log_floored(W.data(), L.data(), static_cast<std::size_t>(W.size()), floor_);
  const detail::weight_change change{.factor = 0.5, .pre = y.data(), .q = q.data()};
  const auto s = step_both(isa, W, L, change);
  if (!s) GTEST_SKIP() << isa << ": this CPU or its operating system does not support it";
  EXPECT_TRUE(s->usable && s->usable_ref);
  const matrix plain =
      (W.array() + 0.5 * (((-W.array()).rowwise() + y.transpose().array()).colwise() * q.array()))
          .matrix();
  EXPECT_TRUE(s->w_ref == plain);
  EXPECT_TRUE(s->w == s->w_ref);
  EXPECT_EQ(std::memcmp(s->log_w.data(), s->log_ref.data(),
                        sizeof(double) * static_cast<std::size_t>(L.size())),
            0);
}

// Steps so small that z² <= 2^-54 everywhere: the vector paths skip the series (its sum is
// exactly 1 there), the scalar reference sums it; the same bits. And at the edge: z just
// below and above 2^-27, where the vectors mix both.
TEST_P(LogStepPath, TinyStepsSkipTheSeriesWithTheSameBits) {
  const char* isa = GetParam();
  constexpr Eigen::Index C = 64, D = 20;
  random_stream rng(46, 0);
  for (double scale : {1e-12, 1e-10, 0x1p-27, 0x1p-26}) {
    matrix W(C, D), dW(C, D);
    for (double& w : W.reshaped()) w = std::exp(uniform(rng, -1.0, 3.0));
    // z = (w' − w) / (w' + w) ≈ factor · dW / (2 w): around ±scale
    for (Eigen::Index i = 0; i < W.size(); ++i)
      dW.reshaped()[i] = 2.0 * W.reshaped()[i] * scale * uniform(rng, -1.0, 1.0);
    matrix L(C, D);
    detail::log_floored(W.data(), L.data(), static_cast<std::size_t>(W.size()), floor_);
    const auto s = step_both(isa, W, L, {.factor = 1.0, .dw = dW.data()});
    if (!s) GTEST_SKIP() << isa << ": this CPU or its operating system does not support it";
    EXPECT_TRUE(s->w == s->w_ref) << scale;
    EXPECT_EQ(std::memcmp(s->log_w.data(), s->log_ref.data(),
                          sizeof(double) * static_cast<std::size_t>(L.size())),
              0)
        << isa << " at z up to " << scale;
    // ln w' itself, within the cache's bound
    matrix exact(C, D);
    detail::log_floored(s->w_ref.data(), exact.data(), static_cast<std::size_t>(W.size()), floor_);
    EXPECT_LE(((s->log_ref - exact).array().abs() / exact.array().abs().max(1.0)).maxCoeff(),
              1e-15);
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, LogStepPath, testing::Values("sse2", "avx2", "avx512"),
                         [](const auto& info) { return std::string(info.param); });

// One step from exact logarithms: the weights take the plain update's bits, the cache is
// within 1e-15 of max(1, |ln w'|) of ln w', and exactly log_floored(w') where the series
// does not serve; weights that are usable leave `usable` true.
TEST(LogStep, OneStepFollowsTheLogarithm) {
  step_inputs in = step_probes();
  const std::size_t n = in.w.size() - 5;  // without the unusable ones
  const auto old = in.w;
  ASSERT_TRUE(detail::log_step(in.w.data(), {.factor = 0.01, .dw = in.dw.data()},
                               in.log_w.data(), n, 1, floor_));
  double worst = 0.0;
  std::size_t exact = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(in.w[i], old[i] + 0.01 * in.dw[i]);
    const double truth = detail::log_floored(in.w[i], floor_);
    const double z = (in.w[i] - old[i]) / (in.w[i] + old[i]);
    if (std::abs(z) > 1.0 / 16 || old[i] < floor_ || in.w[i] < floor_) {
      ASSERT_EQ(in.log_w[i], truth) << "weight " << i;
      ++exact;
      continue;
    }
    const double error = std::abs(in.log_w[i] - std::log(in.w[i])) / std::max(1.0, std::abs(truth));
    worst = std::max(worst, error);
    ASSERT_LE(error, 1e-15) << "weight " << i << ": " << old[i] << " → " << in.w[i];
  }
  EXPECT_GT(exact, 1000u);  // both branches were taken
  EXPECT_GT(n - exact, 50000u);
  std::printf("one step: worst error %.2e of max(1, |ln w|); %zu of %zu by the logarithm\n",
              worst, exact, n);
}

// The drift over 10^6 MNIST-like learning steps of the quasi-static circuit (synaptic
// scaling, ε = 0.01, the posterior of the cache's own current) at D = 784, C = 3: the
// cache of the log-weight current stays within 1e-12 of max(1, |ln W|) of ln W, checked
// at every 7th step (so at every phase of the exact recomputation every 1,000 steps).
TEST(LogCache, StaysWithin1e12OfLnWOverAMillionMnistLikeUpdates) {
  constexpr Eigen::Index D = 784, C = 3;
  constexpr double A = 900.0, eps = 0.01;
  random_stream rng(44, 0);
  // 60 digit-like images: two to four strokes of a 28 × 28 pen, normalised as the input
  // layer does (y = (A − D) x / Σx + 1: 1 on the background, up to about 10 on a stroke).
  constexpr int patterns = 60;
  matrix Y(D, patterns);
  for (int p = 0; p < patterns; ++p) {
    vector x = vector::Zero(D);
    const int strokes = 2 + static_cast<int>(uniform(rng, 0.0, 3.0));
    for (int k = 0; k < strokes; ++k) {
      double r = uniform(rng, 4.0, 24.0), c = uniform(rng, 4.0, 24.0);
      const double dr = uniform(rng, -1.0, 1.0), dc = uniform(rng, -1.0, 1.0);
      for (int t = 0; t < 14; ++t, r += dr, c += dc)
        for (int a = -1; a <= 1; ++a)
          for (int b = -1; b <= 1; ++b) {
            const int rr = static_cast<int>(r) + a, cc = static_cast<int>(c) + b;
            if (rr >= 0 && rr < 28 && cc >= 0 && cc < 28) x[rr * 28 + cc] = 255.0;
          }
    }
    Y.col(p) = (A - D) * x / x.sum() + vector::Ones(D);
  }
  matrix W(C, D);
  for (Eigen::Index c = 0; c < C; ++c)
    for (Eigen::Index d = 0; d < D; ++d) W(c, d) = Y.row(d).mean() * uniform(rng, 0.9, 1.1);
  normalize_rows(W, A);
  const auto current = synaptic_currents().get("log_weight")(C, D);
  const auto cache = current->make_cache(C, D);
  cache->refresh(W, {}, true);
  matrix dW(C, D), truth(C, D);
  vector u(C), s(C);
  double worst = 0.0;
  std::int64_t checked = 0;
  for (int step = 1; step <= 1000000; ++step) {
    const vector y = Y.col(static_cast<Eigen::Index>(uniform(rng, 0.0, patterns)));
    u.setZero();
    cache->add(y, u);
    s = (u.array() - u.maxCoeff()).exp();
    s /= s.sum();
    dW = ((-W.array()).rowwise() + y.transpose().array()).colwise() * s.array();
    bool usable = false;
    ASSERT_TRUE(cache->step(W, {.factor = eps, .dW = &dW}, usable));
    ASSERT_TRUE(usable);
    if (step % 7 != 0) continue;
    cache->remember(W);  // (state() gives the cache only at the W it remembers)
    const auto kept = cache->state(W);
    if (kept.empty()) continue;  // just computed anew: exactly ln W
    detail::log_floored(W.data(), truth.data(), static_cast<std::size_t>(W.size()), floor_);
    for (Eigen::Index i = 0; i < W.size(); ++i) {
      const double error = std::abs(kept[static_cast<std::size_t>(i)] - truth.data()[i]) /
                           std::max(1.0, std::abs(truth.data()[i]));
      worst = std::max(worst, error);
    }
    ++checked;
    ASSERT_LE(worst, 1e-12) << "after " << step << " steps";
  }
  EXPECT_GT(checked, 100000);
  EXPECT_GT(worst, 0.0);  // the series did serve (the cache is not the logarithm itself)
  std::printf("10^6 steps: worst drift %.2e of max(1, |ln W|) over %lld checks\n", worst,
              static_cast<long long>(checked));
}

TEST(KernelChoice, TheEnvironmentPicksOrNamesTheMistake) {
  const detail::kernel_option options[] = {{"plain", true}, {"wide", false}, {"other", true}};
  const char* variable = "RATESIM_TEST_KERNEL";
  ::unsetenv(variable);
  EXPECT_EQ(detail::choose_kernel(variable, options, 2), 2u);  // unset: the automatic one
  ::setenv(variable, "plain", 1);
  EXPECT_EQ(detail::choose_kernel(variable, options, 2), 0u);
  auto message = [&](const char* value) {
    ::setenv(variable, value, 1);
    try {
      detail::choose_kernel(variable, options, 2);
    } catch (const parameter_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("wide"),
            "environment: RATESIM_TEST_KERNEL=wide is not available on this machine (its CPU, "
            "operating system or this build); available: plain, other");
  EXPECT_EQ(message("avx9"),
            "environment: RATESIM_TEST_KERNEL=avx9 is unknown; known: plain, wide, other");
  ::unsetenv(variable);
}

}  // namespace
}  // namespace ratesim
