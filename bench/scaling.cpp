// How the cost grows: one batch-EM step against N (data points), C (components) and D
// (pixels: every k-th pixel of Fashion-MNIST), each doubled with the others fixed, and the
// speed-up from 1 to 2 threads; and quasi-static presentations against C and D. Each
// benchmark reports ns per (N·C·D) or per (C·D) ("ns_per_unit"): flat means linear.
// `bench/scaling.sh` runs it and prints the table.
//
//   build/bench/bench_scaling [images.idx.gz] --benchmark_repetitions=3

#include "fashion_mnist.hpp"

#include <ratesim/mixture/poisson_mixture.hpp>
#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/softmax_competition.hpp>
#include <ratesim/network.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/quasi_static.hpp>

#include <benchmark/benchmark.h>
#include <omp.h>

namespace {

using namespace ratesim;

constexpr double A = 900.0;

// N images of every `stride`-th pixel, normalised.
matrix subset(Eigen::Index N, Eigen::Index stride) {
  const matrix& X = bench::fashion_mnist();
  matrix raw(X.rows() / stride, N);
  for (Eigen::Index d = 0; d < raw.rows(); ++d) raw.row(d) = X.row(d * stride).head(N);
  raw.row(0).array() += 1.0;  // no empty image after subsampling
  return feedforward_inhibition("input", {.size = std::size_t(raw.rows()), .A = A}).normalize(raw);
}

// Args: N, C, pixel stride, threads.
void em(benchmark::State& state) {
  const Eigen::Index N = state.range(0), C = state.range(1), stride = state.range(2);
  const matrix Y = subset(N, stride);
  random_stream rng(1, 0);
  em_trainer trainer(Y, data_mean_weights(Y, C, 0.5, A, rng), A);
  // EM's threads are OpenMP's (OpenBLAS runs on one thread inside each).
  const int threads_before = omp_get_max_threads();
  omp_set_num_threads(static_cast<int>(state.range(3)));
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step());
  omp_set_num_threads(threads_before);
  state.SetItemsProcessed(state.iterations());
  state.counters["ns_per_unit"] = benchmark::Counter(
      double(N * C * Y.rows()) / 1e9, benchmark::Counter::kIsIterationInvariantRate |
                                          benchmark::Counter::kInvert);
}

// Args: C, pixel stride.
void presentations(benchmark::State& state) {
  const Eigen::Index C = state.range(0), stride = state.range(1);
  const matrix& X = bench::fashion_mnist();
  matrix raw(X.rows() / stride, 2000);
  for (Eigen::Index d = 0; d < raw.rows(); ++d) raw.row(d) = X.row(d * stride).head(2000);
  raw.row(0).array() += 1.0;
  const auto D = std::size_t(raw.rows());
  network net;
  auto& input = net.add<feedforward_inhibition>("input", {.size = D, .A = A});
  net.add<softmax_competition>("output", {.size = std::size_t(C)});
  random_stream rng(1, 0);
  net.connect("input", "output",
              {.name = "ff",
               .weights = data_mean_weights(input.normalize(raw), C, 0.5, A, rng),
               .rule = make_rule("synaptic_scaling", {{"tau", 100.0}})});
  net.stimulate("input", std::make_unique<pattern_set>(raw, pattern_set::params{}));
  quasi_static_simulation sim(net);
  constexpr int batch = 200;
  for (auto _ : state) sim.run_presentations(batch);
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["ns_per_unit"] = benchmark::Counter(
      double(batch * C * Eigen::Index(D)) / 1e9,
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

BENCHMARK(em)
    ->ArgNames({"N", "C", "stride", "threads"})
    ->Args({15000, 100, 1, 2})->Args({30000, 100, 1, 2})->Args({60000, 100, 1, 2})
    ->Args({60000, 50, 1, 2})->Args({60000, 200, 1, 2})
    ->Args({60000, 100, 4, 2})->Args({60000, 100, 2, 2})
    ->Args({60000, 100, 1, 1})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(presentations)
    ->ArgNames({"C", "stride"})
    ->Args({50, 1})->Args({100, 1})->Args({200, 1})->Args({100, 4})->Args({100, 2})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return bench::run(argc, argv); }
