#pragma once
// The interface of an intrinsic plasticity rule: plasticity of a population's own
// excitability rather than of its synapses. A rule keeps one variable θ_c per unit of the
// population it adapts (network::adapt) and gives each unit a bias b_c = bias(θ)_c, added
// to the unit's summed input: in a softmax layer s_c = exp(I_c + b_c) / Σ_k exp(I_k + b_k).
//
// θ lives in the network's state vector next to the weights, so both regimes treat it as
// they treat W: the ODE regime integrates dθ/dt with the rest of the network, the
// quasi-static regime takes one step Δθ = T · dθ/dt per pattern presented for T ms, the
// learning-rate scale multiplies it, checkpoints carry it, and it is recorded as a
// variable of the population under the rule's variable name.
//
// To add a rule: derive from `intrinsic_rule` (plasticity/src/homeostasis.cpp is the model
// to copy) and register a factory under a name:
//   ratesim::intrinsic_rules().add("my_rule", [](const ratesim::parameters& p) { ... });

#include <ratesim/parameters.hpp>
#include <ratesim/registry.hpp>
#include <ratesim/types.hpp>

#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

namespace ratesim {

class intrinsic_rule {
 public:
  virtual ~intrinsic_rule() = default;

  // The name it is registered under; used in messages.
  virtual std::string_view name() const = 0;
  // The name and units of θ, as it is recorded ("bias", "prior").
  virtual std::string_view variable() const = 0;
  virtual std::string_view units() const { return "1"; }

  // θ of a fresh network, for a population of theta.size() units.
  virtual void initial_state(vector_span theta) const = 0;
  // The bias b added to each unit's input, from θ. Writes every element of b.
  virtual void bias(vector_view theta, vector_span b) const = 0;
  // dθ/dt [1/ms] from θ and the population's rates. Writes every element of dtheta.
  virtual void derivative(vector_view theta, vector_view rates, vector_span dtheta) const = 0;

  // The largest quasi-static step factor (T · batch_size times the learning-rate scale
  // [ms]) for which one step keeps θ valid when rates lie in [0, 1]; infinity when any
  // step does. The regime refuses a larger step before the run.
  virtual double largest_step() const { return std::numeric_limits<double>::infinity(); }
  // Rules with an explicit constraint (e.g. priors that sum to one) return true and enforce
  // it in `constrain`, after every integration step and every quasi-static update.
  virtual bool has_constraint() const { return false; }
  virtual void constrain(vector_span /*theta*/) const {}
};

using intrinsic_factory = std::function<std::unique_ptr<intrinsic_rule>(const parameters&)>;

// The table of intrinsic rules by name; the built-in ones are registered on first use.
registry<intrinsic_factory>& intrinsic_rules();

// Creates the rule registered as `name`; unknown names and unknown or invalid parameters
// raise a ratesim::error.
std::unique_ptr<intrinsic_rule> make_intrinsic_rule(std::string_view name,
                                                    const parameters& values = {});

}  // namespace ratesim
