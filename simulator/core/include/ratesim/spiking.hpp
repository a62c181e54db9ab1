#pragma once
// The interface of a spiking population, run by the spiking regime
// (ratesim/regimes/spiking.hpp). A spiking population fires as one Poisson process of
// total rate Λ whose spikes each go to unit c with probability p_c, both given by the
// population's summed input (its external input, its currents and an intrinsic bias).
// Independent Poisson units of rates Λ p_c are exactly such a process (a superposition),
// so this covers both built-in models: `poisson_input` (unit d at rate ν y_d) and
// `stochastic_wta` (total rate R shared by softmax(u), Nessler et al. 2013).
//
// Its state slice is one exponential trace per unit, τ_x dx_c/dt = −x_c, x_c jumping by 1
// at each spike of c. What it passes on through its projections (its rates()) are the
// traces normalised to sum to `trace_sum` (x̂ = trace_sum · x / Σx; A/size each before any
// spike), or the traces themselves when trace_sum is 0. Between spikes the traces decay,
// so derivative() is −x/τ_x and the fixed point is 0: the rate regimes refuse spiking
// populations (refuse_spiking), the spiking regime does the rest.
//
// To add a spiking model: derive from `spiking_population` and implement total_rate() and
// spike_probabilities() (models/src/stochastic_wta.cpp is the one to copy).

#include <ratesim/population.hpp>

#include <string_view>

namespace ratesim {

class network;

class spiking_population : public population {
 public:
  // `tau_x` [ms] > 0; `trace_sum` >= 0 (0: traces passed on as they are).
  spiking_population(std::string kind, std::string name, std::size_t size, double tau_x,
                     double trace_sum);

  double tau_x() const { return tau_x_; }
  double trace_sum() const { return trace_sum_; }

  // Total firing rate Λ [1/ms] for the summed input `input`; finite and >= 0.
  virtual double total_rate(vector_view input) const = 0;
  // Whether Λ is the same for every input (the regime then asks once, and reads the
  // input only at spikes).
  virtual bool constant_rate() const { return false; }
  // p_c >= 0 proportional to the probability that a spike is unit c's, for the summed
  // input, not all 0 (the regime draws unit c with probability p_c / Σp). Writes every
  // element. Called once per pattern for a population whose input changes only with the
  // stimulus, once per spike otherwise.
  virtual void spike_probabilities(vector_view input, vector_span p) const = 0;

  // The state slice: the traces x, variable "trace".
  std::vector<state_variable> state_variables() const final;
  void initial_state(vector_span x) const final;
  // The normalised traces x̂ (see above).
  void rates(vector_view x, vector_span r) const final;
  // The decay between spikes, −x/τ_x.
  void derivative(vector_view x, vector_view input, vector_span dxdt) const final;
  // No spikes without the spiking regime: 0.
  void fixed_point(vector_view input, vector_span x) const final;
  // What the traces pass on on average under each input (a column of `inputs`): the
  // normalised traces' mean trace_sum · p / Σp (poisson_input: y), or without normalisation
  // the traces' mean τ_x Λ p / Σp. The data_mean initialiser starts W there.
  matrix settled_rates(matrix_view inputs) const final;

 private:
  double tau_x_;
  double trace_sum_;
};

// Throws a usage_error naming the first spiking population of `net`, for a regime
// (`label`) that runs rate populations only.
void refuse_spiking(const network& net, std::string_view label);

}  // namespace ratesim
