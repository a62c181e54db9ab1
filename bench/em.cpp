// One batch-EM step (E-step, both matrix products, M-step) on Fashion-MNIST, 60,000 × 784,
// normalised with A = 900, at C = 100 and 400. bench/em_numpy.py does the same in numpy;
// `bench/compare.sh em` runs both and prints the ratio.
//
//   build/bench/bench_em [images.idx.gz] --benchmark_repetitions=5

#include "fashion_mnist.hpp"
#include "gemm.hpp"

#include <ratesim/mixture/kernels.hpp>
#include <ratesim/mixture/poisson_mixture.hpp>
#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/projection.hpp>
#include <ratesim/random.hpp>

#include <benchmark/benchmark.h>

#include <omp.h>

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
  random_stream rng(1, 0);
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

// EM's step with the products on a given kernel (the one chosen for this machine is
// em_step above), for the kernels this machine has.
void em_step_on(benchmark::State& state, const char* kernel) {
  const detail::gemm_choice* k = detail::gemm_kernel_named(kernel);
  if (k == nullptr) {
    state.SkipWithError("not on this machine");
    return;
  }
  detail::use_gemm_kernel(k);
  em_step(state, false);
  detail::use_gemm_kernel(nullptr);
}

BENCHMARK_CAPTURE(em_step_on, openblas, "openblas")->Arg(100)->Arg(400)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(em_step_on, eigen-avx2, "eigen-avx2")->Arg(100)->Arg(400)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(em_step_on, eigen-avx512, "eigen-avx512")->Arg(100)->Arg(400)->Unit(benchmark::kMillisecond)->UseRealTime();

// The machine's attainable matrix-product peak: DGEMM on square n × n doubles on every
// core, for each kernel this machine has: OpenBLAS (the core it chose; its own threads)
// and Eigen's GEMM per instruction set (one thread per slice of C's columns, as EM runs
// them). compare.sh takes the best as the peak; em_step's GFLOP/s counts only its two
// products' flops over the whole step's time and is printed as a fraction of it.
void gemm_peak(benchmark::State& state, const char* kernel) {
  const detail::gemm_choice* k = detail::gemm_kernel_named(kernel);
  if (k == nullptr) {
    state.SkipWithError("not on this machine");
    return;
  }
  const auto n = static_cast<Eigen::Index>(state.range(0));
  const matrix a = matrix::Random(n, n), b = matrix::Random(n, n);
  matrix c(n, n);
  const bool openblas = std::string_view(kernel) == "openblas";
  for (auto _ : state) {
    if (openblas) {  // OpenBLAS threads the product itself
      k->dgemm(false, n, n, n, a.data(), n, b.data(), n, false, c.data(), n);
    } else {
#pragma omp parallel
      {
        const long t = omp_get_thread_num(), threads = omp_get_num_threads();
        const long first = n * t / threads, cols = n * (t + 1) / threads - first;
        k->dgemm(false, n, cols, n, a.data(), n, b.data() + first * n, n, false,
                 c.data() + first * n, n);
      }
    }
    benchmark::DoNotOptimize(c.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * double(n) * double(n) * double(n) * double(state.iterations()) / 1e9,
      benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(gemm_peak, openblas, "openblas")->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(gemm_peak, eigen-avx2, "eigen-avx2")->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(gemm_peak, eigen-avx512, "eigen-avx512")->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // Which kernels em_step runs on, in the report's context (compare.sh prints it).
  const ratesim::kernel_report k = ratesim::kernels();
  benchmark::AddCustomContext("kernels", ratesim::to_json(k));
  return bench::run(argc, argv);
}
