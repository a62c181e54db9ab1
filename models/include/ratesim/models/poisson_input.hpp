#pragma once
// Poisson spike input (the spiking regime): the raw input ỹ is normalised as by
// feedforward inhibition at its fixed point, y_d = (A − D) ỹ_d / Σ_d ỹ_d + 1 so that
// Σ_d y_d = A, and unit d fires as a Poisson process of rate ν y_d: the total input rate
// is A ν for every pattern, and the spike counts over a window are the Poisson
// observations of the generative model. Its traces (τ_x) are passed on normalised to sum
// to A. Registered as "poisson_input".

#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/spiking.hpp>

namespace ratesim {

class poisson_input : public spiking_population {
 public:
  struct params {
    std::size_t size = 0;  // D
    double A = 0;          // Σ_d y_d and the traces' normalised sum; must exceed D
    double nu = 0.5;       // spikes per ms per unit of y
    double tau_x = 20.0;   // time constant of the traces [ms]
  };
  poisson_input(std::string name, params p);
  static std::unique_ptr<population> create(std::string name, const ratesim::parameters& values);
  const params& parameters() const { return p_; }

  // ν A.
  double total_rate(vector_view input) const override;
  // y, the normalised input.
  void spike_probabilities(vector_view input, vector_span p) const override;
  // As feedforward inhibition: non-negative, finite, not all zero.
  void check_external_input(vector_view pattern, std::string_view what,
                            step_count index = -1) const override;

 private:
  params p_;
  feedforward_inhibition normalization_;  // its fixed point is y
  mutable vector fixed_;                  // [h, y], scratch
};

}  // namespace ratesim
