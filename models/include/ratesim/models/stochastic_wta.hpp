#pragma once
// A stochastic winner-take-all (Nessler, Pfeiffer, Buesing & Maass, PLoS Comput Biol
// 2013; the spiking regime): lateral inhibition holds the population's total rate at R,
// and each spike goes to unit c with probability softmax(u)_c, u being the summed input
// (with a log-weight current from normalised traces, u_c = Σ_d x̂_d ln W_cd + b_c). Unit c
// thus fires at rate R softmax(u)_c, the posterior of the mixture times R. Registered as
// "stochastic_wta".

#include <ratesim/spiking.hpp>

namespace ratesim {

class stochastic_wta : public spiking_population {
 public:
  struct params {
    std::size_t size = 0;
    double R = 0.2;          // total rate [spikes/ms]
    double tau_x = 20.0;     // time constant of the units' own traces [ms]
    double trace_sum = 0.0;  // their normalised sum (0: as they are)
  };
  stochastic_wta(std::string name, params p);
  static std::unique_ptr<population> create(std::string name, const ratesim::parameters& values);
  const params& parameters() const { return p_; }

  double total_rate(vector_view /*input*/) const override { return p_.R; }
  bool constant_rate() const override { return true; }
  // e^(u_c − max u), by ratesim's own exponential (the same bits with every libm).
  void spike_probabilities(vector_view input, vector_span p) const override;

 private:
  params p_;
};

}  // namespace ratesim
