#pragma once
// Output layer with lateral competition through a softmax (Keck, Savin & Lücke 2012).
//
//   τ_u du_c/dt = −u_c + I_c,      s_c = exp(u_c) / Σ_c' exp(u_c')
//
// The softmax is evaluated with the log-sum-exp shift, because with log-weight currents
// I_c is in the hundreds or thousands. Fixed point: u = I. Output rates: s.

#include <ratesim/population.hpp>

namespace ratesim {

class softmax_competition : public population {
 public:
  struct params {
    std::size_t size = 0;  // C, number of competing units
    double tau_u = 1.0;    // time constant τ_u [ms]
  };

  softmax_competition(std::string name, params p);

  const params& parameters() const { return p_; }

  std::vector<state_variable> state_variables() const override;
  void initial_state(vector_span x) const override;
  void rates(vector_view x, vector_span r) const override;
  void derivative(vector_view x, vector_view input, vector_span dxdt) const override;
  void fixed_point(vector_view input, vector_span x) const override;

 private:
  params p_;
};

// s = softmax(u), computed as exp(u − max u) / Σ exp(u − max u).
void softmax(vector_view u, vector_span s);

}  // namespace ratesim
