#pragma once
// A network: populations, the projections between them, the stimuli that drive them, and
// one flat state vector that holds every population's state and every plastic weight.
//
// Layout of the state vector (fixed by the first call of state(); after it, the structure
// can no longer change, but stimuli can be replaced):
//   [ population 0 | population 1 | … | plastic W of projection 0 | plastic W of … ]
// Plastic weights are stored column-major (n_post × n_pre).
//
// The network is also the odeint system of the ODE regime: operator()(x, dxdt, t).

#include <ratesim/checkpoint.hpp>
#include <ratesim/population.hpp>
#include <ratesim/projection.hpp>
#include <ratesim/stimulus.hpp>
#include <ratesim/types.hpp>

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ratesim {

class network {
 public:
  network() = default;
  network(const network&) = delete;
  network& operator=(const network&) = delete;

  // ---- Building ---------------------------------------------------------------------

  // Adds a population, e.g. net.add<softmax_competition>("out", {.size = 10});
  template <class Population>
  Population& add(std::string name, typename Population::params p) {
    auto owned = std::make_unique<Population>(std::move(name), std::move(p));
    auto& ref = *owned;
    add(std::move(owned));
    return ref;
  }
  population& add(std::unique_ptr<population> pop);

  // Connects `pre` to `post`; c.weights must be n_post × n_pre.
  const projection& connect(std::string_view pre, std::string_view post, connection c);

  // Drives `target` with `s` (replacing any earlier stimulus of `target`). Presentation 0
  // of a new stimulus starts when a simulation first runs with it.
  void stimulate(std::string_view target, std::unique_ptr<stimulus> s);

  // ---- Structure --------------------------------------------------------------------

  std::size_t population_count() const { return pops_.size(); }
  const population& get_population(std::size_t i) const { return *pops_.at(i); }
  const population& get_population(std::string_view name) const;
  std::size_t population_index(std::string_view name) const;
  const std::deque<projection>& projections() const { return projs_; }
  const projection& get_projection(std::string_view name) const;
  std::size_t projection_index(std::string_view name) const;

  // ---- State ------------------------------------------------------------------------

  // The flat state vector; the first call lays it out and fills in the initial state.
  vector& state();
  // Read-only access once the state is laid out (for observers).
  const vector& state() const;
  bool laid_out() const { return frozen_; }
  // A population's slice of a laid-out state, read-only.
  Eigen::VectorBlock<const vector> state_of(std::size_t population) const;
  // Weights of projection k (index into projections()) in a laid-out state, read-only.
  Eigen::Map<const matrix> weights(std::size_t projection) const;
  // A population's slice of the state.
  Eigen::VectorBlock<vector> state_of(std::string_view population);
  // One named state variable of a population, e.g. ("input", "h").
  Eigen::VectorBlock<vector> variable(std::string_view population, std::string_view name);
  // A projection's weights: a view into the state for plastic ones, read-only otherwise.
  Eigen::Map<matrix> weights(std::string_view projection);
  // The output rates of a population for the current state.
  vector rates(std::string_view population);
  // Number of state entries that are plastic weights (the tail of the state vector).
  Eigen::Index weight_count() { return state().size() - population_state_size_; }

  // ---- Evaluation (used by the regimes; no allocation) ---------------------------------

  // The ODE right-hand side for state x, with the current external inputs.
  void operator()(const vector& x, vector& dxdt, double t) const;

  // Computes every population's rates and total input at the current state; read them
  // with last_rates() and last_input() (observers use this to record them).
  void evaluate() const;
  const vector& last_rates(std::size_t population) const { return rates_[population]; }
  const vector& last_input(std::size_t population) const { return input_[population]; }

  // Puts every population at its fixed point for the current external input, each after
  // every population that projects to it (needs a network without loops; see
  // check_feedforward()), and leaves their rates ready for weight_derivative().
  void settle();
  // The quasi-static regime's settle(): currents may reuse work for weight rows that no
  // step has changed since the last call (the regime calls forget_cached_currents() at the
  // start of every run, so changes made between runs are seen).
  void settle_incremental();
  void forget_cached_currents();
  // The quasi-static weight step W += factor · dW/dt (times the learning-rate scale) at
  // the rates of the last settle, for every plastic projection: exactly, skipping rows
  // that keep every bit where the rule knows how (plasticity_rule::step_sparse), dense
  // otherwise. No allocation.
  // `sparse = false` forces the dense path (to compare the two).
  void quasi_static_step(double factor, bool sparse = true);
  // Throws unless the projections form no loop; fixes the order in which settle() visits
  // the populations (each after every population that projects to it).
  void check_feedforward();
  // dW/dt of every plastic weight at the current state and the rates of the last
  // settle(); `dw` has weight_count() entries.
  void weight_derivative(vector_span dw) const;
  // Throws a numerical_error if x holds a NaN or an infinity, or a weight <= 0 that a
  // current takes the logarithm of, naming the population and variable (or projection
  // and weight) and unit, and the time t [ms]. One parallel sweep that reads each entry
  // once (log-weights by their minimum: a +inf weight is caught a step later, as the -inf
  // or NaN it makes); allocates nothing when all is well.
  void check_state(const vector& x, double t) const;
  // At the start of a run: the state as check_state, and the static weights as their
  // currents require (they may have been written since they were connected).
  void check_before_run(double t) const;

  // Applies every rule's explicit constraint to the weights in x; false if no rule has one.
  bool constrain(vector& x) const;

  // A factor on every dW/dt (1 by default): a learning-rate schedule sets it between
  // epochs, in either regime. Finite and >= 0.
  void set_learning_rate_scale(double scale);
  double learning_rate_scale() const { return learning_rate_scale_; }

  // ---- Checkpoints ------------------------------------------------------------------

  // Adds to `c` what of the rest of a run the network holds: "network.state" (the whole
  // state vector), "network.learning_rate_scale", "network.stimulus_origin" (the step at
  // which each stimulus began) and "network.structure" (populations and projections, to
  // check a restore against).
  void save(checkpoint& c) const;
  // Takes that back into a network of the same structure (else a usage_error that names
  // the first difference); the stimuli present their patterns anew at the next run. A
  // NaN or infinity in the state is a numerical_error at time t [ms] (for the message).
  void restore(const checkpoint& c, double t);
  // The populations and projections, one line each, as saved in "network.structure".
  std::string describe_structure() const;

  // ---- Stimuli ----------------------------------------------------------------------

  struct stimulus_slot {
    std::size_t target;
    std::unique_ptr<stimulus> source;
    step_count origin = -1;      // step at which presentation 0 began; -1: not yet run
    step_count presented = -1;   // presentation index now in the external input
  };
  std::vector<stimulus_slot>& stimuli() { return stimuli_; }
  // Writes presentation k of stimulus slot i into its target's external input.
  void present(std::size_t slot, step_count k);

 private:
  Eigen::Map<const matrix> weights_in(std::size_t k, const vector& x) const;
  // Rates and inputs of every population at state x, into rates_ and input_.
  void compute_inputs(const vector& x) const;
  void freeze();
  void require_building(std::string_view what) const;

  std::vector<std::unique_ptr<population>> pops_;
  std::deque<projection> projs_;  // deque: references stay valid
  std::vector<stimulus_slot> stimuli_;

  // Fixed at freeze():
  bool frozen_ = false;
  vector x_;
  std::vector<Eigen::Index> pop_offset_;   // start of each population's slice
  std::vector<Eigen::Index> proj_offset_;  // start of each plastic projection's W, else -1
  Eigen::Index population_state_size_ = 0;
  // Ranges [begin, end) of x holding weights that must stay > 0 (log-weight currents).
  std::vector<std::pair<Eigen::Index, Eigen::Index>> positive_;
  std::vector<std::vector<std::size_t>> incoming_;  // projections into each population
  std::vector<std::size_t> settle_order_;  // set by check_feedforward()

  // Per projection: rows whose weights changed since the currents last saw them.
  std::vector<std::vector<Eigen::Index>> changed_rows_;
  mutable std::vector<char> all_changed_;  // mutable: constrain() is const
  std::vector<matrix> dense_dw_;  // per plastic projection without a sparse path

  // Scratch buffers, sized once (mutable: the ODE right-hand side is const).
  double learning_rate_scale_ = 1.0;
  mutable std::vector<vector> rates_;
  mutable std::vector<vector> input_;
  std::vector<vector> external_;
};

}  // namespace ratesim
