#pragma once
// Builders shared by the test suites: the seed's circuit (feedforward inhibition →
// softmax competition, synaptic scaling on a log-weight projection) and raw patterns.

#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/softmax_competition.hpp>
#include <ratesim/network.hpp>
#include <ratesim/random.hpp>

namespace ratesim::testing {

// D × N raw patterns with entries uniform in [0.5, 10), each scaled so that it sums to
// `total` when total > 0 (normalised input: the inhibitory pool then never moves).
inline matrix random_patterns(Eigen::Index D, Eigen::Index N, random_stream& rng,
                              double total = 0.0) {
  matrix P(D, N);
  for (Eigen::Index n = 0; n < N; ++n) {
    for (Eigen::Index d = 0; d < D; ++d) P(d, n) = uniform(rng, 0.5, 10.0);
    if (total > 0.0) P.col(n) *= total / P.col(n).sum();
  }
  return P;
}

struct circuit_params {
  Eigen::Index D = 16, C = 4;
  double A = 48.0;
  double tau_W = 100.0;  // [ms]
  double tau = 1.0;      // τ_y = τ_h = τ_u [ms]
  std::string rule = "synaptic_scaling";
};

// Builds the seed's circuit with weights uniform in [1, 2) rescaled to rows of sum A.
inline void build_circuit(network& net, const circuit_params& p, random_stream& rng) {
  net.add<feedforward_inhibition>(
      "input", {.size = std::size_t(p.D), .A = p.A, .tau_y = p.tau, .tau_h = p.tau});
  net.add<softmax_competition>("output", {.size = std::size_t(p.C), .tau_u = p.tau});
  matrix W = uniform_weights(p.C, p.D, 1.0, 2.0, rng);
  normalize_rows(W, p.A);
  net.connect("input", "output",
              {.name = "ff", .weights = W, .rule = make_rule(p.rule, {{"tau", p.tau_W}})});
}

}  // namespace ratesim::testing
