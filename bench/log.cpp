// Nanoseconds per logarithm of each implementation of the vectorised logarithm
// (simulator/core/src/detail/vector_log.cpp) on one thread, next to std::log and Eigen's
// element-wise log, over C·D = 78,400 weights (C = 100, D = 784) spread over the range
// learned weights take. Paths this CPU lacks are reported as skipped. Nanoseconds per
// logarithm = 1e9 / items_per_second (CPU time of the one thread).
//
//   build/bench/bench_log --benchmark_repetitions=5

#include "detail/vector_log.hpp"

#include <ratesim/random.hpp>

#include <Eigen/Core>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace {

constexpr std::size_t n = 100 * 784;

const std::vector<double>& weights() {
  static const std::vector<double> w = [] {
    ratesim::random_stream rng(7, 0);
    std::vector<double> x(n);  // 1e-12 A/D … 20 A/D
    for (double& v : x) v = std::exp(ratesim::uniform(rng, -12.0, 4.0)) * 900.0 / 784.0;
    return x;
  }();
  return w;
}

void finish(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void vector_log(benchmark::State& state, const char* isa) {
  const auto& x = weights();
  std::vector<double> y(n);
  const double floor = std::numeric_limits<double>::min();
  if (!ratesim::detail::log_floored_as(isa, x.data(), y.data(), n, floor)) {
    state.SkipWithError("not supported by this CPU or its operating system");
    return;
  }
  for (auto _ : state) {
    ratesim::detail::log_floored_as(isa, x.data(), y.data(), n, floor);
    benchmark::DoNotOptimize(y.data());
  }
  finish(state);
}

BENCHMARK_CAPTURE(vector_log, scalar, "scalar");
BENCHMARK_CAPTURE(vector_log, sse2, "sse2");
BENCHMARK_CAPTURE(vector_log, avx2, "avx2");
BENCHMARK_CAPTURE(vector_log, avx512, "avx512");

// One step of the incremental ln W cache (detail::log_step) as the quasi-static regime takes
// it, in synaptic scaling's form: w' = w + (y − w) ε s_c with ε = 0.01, most rows' s tiny
// (the series serves) and a few winners' large (where |w' − w| / (w' + w) > 1/16 the lane
// takes the logarithm). C = 100 rows, D = 784 columns; the weights go on learning from one
// iteration to the next.
void log_step(benchmark::State& state, const char* isa) {
  constexpr std::size_t C = 100, D = n / C;
  ratesim::random_stream rng(8, 0);
  std::vector<double> w(n), lw(n), y(D), q(C);
  for (double& v : w) v = std::exp(ratesim::uniform(rng, -0.5, 3.0));  // learned W: 0.6 … 20
  for (double& v : y) v = std::exp(ratesim::uniform(rng, 0.0, 2.3));   // y_d: 1 … 10
  for (double& v : q) v = 0.01 * std::exp(ratesim::uniform(rng, -30.0, 0.0));  // ε s_c
  const double floor = std::numeric_limits<double>::min();
  ratesim::detail::log_floored(w.data(), lw.data(), n, floor);
  const ratesim::detail::weight_change change{.factor = 1.0, .pre = y.data(), .q = q.data()};
  bool usable = true;
  for (auto _ : state) {
    if (!ratesim::detail::log_step_as(isa, w.data(), change, lw.data(), C, D, floor, usable)) {
      state.SkipWithError("not supported by this CPU or its operating system");
      return;
    }
    benchmark::DoNotOptimize(lw.data());
  }
  finish(state);
}

BENCHMARK_CAPTURE(log_step, scalar, "scalar");
BENCHMARK_CAPTURE(log_step, sse2, "sse2");
BENCHMARK_CAPTURE(log_step, avx2, "avx2");
BENCHMARK_CAPTURE(log_step, avx512, "avx512");

void std_log(benchmark::State& state) {
  const auto& x = weights();
  std::vector<double> y(n);
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) y[i] = std::log(x[i]);
    benchmark::DoNotOptimize(y.data());
  }
  finish(state);
}
BENCHMARK(std_log);

void eigen_log(benchmark::State& state) {  // this build's Eigen: SSE2 unless -march says more
  const auto& w = weights();
  const Eigen::Map<const Eigen::ArrayXd> x(w.data(), n);
  Eigen::ArrayXd y(n);
  for (auto _ : state) {
    y = x.log();
    benchmark::DoNotOptimize(y.data());
  }
  finish(state);
}
BENCHMARK(eigen_log);

}  // namespace

BENCHMARK_MAIN();
