#pragma once
// Input layer normalised by feedforward inhibition (Keck, Savin & Lücke 2012).
//
//   τ_h dh/dt   = −h + Σ_d ỹ_d                     inhibitory pool
//   τ_y dy_d/dt = −y_d + (A − D) ỹ_d / h + 1         normalised input units
//
// with raw non-negative input ỹ. Fixed point: h = Σ_d ỹ_d and
// y_d = (A − D) ỹ_d / Σ_d' ỹ_d' + 1, so that Σ_d y_d = A (which needs A > D).
// The output rates are y. State slice: [h, y_1 … y_D].

#include <ratesim/population.hpp>

namespace ratesim {

class feedforward_inhibition : public population {
 public:
  struct params {
    std::size_t size = 0;  // D, number of input units
    double A = 0;          // total normalised activity Σ_d y_d; must exceed D
    double tau_y = 1.0;    // time constant of the input units τ_y [ms]
    double tau_h = 1.0;    // time constant of the inhibitory pool τ_h [ms]
    double h0 = 1.0;       // initial activity of the inhibitory pool; > 0
  };

  feedforward_inhibition(std::string name, params p);
  // From named parameters (config files): the fields of params.
  static std::unique_ptr<population> create(std::string name, const ratesim::parameters& values);

  const params& parameters() const { return p_; }

  std::size_t state_size() const override { return size() + 1; }
  std::vector<state_variable> state_variables() const override;
  void initial_state(vector_span x) const override;
  void rates(vector_view x, vector_span r) const override;
  void derivative(vector_view x, vector_view input, vector_span dxdt) const override;
  void fixed_point(vector_view input, vector_span x) const override;
  // Raw patterns must be non-negative, finite and not all zero.
  void check_external_input(vector_view pattern, std::string_view what,
                            step_count index = -1) const override;

  // The normalised rates y of each raw pattern (a column of `raw`): the fixed point.
  matrix normalize(matrix_view raw) const;

 private:
  params p_;
  double gain_;  // A − D, derived
};

}  // namespace ratesim
