// The spiking regime: Poisson inputs (ν = 0.5 spikes/ms per unit of y, A = 900, traces
// τ_x = 20 ms) driving a stochastic winner-take-all (R = 0.2 spikes/ms) through a plastic
// log-weight projection with spike-triggered synaptic scaling (η = 0.01), C = 100,
// D = 784, Fashion-MNIST images each presented for T = 50 ms, dt = 0.5 ms. Simulated ms
// per second of wall-clock time. bench/spiking_brian2.py does the same in Brian2;
// `bench/compare.sh spiking` runs both and prints the ratio.
//
//   build/bench/bench_spiking [images.idx.gz] --benchmark_repetitions=5

#include "fashion_mnist.hpp"

#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/poisson_input.hpp>
#include <ratesim/models/stochastic_wta.hpp>
#include <ratesim/network.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/spiking.hpp>

#include <benchmark/benchmark.h>

namespace {

using namespace ratesim;

constexpr double A = 900.0;
constexpr Eigen::Index N = 1000;  // images presented in order

void spiking(benchmark::State& state) {
  const matrix X = bench::fashion_mnist().leftCols(N);
  const auto C = static_cast<std::size_t>(state.range(0));
  const auto D = static_cast<std::size_t>(X.rows());
  network net;
  auto& input = net.add<poisson_input>("input", {.size = D, .A = A, .nu = 0.5, .tau_x = 20.0});
  net.add<stochastic_wta>("output", {.size = C, .R = 0.2});
  random_stream rng(1, 0);
  net.connect("input", "output",
              {.name = "ff",
               .weights = data_mean_weights(input.settled_rates(X), Eigen::Index(C), 0.5, A, rng),
               .rule = make_rule("spike_scaling", {{"eta", 0.01}})});
  net.stimulate("input", std::make_unique<pattern_set>(X, pattern_set::params{.duration = 50.0}));
  spiking_simulation sim(net, {.dt = 0.5, .seed = 1});
  constexpr step_count batch = 1000;  // 500 ms, 10 presentations
  for (auto _ : state) sim.run_steps(batch);
  state.SetItemsProcessed(state.iterations() * batch / 2);  // simulated ms
  state.counters["input_spikes_per_ms"] =
      static_cast<double>(sim.spike_count(0)) / sim.time();
  state.counters["output_spikes_per_ms"] =
      static_cast<double>(sim.spike_count(1)) / sim.time();
}

BENCHMARK(spiking)->Name("spiking")->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return bench::run(argc, argv); }
