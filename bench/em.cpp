// One batch-EM step (E-step, both matrix products, M-step) on Fashion-MNIST, 60,000 × 784,
// normalised with A = 900, at C = 100 and 400. bench/em_numpy.py does the same in numpy;
// `bench/compare.sh em` runs both and prints the ratio.
//
//   build/bench/bench_em [images.idx.gz] --benchmark_repetitions=5

#include "fashion_mnist.hpp"

#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/poisson_mixture.hpp>
#include <ratesim/projection.hpp>

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <random>

namespace {

using namespace ratesim;

constexpr double A = 900.0;

const matrix& data() {
  static const matrix Y = [] {
    const matrix& raw = bench::fashion_mnist();
    return feedforward_inhibition("input", {.size = std::size_t(raw.rows()), .A = A}).normalize(raw);
  }();
  return Y;
}

void em_step(benchmark::State& state, bool single_precision) {
  const matrix& Y = data();
  const auto C = static_cast<Eigen::Index>(state.range(0));
  std::mt19937_64 rng(1);
  em_trainer em(Y, data_mean_weights(Y, C, 0.5, A, rng), A, 2048, single_precision);
  for (auto _ : state) benchmark::DoNotOptimize(em.step());
  state.SetItemsProcessed(state.iterations());
  // Two matrix products of C × D × N multiply-adds each.
  const double flops = 2.0 * 2.0 * double(C) * double(Y.rows()) * double(Y.cols());
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(em_step, , false)->Arg(100)->Arg(400)->Unit(benchmark::kMillisecond)->UseRealTime();
// The same with the products in float32 (em_options::single_precision).
BENCHMARK_CAPTURE(em_step, float32, true)->Arg(100)->Arg(400)->Unit(benchmark::kMillisecond)->UseRealTime();

// The machine's matrix-product peak: OpenBLAS's DGEMM (the kernels EM's products use,
// and numpy's) on square n × n doubles, on every core. em_step's GFLOP/s counts only its
// two products' flops over the whole step's time; compare.sh prints it as a fraction of
// this.
void gemm_peak(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  const matrix a = matrix::Random(n, n), b = matrix::Random(n, n);
  matrix c(n, n);
  const int size = static_cast<int>(n);
  for (auto _ : state) {
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1.0, a.data(), size,
                b.data(), size, 0.0, c.data(), size);
    benchmark::DoNotOptimize(c.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * double(n) * double(n) * double(n) * double(state.iterations()) / 1e9,
      benchmark::Counter::kIsRate);
}

BENCHMARK(gemm_peak)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return bench::run(argc, argv); }
