#pragma once
// Nessler, Pfeiffer, Buesing & Maass (PLoS Comput Biol 2013), the spike-triggered rule in
// its log-weight form: at each spike of postsynaptic unit c, with w = ln W,
//
//   w_cd += η (x̂_d e^{−w_cd} − 1),   i.e.  W_cd ← W_cd exp(η (x̂_d / W_cd − 1))
//
// with x̂ the presynaptic normalised traces. Its fixed point is W_c· = E[x̂ | c spikes], as
// spike_scaling's, and its expectation per ms is the same to first order in η
// (derivative()); it keeps weights > 0 but keeps Σ_d W_cd = A only on average. Registered
// as "nessler".

#include <ratesim/plasticity/spike_scaling.hpp>

namespace ratesim {

class nessler_rule : public spike_scaling_rule {
 public:
  explicit nessler_rule(params p) : spike_scaling_rule(p, "nessler") {}
  static std::unique_ptr<plasticity_rule> create(const parameters& values);

  void post_spike(matrix_span W, Eigen::Index c, vector_view pre, double scale) const override;
};

}  // namespace ratesim
