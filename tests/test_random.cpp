// The counter-based generator and ratesim's own distributions (ratesim/random.hpp):
// Philox4x64-10 against Random123's published known answers (and its header when
// librandom123-dev is installed); streams, their addresses and positions; each
// distribution's statistics at fixed seeds (chi-square goodness of fit at the 0.1% level,
// moments within 4 standard errors); draws that do not depend on the thread count; and
// pinned values, since the same bits on every standard library is the point.

#include "detail/random_math.hpp"

#include <ratesim/error.hpp>
#include <ratesim/random.hpp>

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#ifdef RATESIM_HAVE_RANDOM123
#include <Random123/philox.h>
#undef philox4x64  // a macro for philox4x64_R(10, …), in the way of ratesim::philox4x64
#endif

namespace ratesim {
namespace {

// ---- Philox ---------------------------------------------------------------------------

// Random123 1.14, examples/kat_vectors: "philox4x64 10 <counter> <key> <result>".
struct known_answer {
  philox_counter counter;
  philox_key key;
  philox_counter result;
};
constexpr known_answer known_answers[] = {
    {{0, 0, 0, 0},
     {0, 0},
     {0x16554d9eca36314cULL, 0xdb20fe9d672d0fdcULL, 0xd7e772cee186176bULL, 0x7e68b68aec7ba23bULL}},
    {{~0ULL, ~0ULL, ~0ULL, ~0ULL},
     {~0ULL, ~0ULL},
     {0x87b092c3013fe90bULL, 0x438c3c67be8d0224ULL, 0x9cc7d7c69cd777b6ULL, 0xa09caebf594f0ba0ULL}},
    {{0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL, 0xa4093822299f31d0ULL, 0x082efa98ec4e6c89ULL},
     {0x452821e638d01377ULL, 0xbe5466cf34e90c6cULL},
     {0xa528f45403e61d95ULL, 0x38c72dbd566e9788ULL, 0xa5a1610e72fd18b5ULL, 0x57bd43b5e52b7fe6ULL}},
};

// The first answer at compile time: philox4x64 is constexpr.
static_assert(philox4x64({0, 0, 0, 0}, {0, 0})[0] == 0x16554d9eca36314cULL);

TEST(Philox, GivesRandom123sKnownAnswers) {
  for (const auto& a : known_answers) EXPECT_EQ(philox4x64(a.counter, a.key), a.result);
}

TEST(Philox, AgreesWithRandom123sHeader) {
#ifdef RATESIM_HAVE_RANDOM123
  random_stream inputs(2012, 17);
  for (int i = 0; i < 10000; ++i) {
    philox4x64_ctr_t c;
    philox4x64_key_t k;
    philox_counter ours_c;
    philox_key ours_k;
    for (int w = 0; w < 4; ++w) c.v[w] = ours_c[w] = inputs.next();
    for (int w = 0; w < 2; ++w) k.v[w] = ours_k[w] = inputs.next();
    const philox4x64_ctr_t theirs = philox4x64_R(10, c, k);
    const philox_counter ours = ratesim::philox4x64(ours_c, ours_k);
    for (int w = 0; w < 4; ++w) ASSERT_EQ(ours[w], theirs.v[w]) << "input " << i;
  }
#else
  GTEST_SKIP() << "librandom123-dev is not installed (scripts/bootstrap installs it); the "
                  "known answers above still check Philox";
#endif
}

// ---- Streams --------------------------------------------------------------------------

TEST(RandomStream, DrawsTheCountersBlocksInOrder) {
  random_stream r(7, 11, 3, 5);
  for (std::uint64_t block = 0; block < 5; ++block) {
    const philox_counter expected = philox4x64({block, 3, 5, 0}, {7, 11});
    for (int w = 0; w < 4; ++w) EXPECT_EQ(r.next(), expected[w]);
  }
  EXPECT_EQ(r.position(), 20u);
}

// The spiking regime's draw for (seed, step, unit) is a stream made at that address, with
// no state shared: the same as the stateless philox4x64 at that counter, whoever asks.
TEST(RandomStream, TheStatelessDrawIsTheStreamsDrawAtThatCounter) {
  const std::uint64_t seed = 42, population = stream_id("spikes.output");
  for (std::uint64_t step : {0ULL, 1ULL, 999ULL, 1ULL << 40})
    for (std::uint64_t unit : {0ULL, 7ULL, 783ULL}) {
      random_stream r(seed, population, step, unit);
      const philox_counter block = philox4x64({0, step, unit, 0}, {seed, population});
      for (int w = 0; w < 4; ++w) EXPECT_EQ(r.next(), block[w]);
      random_stream u(seed, population, step, unit);
      EXPECT_EQ(uniform(u), static_cast<double>(block[0] >> 11) * 0x1.0p-53);
    }
}

// A checkpoint keeps a stream's position; seeking a stream made the same way resumes it.
TEST(RandomStream, ResumesFromItsPosition) {
  for (std::uint64_t stop : {0u, 1u, 3u, 4u, 5u, 37u}) {
    random_stream whole(1, 2), first(1, 2);
    for (std::uint64_t i = 0; i < stop; ++i) {
      whole.next();
      first.next();
    }
    random_stream resumed(1, 2);
    resumed.seek(first.position());
    for (int i = 0; i < 50; ++i) EXPECT_EQ(resumed.next(), whole.next()) << "stop " << stop;
  }
  // Across rejections too: a distribution's draws are a function of the position alone.
  random_stream whole(3, 4), part(3, 4);
  std::vector<double> expected;
  for (int i = 0; i < 100; ++i) expected.push_back(normal(whole) + double(poisson(whole, 50.0)));
  for (int i = 0; i < 40; ++i) {
    normal(part);
    poisson(part, 50.0);
  }
  random_stream resumed(3, 4);
  resumed.seek(part.position());
  for (int i = 40; i < 100; ++i)
    EXPECT_EQ(normal(resumed) + double(poisson(resumed, 50.0)), expected[std::size_t(i)]);
}

TEST(RandomStream, DifferentSeedsStreamsAndAddressesDiffer) {
  auto first = [](random_stream r) {
    std::vector<std::uint64_t> v(64);
    for (auto& x : v) x = r.next();
    return v;
  };
  const std::vector<std::vector<std::uint64_t>> streams = {
      first({1, 1}),       first({2, 1}), first({1, 2}),          first({1, 1, 1}),
      first({1, 1, 0, 1}), first({0, 0}), first({1ULL << 63, 1}), first({1, 1, 1, 1})};
  for (std::size_t a = 0; a < streams.size(); ++a)
    for (std::size_t b = 0; b < a; ++b) {
      std::size_t same = 0;
      for (std::size_t i = 0; i < 64; ++i) same += streams[a][i] == streams[b][i];
      EXPECT_EQ(same, 0u) << a << " vs " << b;
    }
  EXPECT_EQ(first({1, 1}), first({1, 1, 0, 0}));  // step and unit default to 0
}

TEST(RandomStream, StreamIdsAreFnv1a) {
  // FNV-1a's published test values: fixed forever, so a component's draws are too.
  static_assert(stream_id("") == 0xcbf29ce484222325ULL);
  static_assert(stream_id("a") == 0xaf63dc4c8601ec8cULL);
  static_assert(stream_id("foobar") == 0x85944171f73967e8ULL);
  EXPECT_NE(stream_id("stimulus.input"), stream_id("stimulus.output"));
}

// ---- Statistics helpers ------------------------------------------------------------------

// The chi-square statistic's 0.999 quantile for `df` degrees of freedom (Wilson–Hilferty,
// within 1% for df >= 2).
double chi2_critical(int df) {
  const double z = 3.0902, h = 2.0 / (9.0 * df);
  return df * std::pow(1.0 - h + z * std::sqrt(h), 3);
}

double chi2(const std::vector<double>& observed, const std::vector<double>& expected) {
  double x = 0.0;
  for (std::size_t i = 0; i < observed.size(); ++i)
    x += (observed[i] - expected[i]) * (observed[i] - expected[i]) / expected[i];
  return x;
}

struct moments {
  double mean = 0, variance = 0, excess_kurtosis = 0;
};
moments moments_of(const std::vector<double>& x) {
  const double n = static_cast<double>(x.size());
  moments m;
  for (double v : x) m.mean += v / n;
  double m2 = 0, m4 = 0;
  for (double v : x) {
    const double d = (v - m.mean) * (v - m.mean);
    m2 += d / n;
    m4 += d * d / n;
  }
  m.variance = m2 * n / (n - 1);
  m.excess_kurtosis = m4 / (m2 * m2) - 3.0;
  return m;
}

// ---- Uniform -------------------------------------------------------------------------------

TEST(Uniform, InZeroOneAndUniformOverIt) {
  random_stream r(1, stream_id("test.uniform"));
  const int bins = 100, n = 1000000;
  std::vector<double> counts(bins), expected(bins, double(n) / bins), x(n);
  for (int i = 0; i < n; ++i) {
    x[std::size_t(i)] = uniform(r);
    ASSERT_GE(x[std::size_t(i)], 0.0);
    ASSERT_LT(x[std::size_t(i)], 1.0);
    counts[std::size_t(x[std::size_t(i)] * bins)] += 1;
  }
  EXPECT_LT(chi2(counts, expected), chi2_critical(bins - 1));
  const moments m = moments_of(x);
  EXPECT_NEAR(m.mean, 0.5, 4 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(m.variance, 1.0 / 12, 4 * std::sqrt(1.0 / 180 / n));  // Var s² = (μ4 − σ⁴)/n
  // Every multiple of 2^-53: the lowest bits are used too.
  std::size_t odd = 0;
  for (double v : x) odd += std::fmod(v * 0x1p53, 2.0) == 1.0;
  EXPECT_NEAR(double(odd) / n, 0.5, 4 * 0.5 / std::sqrt(n));
}

TEST(Uniform, InARange) {
  random_stream r(2, 0);
  for (int i = 0; i < 10000; ++i) {
    const double v = uniform(r, -3.0, 5.0);
    ASSERT_GE(v, -3.0);
    ASSERT_LE(v, 5.0);
  }
}

TEST(UniformIndex, IsUnbiased) {
  for (std::uint64_t n : {3u, 7u, 10u}) {
    random_stream r(3, n);
    const int draws = 300000;
    std::vector<double> counts(n), expected(n, double(draws) / double(n));
    for (int i = 0; i < draws; ++i) {
      const std::uint64_t k = uniform_index(r, n);
      ASSERT_LT(k, n);
      counts[k] += 1;
    }
    EXPECT_LT(chi2(counts, expected), chi2_critical(int(n) - 1)) << "n = " << n;
  }
  // n = 3 · 2^62: a draw modulo n would give the first third twice as often as the others.
  const std::uint64_t n = 3ULL << 62;
  random_stream r(4, 0);
  std::vector<double> thirds(3), expected(3, 100000.0);
  for (int i = 0; i < 300000; ++i) thirds[uniform_index(r, n) / (1ULL << 62)] += 1;
  EXPECT_LT(chi2(thirds, expected), chi2_critical(2));
  random_stream one(5, 0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(uniform_index(one, 1), 0u);
}

// ---- Normal ------------------------------------------------------------------------------

TEST(Normal, HasTheMomentsAndShapeOfTheStandardNormal) {
  random_stream r(6, stream_id("test.normal"));
  const int n = 1000000;
  std::vector<double> x(n);
  for (auto& v : x) v = normal(r);
  const moments m = moments_of(x);
  EXPECT_NEAR(m.mean, 0.0, 4 / std::sqrt(n));
  EXPECT_NEAR(m.variance, 1.0, 4 * std::sqrt(2.0 / n));
  EXPECT_NEAR(m.excess_kurtosis, 0.0, 4 * std::sqrt(24.0 / n));
  // 34 bins of width 0.25 over [−4, 4] and the two tails, against Φ.
  const int bins = 34;
  std::vector<double> counts(bins), expected(bins);
  auto Phi = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  for (int b = 0; b < bins; ++b) {
    const double lo = b == 0 ? -INFINITY : -4.0 + 0.25 * (b - 1);
    const double hi = b == bins - 1 ? INFINITY : -4.0 + 0.25 * b;
    expected[std::size_t(b)] = n * (Phi(hi) - Phi(lo));
  }
  for (double v : x) {
    const double b = std::floor((v + 4.0) / 0.25) + 1;
    counts[std::size_t(std::clamp(b, 0.0, double(bins - 1)))] += 1;
  }
  EXPECT_LT(chi2(counts, expected), chi2_critical(bins - 1));
}

// ---- Poisson -------------------------------------------------------------------------------

// Mean and variance within 4 standard errors (Var s² = (λ + 2λ²)/n for a Poisson), and a
// chi-square test against the probabilities, the tails merged until each bin expects >= 20.
void check_poisson(double mean, int n) {
  random_stream r(7, std::uint64_t(mean * 1000));
  std::vector<double> x(std::size_t(n), 0.0);
  for (auto& v : x) v = double(poisson(r, mean));
  const moments m = moments_of(x);
  EXPECT_NEAR(m.mean, mean, 4 * std::sqrt(mean / n)) << "mean " << mean;
  EXPECT_NEAR(m.variance, mean, 4 * std::sqrt((mean + 2 * mean * mean) / n)) << "mean " << mean;
  auto pmf = [&](double k) { return std::exp(-mean + k * std::log(mean) - std::lgamma(k + 1)); };
  // Bins [lo, hi]: the first holds k <= lo0, the last k >= its lower end.
  std::vector<double> edges;  // lower ends
  double k = 0, cdf = 0, acc = 0;
  while (acc + n * pmf(k) < 20.0) acc += n * pmf(k), cdf += pmf(k), ++k;
  edges.push_back(0);
  double run = acc;
  for (;; ++k) {
    run += n * pmf(k);
    cdf += pmf(k);
    if (run >= 20.0) {
      if (n * (1.0 - cdf) < 20.0) break;
      edges.push_back(k + 1);
      run = 0;
    }
  }
  const std::size_t bins = edges.size();
  std::vector<double> counts(bins), expected(bins);
  for (double v : x)
    counts[std::size_t(std::upper_bound(edges.begin(), edges.end(), v) - edges.begin()) - 1] += 1;
  double below = 0;
  for (std::size_t b = 0; b + 1 < bins; ++b) {
    for (double j = edges[b]; j < edges[b + 1]; ++j) expected[b] += n * pmf(j);
    below += expected[b];
  }
  expected[bins - 1] = n - below;
  ASSERT_GE(bins, 2u);
  EXPECT_LT(chi2(counts, expected), chi2_critical(int(bins) - 1))
      << "mean " << mean << ", " << bins << " bins";
}

TEST(Poisson, SmallMeansByInversion) {
  for (double mean : {0.1, 3.0, 9.99}) check_poisson(mean, 200000);
}

TEST(Poisson, LargeMeansByTransformedRejection) {
  for (double mean : {10.0, 30.0, 300.0, 12345.6}) check_poisson(mean, 200000);
}

TEST(Poisson, ZeroAndBadMeans) {
  random_stream r(8, 0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(poisson(r, 0.0), 0u);
  for (double bad : {-1.0, double(NAN), double(INFINITY), 1e300})
    EXPECT_THROW(poisson(r, bad), parameter_error) << bad;
}

// ---- Shuffle -----------------------------------------------------------------------------

TEST(Shuffle, GivesEveryPermutationEquallyOften) {
  random_stream r(9, stream_id("test.shuffle"));
  // All 24 orders of four elements.
  std::vector<double> counts(24), expected(24, 240000.0 / 24);
  for (int i = 0; i < 240000; ++i) {
    std::vector<int> v = {0, 1, 2, 3};
    shuffle(v.begin(), v.end(), r);
    int rank = 0;  // the permutation's index in lexicographic order
    std::vector<int> left = {0, 1, 2, 3};
    for (int p = 0; p < 4; ++p) {
      const auto at = std::find(left.begin(), left.end(), v[std::size_t(p)]);
      rank = rank * (4 - p) + int(at - left.begin());
      left.erase(at);
    }
    counts[std::size_t(rank)] += 1;
  }
  EXPECT_LT(chi2(counts, expected), chi2_critical(23));
}

TEST(Shuffle, IsAPermutationWithUniformPositions) {
  random_stream r(10, 0);
  const int n = 10, rounds = 100000;
  std::vector<double> where(n * n), expected(n * n, double(rounds) / n);
  for (int i = 0; i < rounds; ++i) {
    std::vector<int> v(n);
    std::iota(v.begin(), v.end(), 0);
    shuffle(v.begin(), v.end(), r);
    std::vector<int> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    for (int j = 0; j < n; ++j) ASSERT_EQ(sorted[std::size_t(j)], j);
    for (int p = 0; p < n; ++p) where[std::size_t(v[std::size_t(p)] * n + p)] += 1;
  }
  // Rows and columns each sum to `rounds`: (n − 1)² degrees of freedom.
  EXPECT_LT(chi2(where, expected), chi2_critical((n - 1) * (n - 1)));
  std::vector<int> none, one = {5};
  shuffle(none.begin(), none.end(), r);
  shuffle(one.begin(), one.end(), r);
  EXPECT_EQ(one, std::vector<int>{5});
}

// ---- Threads, and the same bits everywhere -----------------------------------------------

// Draws addressed by (step, unit) are the same however many threads take them.
TEST(RandomStream, ParallelDrawsDoNotDependOnTheThreadCount) {
  const int steps = 50, units = 2000;
  auto draw = [&](int threads) {
    std::vector<double> out(std::size_t(steps * units));
#pragma omp parallel for num_threads(threads) schedule(dynamic, 7)
    for (int i = 0; i < steps * units; ++i) {
      random_stream r(2024, stream_id("spikes"), std::uint64_t(i / units),
                      std::uint64_t(i % units));
      out[std::size_t(i)] = uniform(r) + normal(r) + double(poisson(r, 3.0 + (i % 40)));
    }
    return out;
  };
  const auto one = draw(1);
  for (int threads : {2, 3, 8}) EXPECT_EQ(draw(threads), one) << threads << " threads";
}

// The bits themselves: these values were computed once by this implementation; a standard
// library, libm or CPU that changed any of them would break reproducibility, which is what
// this header promises (so exact comparison is the test, not a tolerance).
TEST(RandomStream, PinnedValues) {
  random_stream r(2012, stream_id("pinned"));
  EXPECT_EQ(r.next(), 0xecc60b8d21aec082ULL);
  EXPECT_EQ(uniform(r), 0x1.9caf659bba2ep-1);
  EXPECT_EQ(uniform_index(r, 1000), 972u);
  EXPECT_EQ(normal(r), 0x1.1e21b79d24722p+0);
  EXPECT_EQ(poisson(r, 2.5), 1u);
  EXPECT_EQ(poisson(r, 250.0), 268u);
  std::vector<int> v(8);
  std::iota(v.begin(), v.end(), 0);
  shuffle(v.begin(), v.end(), r);
  EXPECT_EQ(v, (std::vector<int>{4, 5, 6, 3, 7, 2, 1, 0}));
  EXPECT_EQ(r.position(), 17u);
}

// ---- ratesim's own exp and ln k! -----------------------------------------------------------

TEST(RandomMath, ExpWithinTwoUlp) {
  random_stream r(11, 0);
  for (int i = 0; i < 200000; ++i) {
    const double x = i < 100000 ? -uniform(r) * 20.0 : -uniform(r) * 708.0;
    const double ours = detail::exp_nonpositive(x), exact = std::exp(x);
    ASSERT_LE(std::abs(ours - exact), 2 * std::abs(std::nextafter(exact, 0.0) - exact))
        << "x = " << x;
  }
  EXPECT_EQ(detail::exp_nonpositive(0.0), 1.0);
  EXPECT_EQ(detail::exp_nonpositive(-800.0), 0.0);
  EXPECT_EQ(detail::exp_nonpositive(-INFINITY), 0.0);
}

TEST(RandomMath, LogFactorialAgreesWithLgamma) {
  EXPECT_EQ(detail::log_factorial(0), 0.0);
  EXPECT_EQ(detail::log_factorial(1), 0.0);
  for (double k = 2; k < 1e15; k = k < 100 ? k + 1 : std::floor(k * 1.37)) {
    const double exact = std::lgamma(k + 1);
    EXPECT_NEAR(detail::log_factorial(k), exact, 1e-14 * exact) << "k = " << k;
  }
}

}  // namespace
}  // namespace ratesim
