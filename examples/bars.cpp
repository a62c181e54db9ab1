// The bars test: images showing one of 10 bars, sampled from a Poisson mixture whose
// generating components are known, learned by the circuit of Keck, Savin & Lücke (2012):
// feedforward inhibition → softmax competition, with Hebbian learning and synaptic
// scaling on the log-weight projection, in the quasi-static regime.
//
// Prints, for each generating bar, the learned unit that matches it best and the relative
// L1 error between the two.
//
//   build/examples/bars [presentations]

#include <ratesim/mixture/bars.hpp>
#include <ratesim/mixture/poisson_mixture.hpp>
#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/softmax_competition.hpp>
#include <ratesim/network.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/quasi_static.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <exception>

int main(int argc, char** argv) try {
  using namespace ratesim;
  const int side = 5;           // 5 × 5 images
  // Σ_d y_d after normalisation; must exceed D = 25. A sets how sharp the competition is
  // (I_c scales with A): a small A keeps the posterior soft early on, so that units
  // separate the bars instead of settling on mixtures of two (A = 100 often does).
  const double A = 40.0;
  const double T = 1.0;         // presentation time per pattern [ms]
  const double tau_W = 500.0;   // learning time constant [ms]: ε = T/τ_W = 0.002
  const long presentations = argc > 1 ? std::atol(argv[1]) : 40000;

  // Data: 2000 samples of a Poisson mixture of bars (intensity 10 on a background of 1).
  random_stream rng(2012, 0);  // seed 2012, stream 0 (ratesim/random.hpp)
  const matrix generating = bars_components(side, 10.0, 1.0);
  const mixture_sample train = sample_poisson_mixture(generating, 2000, rng);
  const Eigen::Index C = generating.rows(), D = generating.cols();

  network net;
  auto& input = net.add<feedforward_inhibition>("input", {.size = std::size_t(D), .A = A});
  net.add<softmax_competition>("output", {.size = std::size_t(C)});
  net.connect("input", "output",
              {.name = "ff",
               .weights = data_mean_weights(input.normalize(train.data), C, 0.5, A, rng),
               .current = "log_weight",
               .rule = make_rule("synaptic_scaling", {{"tau", tau_W}})});
  net.stimulate("input", std::make_unique<pattern_set>(
                             train.data, pattern_set::params{.duration = T,
                                                             .ordering = pattern_set::order::shuffled,
                                                             .seed = 7}));

  quasi_static_simulation sim(net, {.dt = T});
  sim.run_presentations(presentations);

  const auto W = net.weights("ff");
  fmt::print("bars test: C = {}, D = {}, A = {}, {} presentations, t = {} ms\n", C, D, A,
             presentations, sim.time());
  fmt::print("{:>4} {:>12} {:>16}\n", "bar", "best unit", "relative L1 err");
  double worst = 0.0;
  const auto matches = match_components(W, normalized_components(generating, A));
  for (std::size_t b = 0; b < matches.size(); ++b) {
    fmt::print("{:>4} {:>12} {:>16.4f}\n", b, matches[b].unit, matches[b].error);
    worst = std::max(worst, matches[b].error);
  }
  fmt::print("worst relative L1 error: {:.4f}\n", worst);
  return EXIT_SUCCESS;
} catch (const std::exception& e) {
  fmt::print(stderr, "bars: {}\n", e.what());
  return EXIT_FAILURE;
}
