// Recording a run to HDF5: the seed's circuit learns the bars in the ODE regime (dopri5)
// while an hdf5_recorder streams its traces to a file that h5py can read during the run.
//
//   build/examples/record_traces [out.h5] [duration in ms]
//
// Then: python3 -m ratesim.traces out.h5   (with PYTHONPATH=python)

#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/mixture/bars.hpp>
#include <ratesim/mixture/poisson_mixture.hpp>
#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/softmax_competition.hpp>
#include <ratesim/network.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/ode.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <exception>
#include <string>

int main(int argc, char** argv) try {
  using namespace ratesim;
  const std::string path = argc > 1 ? argv[1] : "traces.h5";
  const double duration = argc > 2 ? std::atof(argv[2]) : 2000.0;  // [ms]
  const double A = 40.0;

  random_stream rng(2012, 0);  // seed 2012, stream 0 (ratesim/random.hpp)
  const mixture_sample train = sample_poisson_mixture(bars_components(5, 10.0, 1.0), 500, rng);
  network net;
  auto& input = net.add<feedforward_inhibition>("input", {.size = 25, .A = A, .tau_y = 1.0,
                                                          .tau_h = 2.0});
  net.add<softmax_competition>("output", {.size = 10, .tau_u = 1.0});
  net.connect("input", "output",
              {.name = "ff",
               .weights = data_mean_weights(input.normalize(train.data), 10, 0.5, A, rng),
               .rule = make_rule("synaptic_scaling", {{"tau", 1000.0}})});
  net.stimulate("input", std::make_unique<pattern_set>(train.data,
                                                       pattern_set::params{.duration = 20.0}));

  ode_simulation sim(net, {.stepper = "dopri5", .dt = 0.5, .abs_tol = 1e-6, .rel_tol = 1e-6});
  hdf5_recorder out(path, {.mode = hdf5_recorder::file_mode::overwrite,
                           .config = "examples/record_traces.cpp",
                           .seed = 2012});
  out.record("output", "rate", {.every = 0.5});                            // every step
  out.record("input", "h", {.every = 0.5});                                // inhibitory pool
  out.record("input", "y", {.every = 2.0}, std::vector<std::size_t>{0, 1, 2, 3, 4});  // row 0
  out.record("output", "input", {.every = 2.0});                           // currents I_c
  out.record_weights("ff", {.every = 100.0});
  out.record_weight_sums("ff", {.every = 10.0});
  sim.attach(out);
  sim.settle();
  sim.run(duration);
  fmt::print("recorded {} ms of the circuit to {}\n", sim.time(), path);
  return EXIT_SUCCESS;
} catch (const std::exception& e) {
  fmt::print(stderr, "record_traces: {}\n", e.what());
  return EXIT_FAILURE;
}
