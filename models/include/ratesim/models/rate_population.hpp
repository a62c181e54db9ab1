#pragma once
// Generic rate units:  τ du_i/dt = −u_i + I_i,  r_i = f(u_i).
// The transfer function f is chosen by name from `transfer_functions()`: "linear",
// "relu" (rectified linear), "sigmoid" (logistic), "tanh" and "softmax" (of the whole
// population, with the log-sum-exp shift) are built in; a user adds another with one
// `transfer_functions().add(name, function)` call.

#include <ratesim/population.hpp>
#include <ratesim/registry.hpp>

#include <functional>
#include <string>

namespace ratesim {

// Writes r = f(u); most are element-wise, softmax is not.
using transfer_function = std::function<void(vector_view u, vector_span r)>;

registry<transfer_function>& transfer_functions();

// s = softmax(u), computed as exp(u − max u) / Σ exp(u − max u).
void softmax(vector_view u, vector_span s);

class rate_population : public population {
 public:
  struct params {
    std::size_t size = 0;
    double tau = 10.0;                 // time constant τ [ms]
    std::string transfer = "linear";  // name in transfer_functions()
  };

  rate_population(std::string name, params p);
  // From named parameters (config files): the fields of params.
  static std::unique_ptr<population> create(std::string name, const ratesim::parameters& values);

  const params& parameters() const { return p_; }

  std::vector<state_variable> state_variables() const override;
  void initial_state(vector_span x) const override;
  void rates(vector_view x, vector_span r) const override;
  void derivative(vector_view x, vector_view input, vector_span dxdt) const override;
  void fixed_point(vector_view input, vector_span x) const override;

 protected:
  // For models that are rate units under another name (softmax_competition): `kind`
  // names the model and `tau_name` the time constant in messages.
  rate_population(std::string kind, std::string name, params p, std::string_view tau_name);

 private:
  params p_;
  transfer_function f_;
};

}  // namespace ratesim
