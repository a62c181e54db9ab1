#pragma once
// The interface of a plasticity rule, and the registry that makes rules available by name.
//
// A rule maps the weights W (n_post × n_pre) and the rates of both populations to dW/dt.
// The ODE regime integrates it with the rest of the network; the quasi-static regime
// takes one step ΔW = T · dW/dt per pattern presented for T ms (so ε = T/τ).
//
// To add a rule: derive from `plasticity_rule` (plasticity/src/oja.cpp is the model to
// copy; plasticity/src/bcm.cpp for one that reads a variable of its postsynaptic
// population), then register a factory under a name:
//   ratesim::plasticity_rules().add("my_rule", [](const ratesim::parameters& p) { ... });
// Nothing in the engine changes.

#include <ratesim/parameters.hpp>
#include <ratesim/registry.hpp>
#include <ratesim/types.hpp>

#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ratesim {

// min_d |W_cd| of every row c of a projection's W, for plasticity_rule::step_sparse:
// computed at the first get() and kept by the regime between steps (updated for the rows
// that change), so that a rule can bound its step without a pass over W.
class row_minima {
 public:
  row_minima(matrix_view W, vector& values, bool& valid) : W_(W), values_(values), valid_(valid) {}
  const vector& get() {
    if (!valid_) {
      values_ = W_.cwiseAbs().rowwise().minCoeff();
      valid_ = true;
    }
    return values_;
  }

 private:
  matrix_view W_;
  vector& values_;
  bool& valid_;
};

class plasticity_rule {
 public:
  virtual ~plasticity_rule() = default;

  // The name it is registered under; used in messages.
  virtual std::string_view name() const = 0;

  // dW/dt [1/ms] for weights W, presynaptic rates `pre` and postsynaptic rates `post`.
  // Writes every element of dWdt.
  virtual void derivative(matrix_view W, vector_view pre, vector_view post,
                          matrix_span dWdt) const = 0;

  // A variable of the postsynaptic population that the rule reads besides its rates, by
  // name, as Brian2's `x_post` or ANNarchy's `post.x`: a state variable of that population
  // or the variable of its intrinsic rule (ratesim/intrinsic.hpp), one value per unit (a
  // prior, a sliding threshold). Empty, the default, for a rule that reads rates only. The
  // network checks that the population has it when the state is laid out.
  virtual std::string_view post_variable() const { return {}; }
  // dW/dt given also the post variable's values `post_state` (one per postsynaptic unit;
  // empty when post_variable() is). The regimes call this one; a rule that reads a post
  // variable overrides it, the default calls derivative() above. The quasi-static regime
  // does not use step_sparse for such a rule. In the quasi-static regime with
  // batch_size 1 post_state holds θ after this presentation's intrinsic step; in a
  // mini-batch, θ at the batch's start; in the ODE regime, θ of the same state.
  virtual void derivative_with_post(matrix_view W, vector_view pre, vector_view post,
                                    vector_view /*post_state*/, matrix_span dWdt) const {
    derivative(W, pre, post, dWdt);
  }

  // Optional: whether dW/dt at these rates has the scaling form (pre_d − W_cd) · q_c,
  // computed with derivative_with_post()'s arithmetic bit for bit (synaptic scaling), and
  // q (one value per postsynaptic unit) if so. The quasi-static regime then steps W
  // without forming dW/dt (and its ln W cache in the same pass). Must not allocate.
  virtual bool scaling_form(vector_view /*pre*/, vector_view /*post*/,
                            vector_view /*post_state*/, vector_span /*q*/) const {
    return false;
  }

  // Optional exact fast path of the quasi-static regime: W += factor · dW/dt, where
  // dW/dt is what derivative() computes, bit for bit, but skipping rows that provably keep
  // every bit (a postsynaptic rate so small that every change rounds away). `row_min`
  // gives min_d |W_cd| of every row of this W (kept by the regime, so that the proof needs
  // no pass over W once it has been computed). Lists the rows it changed in `changed`
  // (cleared first; its capacity suffices, no allocation). Returns false, doing nothing,
  // when the rule has no such path or judges the dense update faster (when many rows move).
  virtual bool step_sparse(matrix_span /*W*/, row_minima& /*row_min*/, vector_view /*pre*/,
                           vector_view /*post*/, double /*factor*/,
                           std::vector<Eigen::Index>& /*changed*/) const {
    return false;
  }

  // The largest step factor of the quasi-static regime (T · batch_size times the learning
  // rate scale [ms]) for which one step keeps weights > 0 when postsynaptic rates are at
  // most 1 (a softmax layer); infinity when the rule has no such bound. Under a current
  // that needs weights > 0 (log-weight) the regime refuses a larger step before the run,
  // instead of failing at the first weight that crosses 0.
  virtual double largest_positive_step() const { return std::numeric_limits<double>::infinity(); }

  // Spike-triggered plasticity, for a projection into a spiking population (the spiking
  // regime, ratesim/spiking.hpp): at each spike of postsynaptic unit c, row c of W changes
  // given the presynaptic rates `pre` (a spiking population's normalised traces), by a
  // step whose size `scale` multiplies (the learning-rate scale). derivative() is then the
  // update's expectation per ms when `post` holds the units' firing rates [1/ms]. A rule
  // that has this form returns true from spike_triggered(); the spiking regime refuses
  // one that does not. Must not allocate.
  virtual bool spike_triggered() const { return false; }
  virtual void post_spike(matrix_span /*W*/, Eigen::Index /*c*/, vector_view /*pre*/,
                          double /*scale*/) const {}

  // Rules with an explicit constraint (e.g. multiplicative normalisation) return true
  // and enforce it in `constrain`, which runs after every integration step and every
  // quasi-static weight update.
  virtual bool has_constraint() const { return false; }
  virtual void constrain(matrix_span /*W*/) const {}
};

using rule_factory = std::function<std::unique_ptr<plasticity_rule>(const parameters&)>;

// The table of rules by name; the built-in rules are registered on first use.
registry<rule_factory>& plasticity_rules();

// Creates the rule registered as `name`; unknown names and unknown or invalid
// parameters raise a ratesim::error.
std::unique_ptr<plasticity_rule> make_rule(std::string_view name, const parameters& values = {});

}  // namespace ratesim
