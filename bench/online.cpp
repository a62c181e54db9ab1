// Quasi-static online learning: the seed's circuit presented Fashion-MNIST images at
// C = 100, 400, 1000 (D = 784, A = 900, ε = 0.01), patterns per second, with the ln W
// cache following each step (the default) and computed anew after each (exact_log). bench/online_numpy.py
// does the same in numpy; `bench/compare.sh online` runs both and prints the ratio.
//
//   build/bench/bench_online [images.idx.gz] --benchmark_repetitions=5

#include "fashion_mnist.hpp"

#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/softmax_competition.hpp>
#include <ratesim/network.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/quasi_static.hpp>

#include <benchmark/benchmark.h>

namespace {

using namespace ratesim;

constexpr double A = 900.0;
constexpr Eigen::Index N = 2000;  // images presented in order

const matrix& images() {
  static const matrix X = bench::fashion_mnist().leftCols(N);
  return X;
}

void presentations(benchmark::State& state) {
  const matrix& X = images();
  const auto C = static_cast<std::size_t>(state.range(0));
  const auto D = static_cast<std::size_t>(X.rows());
  network net;
  auto& input = net.add<feedforward_inhibition>("input", {.size = D, .A = A});
  net.add<softmax_competition>("output", {.size = C});
  random_stream rng(1, 0);
  net.connect("input", "output",
              {.name = "ff",
               .weights = data_mean_weights(input.normalize(X), Eigen::Index(C), 0.5, A, rng),
               .rule = make_rule("synaptic_scaling", {{"tau", 100.0}})});  // ε = 1/100
  net.stimulate("input", std::make_unique<pattern_set>(X, pattern_set::params{}));
  quasi_static_simulation sim(net, {.exact_log = state.range(1) != 0});
  constexpr int batch = 200;
  for (auto _ : state) sim.run_presentations(batch);
  state.SetItemsProcessed(state.iterations() * batch);
}

// Second argument 1: ln W computed anew after every step (exact_log), for the ratio.
BENCHMARK(presentations)
    ->ArgNames({"", "exact_log"})
    ->Args({100, 0})
    ->Args({100, 1})
    ->Args({400, 0})
    ->Args({400, 1})
    ->Args({1000, 0})
    ->Args({1000, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return bench::run(argc, argv); }
