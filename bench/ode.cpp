// The ODE regime: the whole circuit (feedforward inhibition, softmax layer, plastic
// log-weight projection with synaptic scaling) integrated at C = 100, D = 784 on
// Fashion-MNIST images, each presented for T = 1 ms, τ_y = τ_h = τ_u = 1 ms, τ_W = 100 ms.
// Steps per second of euler (its ln W cache following each step, and with exact_log ln W
// computed anew at every step) and rk4 (dt = 0.1 ms) and dopri5 (clock step 0.1 ms,
// tolerances 1e-6). bench/ode_brian2.py does the euler case in Brian2 (Cython);
// `bench/compare.sh ode` runs both and prints the ratio.
//
//   build/bench/bench_ode [images.idx.gz] --benchmark_repetitions=5

#include "fashion_mnist.hpp"

#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/softmax_competition.hpp>
#include <ratesim/network.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/ode.hpp>

#include <benchmark/benchmark.h>

namespace {

using namespace ratesim;

constexpr double A = 900.0;
constexpr Eigen::Index N = 200;  // images presented in order

void steps(benchmark::State& state, const std::string& stepper, bool exact_log = false) {
  const matrix X = bench::fashion_mnist().leftCols(N);
  const auto C = static_cast<std::size_t>(state.range(0));
  const auto D = static_cast<std::size_t>(X.rows());
  network net;
  auto& input = net.add<feedforward_inhibition>(
      "input", {.size = D, .A = A, .tau_y = 1.0, .tau_h = 1.0});
  net.add<softmax_competition>("output", {.size = C, .tau_u = 1.0});
  random_stream rng(1, 0);
  net.connect("input", "output",
              {.name = "ff",
               .weights = data_mean_weights(input.normalize(X), Eigen::Index(C), 0.5, A, rng),
               .rule = make_rule("synaptic_scaling", {{"tau", 100.0}})});
  net.stimulate("input", std::make_unique<pattern_set>(X, pattern_set::params{.duration = 1.0}));
  ode_simulation sim(net, {.stepper = stepper, .dt = 0.1, .abs_tol = 1e-6, .rel_tol = 1e-6,
                           .exact_log = exact_log});
  sim.settle();
  constexpr step_count batch = 100;
  for (auto _ : state) sim.run_steps(batch);
  state.SetItemsProcessed(state.iterations() * batch);
}

BENCHMARK_CAPTURE(steps, euler, std::string("euler"))->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(steps, euler_exact_log, std::string("euler"), true)->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(steps, rk4, std::string("rk4"))->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(steps, dopri5, std::string("dopri5"))->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return bench::run(argc, argv); }
