#pragma once
// Synaptic scaling driven by spikes (the spiking regime): at each spike of postsynaptic
// unit c,
//
//   W_c· += η (x̂ − W_c·)
//
// with x̂ the presynaptic population's normalised traces (ratesim/spiking.hpp). Its
// expectation per ms is the rate rule's, dW_cd/dt = η r_c (x̂_d − W_cd) with r_c the unit's
// firing rate [1/ms] (derivative()); with Σ_d x̂_d = A it keeps Σ_d W_cd = A, and with
// η < 1 every weight > 0. Registered as "spike_scaling".

#include <ratesim/rule.hpp>

namespace ratesim {

class spike_scaling_rule : public plasticity_rule {
 public:
  struct params {
    double eta = 0.01;  // step per spike, in (0, 1)
  };

  explicit spike_scaling_rule(params p, std::string_view name = "spike_scaling");
  static std::unique_ptr<plasticity_rule> create(const parameters& values);

  std::string_view name() const override { return name_; }
  // η r_c (x̂_d − W_cd), r the postsynaptic firing rates [1/ms].
  void derivative(matrix_view W, vector_view pre, vector_view post,
                  matrix_span dWdt) const override;
  bool spike_triggered() const override { return true; }
  void post_spike(matrix_span W, Eigen::Index c, vector_view pre, double scale) const override;

 protected:
  double eta() const { return p_.eta; }

 private:
  params p_;
  std::string_view name_;
};

}  // namespace ratesim
