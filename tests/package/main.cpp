// Builds the seed's circuit through the installed headers and library.
#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/softmax_competition.hpp>
#include <ratesim/network.hpp>
#include <ratesim/regimes/quasi_static.hpp>

#include <cmath>
#include <cstdio>

int main() {
  using namespace ratesim;
  network net;
  net.add<feedforward_inhibition>("input", {.size = 4, .A = 12.0});
  net.add<softmax_competition>("output", {.size = 2});
  net.connect("input", "output",
              {.name = "ff",
               .weights = matrix::Constant(2, 4, 3.0),
               .rule = make_rule("synaptic_scaling", {{"tau", 10.0}})});
  matrix patterns(4, 2);
  patterns << 1, 0, 1, 0, 0, 1, 0, 1;
  net.stimulate("input", std::make_unique<pattern_set>(patterns, pattern_set::params{}));
  quasi_static_simulation sim(net);
  sim.run_presentations(100);
  const double sum = net.weights("ff").row(0).sum();
  std::printf("row sum %.12f\n", sum);
  return std::abs(sum - 12.0) < 1e-9 ? 0 : 1;
}
