// The cost of recording: the seed's circuit learning in the quasi-static regime at
// C = 100, D = 784, with no recorder, with the output rates recorded at every presentation,
// and with weight snapshots. bench/report.py turns the JSON output into ratios.
//
//   build/bench/bench_recording --benchmark_repetitions=5 --benchmark_format=json > r.json
//   /usr/bin/python3 bench/report.py r.json

#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/softmax_competition.hpp>
#include <ratesim/network.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/quasi_static.hpp>

#include <benchmark/benchmark.h>

#include <filesystem>
#include <unistd.h>

namespace {

using namespace ratesim;

constexpr Eigen::Index C = 100, D = 784, N = 1000;
constexpr double A = 1000.0;

void build(network& net) {
  random_stream rng(1, 0);
  matrix data(D, N);
  for (Eigen::Index i = 0; i < data.size(); ++i) data.data()[i] = uniform(rng);
  auto& input = net.add<feedforward_inhibition>("input", {.size = std::size_t(D), .A = A});
  net.add<softmax_competition>("output", {.size = std::size_t(C)});
  net.connect("input", "output",
              {.name = "ff",
               .weights = data_mean_weights(input.normalize(data), C, 0.5, A, rng),
               .rule = make_rule("synaptic_scaling", {{"tau", 1000.0}})});
  net.stimulate("input", std::make_unique<pattern_set>(
                             data, pattern_set::params{.ordering = pattern_set::order::shuffled}));
}

enum class what { nothing, rates, weights };

void run(benchmark::State& state, what recorded) {
  network net;
  build(net);
  quasi_static_simulation sim(net);
  const std::string path =
      (std::filesystem::temp_directory_path() / ("ratesim-bench-" + std::to_string(::getpid()) + ".h5"))
          .string();
  std::unique_ptr<hdf5_recorder> out;
  double bytes_per_presentation = 0;
  if (recorded != what::nothing) {
    out = std::make_unique<hdf5_recorder>(
        path, hdf5_recorder::options{.mode = hdf5_recorder::file_mode::overwrite});
    if (recorded == what::rates) {
      out->record("output", "rate", {.every = 1.0});
      bytes_per_presentation = 8.0 * (C + 1);
    } else {
      out->record_weights("ff", {.every = 100.0});
      bytes_per_presentation = 8.0 * (C * D + 1) / 100.0;
    }
    sim.attach(*out);
  }
  constexpr int presentations = 1000;
  for (auto _ : state) sim.run_presentations(presentations);
  out.reset();
  std::filesystem::remove(path);
  state.SetItemsProcessed(state.iterations() * presentations);
  state.counters["MB/s"] = benchmark::Counter(
      bytes_per_presentation * presentations * double(state.iterations()) / 1e6,
      benchmark::Counter::kIsRate);
}

void no_recorder(benchmark::State& s) { run(s, what::nothing); }
void rates_every_presentation(benchmark::State& s) { run(s, what::rates); }
void weights_every_100(benchmark::State& s) { run(s, what::weights); }

BENCHMARK(no_recorder)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(rates_every_presentation)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(weights_every_100)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
