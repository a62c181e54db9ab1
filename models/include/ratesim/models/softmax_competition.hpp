#pragma once
// Output layer with lateral competition through a softmax (Keck, Savin & Lücke 2012):
//
//   τ_u du_c/dt = −u_c + I_c,      s_c = exp(u_c) / Σ_c' exp(u_c')
//
// i.e. rate units whose transfer function is the softmax of the whole layer. The softmax
// is evaluated with the log-sum-exp shift, because with log-weight currents I_c is in the
// hundreds or thousands. Fixed point: u = I. Output rates: s.

#include <ratesim/models/rate_population.hpp>

namespace ratesim {

class softmax_competition : public rate_population {
 public:
  struct params {
    std::size_t size = 0;  // C, number of competing units
    double tau_u = 1.0;    // time constant τ_u [ms]
  };

  softmax_competition(std::string name, params p)
      : rate_population("softmax_competition", std::move(name),
                        {.size = p.size, .tau = p.tau_u, .transfer = "softmax"},
                        "tau_u") {}
  // From named parameters (config files): size, tau_u.
  static std::unique_ptr<population> create(std::string name, const ratesim::parameters& values);
};

}  // namespace ratesim
