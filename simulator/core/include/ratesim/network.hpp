#pragma once
// A network: populations, the projections between them, the stimuli that drive them, and
// one flat state vector that holds every population's state and every plastic weight.
//
// Layout of the state vector (fixed by the first call of state(); after it, the structure
// can no longer change, but stimuli can be replaced):
//   [ population 0 | population 1 | … | θ of intrinsic rules | plastic W of projection 0 | … ]
// θ: one entry per unit of each adapted population (ratesim/intrinsic.hpp), in population
// order. Plastic weights are stored column-major (n_post × n_pre).
//
// The network is also the odeint system of the ODE regime: operator()(x, dxdt, t).

#include <ratesim/checkpoint.hpp>
#include <ratesim/intrinsic.hpp>
#include <ratesim/population.hpp>
#include <ratesim/projection.hpp>
#include <ratesim/stimulus.hpp>
#include <ratesim/types.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
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

  // Makes the excitability of `population` plastic under `rule`: a bias on each unit's
  // input, from the rule's variable θ in the state (ratesim/intrinsic.hpp). Once per
  // population.
  void adapt(std::string_view population, std::unique_ptr<intrinsic_rule> rule);

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
  Eigen::VectorBlock<vector> state_of(std::size_t population);
  // One named state variable of a population, e.g. ("input", "h").
  Eigen::VectorBlock<vector> variable(std::string_view population, std::string_view name);
  // A projection's weights: a view into the state for plastic ones, read-only otherwise.
  Eigen::Map<matrix> weights(std::string_view projection);
  // The output rates of a population for the current state.
  vector rates(std::string_view population);
  // Number of plastic state entries, θ of the intrinsic rules and the plastic weights (the
  // tail of the state vector).
  Eigen::Index plastic_count() { return state().size() - population_state_size_; }

  // The intrinsic rule of population i (nullptr without one).
  const intrinsic_rule* intrinsic(std::size_t population) const { return intrinsic_.at(population).get(); }
  // θ of population i's intrinsic rule in a laid-out state (empty without one).
  Eigen::VectorBlock<vector> intrinsic_state(std::size_t population);
  Eigen::VectorBlock<const vector> intrinsic_state(std::size_t population) const;

  // Where a recordable variable of population i lies in the state: one of its state
  // variables, or its intrinsic rule's θ. Absent when there is no such name.
  struct located_variable {
    Eigen::Index offset;  // into the state vector
    std::size_t size;
    std::string units;
  };
  std::optional<located_variable> find_variable(std::size_t population, std::string_view name) const;
  // Refuses (parameter_error, parameter "rule") projection k's rule if it reads a variable
  // of its postsynaptic population (rule.hpp: post_variable) that the population lacks.
  // Every projection is checked when the state is laid out; a builder may check earlier.
  void check_post_variable(std::size_t projection) const;
  // The names find_variable knows for population i.
  std::vector<std::string> variable_names(std::size_t population) const;

  // ---- Evaluation (used by the regimes; no allocation) ---------------------------------

  // The ODE right-hand side for state x, with the current external inputs.
  void operator()(const vector& x, vector& dxdt, double t) const;
  // For an integrator that keeps the currents' caches and steps the weights itself (the
  // ODE regime's euler): the right-hand side of the populations and the intrinsic rules' θ
  // at x (dxdt's weights untouched), with projection k's current added to the input of its
  // postsynaptic population by current(k, rates of its presynaptic population, input).
  // last_rates() then hold the rates at x.
  using current_source = std::function<void(std::size_t, vector_view, vector_span)>;
  void derivative_except_weights(const vector& x, vector& dxdt,
                                 const current_source& current) const;

  // Computes every population's rates and total input at the current state; read them
  // with last_rates() and last_input() (observers use this to record them).
  void evaluate() const;
  const vector& last_rates(std::size_t population) const { return rates_[population]; }
  const vector& last_input(std::size_t population) const { return input_[population]; }

  // The populations in an order in which each comes after every population that projects
  // to it (ties: the one added first), for regimes that settle populations to their fixed
  // points. A usage_error naming the projections of a loop if there is one.
  std::vector<std::size_t> feedforward_order() const;
  // The projections into population i (indices into projections()), in the order added.
  std::vector<std::size_t> incoming(std::size_t population) const;
  // Weights of projection k in the state (plastic) or in the projection (static), writable;
  // the state must be laid out.
  Eigen::Map<matrix> weights(std::size_t projection);
  // Adds population i's intrinsic bias at the current state to `input` (nothing without an
  // intrinsic rule). Allocates nothing.
  void add_bias(std::size_t population, vector_span input) const;
  // dθ/dt of population i's intrinsic rule for θ in state x and the population's `rates`,
  // times the learning-rate scale (its size: the population's; nothing without a rule).
  void intrinsic_derivative(std::size_t population, const vector& x, vector_view rates,
                            vector_span dtheta) const;
  // dW/dt of projection k's rule for its weights in state x, with the given rates of its
  // populations, and the post variable it reads (rule.hpp: post_variable) from x.
  void weight_derivative(std::size_t projection, const vector& x, vector_view pre,
                         vector_view post, matrix_span dWdt) const;
  // Whether projection k's rule has the scaling form dW/dt = (pre − W) · q at these rates
  // and the post variable in x (plasticity_rule::scaling_form), and q if so.
  bool scaling_form(std::size_t projection, const vector& x, vector_view pre, vector_view post,
                    vector_span q) const;
  // The external input of population i: what its stimulus presents (zero without one).
  // The simulation writes the stimulus's pattern here; the state must be laid out.
  vector_span external_input(std::size_t population);

  // Throws a numerical_error if x holds a NaN or an infinity, or a weight <= 0 that a
  // current takes the logarithm of, naming the population and variable (or projection
  // and weight) and unit, and the time t [ms]. One parallel sweep that reads each entry
  // once (log-weights by their minimum: a +inf weight is caught a step later, as the -inf
  // or NaN it makes); allocates nothing when all is well.
  void check_state(const vector& x, double t) const;
  // The same checks for the populations' part of x and the intrinsic rules' θ only, and for rows `rows` of projection
  // k's plastic weights only: after a step that changed just those (the rest was checked
  // before and has not changed).
  void check_populations(const vector& x, double t) const;
  void check_weight_rows(std::size_t projection, const std::vector<Eigen::Index>& rows,
                         const vector& x, double t) const;
  // At the start of a run: the state as check_state, and the static weights as their
  // currents require (they may have been written since they were connected).
  void check_before_run(double t) const;

  // Applies every rule's explicit constraint to x; false if no rule has one (then x is
  // untouched). constrain_weights and constrain_intrinsic do each half (the quasi-static
  // regime's caches of W care only about the first).
  bool constrain(vector& x) const;
  bool constrain_weights(vector& x) const;
  bool constrain_intrinsic(vector& x) const;

  // A factor on every dW/dt and dθ/dt (1 by default): a learning-rate schedule sets it between
  // epochs, in either regime. Finite and >= 0.
  void set_learning_rate_scale(double scale);
  double learning_rate_scale() const { return learning_rate_scale_; }

  // A hash of everything a user can change between runs (the state vector, every
  // projection's weights, the learning-rate scale), below 2^53 so that a double holds it
  // exactly. Python keeps it at both ends of each recorded run, so that a rerun can tell
  // whether the file's description still says what ran (docs/python.md, "Rerunning").
  std::uint64_t fingerprint() const;

  // ---- Checkpoints ------------------------------------------------------------------

  // Adds to `c` what of the rest of a run the network holds: "network.state" (the whole
  // state vector), "network.learning_rate_scale" and "network.structure" (populations and
  // projections, to check a restore against).
  void save(checkpoint& c) const;
  // Takes that back into a network of the same structure (else a usage_error that names
  // the first difference). A NaN or infinity in the state is a numerical_error at time
  // t [ms] (for the message).
  void restore(const checkpoint& c, double t);
  // The populations and projections, one line each, as saved in "network.structure".
  std::string describe_structure() const;

  // ---- Stimuli ----------------------------------------------------------------------

  // Which population each stimulus drives, in the order first stimulated; a simulation
  // presents their patterns on its clock.
  struct stimulus_slot {
    std::size_t target;
    std::unique_ptr<stimulus> source;
    std::uint64_t generation = 0;  // a number new with every stimulate() in this network
  };
  const std::vector<stimulus_slot>& stimuli() const { return stimuli_; }

 private:
  Eigen::Map<const matrix> weights_in(std::size_t k, const vector& x) const;
  Eigen::VectorBlock<const vector> theta_in(std::size_t i, const vector& x) const;
  // Adds population i's bias at state x to `input`.
  void add_bias_in(std::size_t i, const vector& x, vector_span input) const;
  // Whether entry i of x fails check_state; a numerical_error naming what entry i is.
  bool entry_bad(const vector& x, Eigen::Index i) const;
  [[noreturn]] void report(const vector& x, Eigen::Index i, double t) const;
  // Rates and inputs of every population at state x, into rates_ and input_.
  void compute_inputs(const vector& x, const current_source* current = nullptr) const;
  void population_derivatives(const vector& x, vector& dxdt) const;
  void freeze();
  void require_building(std::string_view what) const;

  std::vector<std::unique_ptr<population>> pops_;
  std::vector<std::unique_ptr<intrinsic_rule>> intrinsic_;  // per population, or nullptr
  std::deque<projection> projs_;  // deque: references stay valid
  std::vector<stimulus_slot> stimuli_;
  std::uint64_t stimulations_ = 0;  // stimulate() calls so far

  // Fixed at freeze():
  bool frozen_ = false;
  vector x_;
  std::vector<Eigen::Index> pop_offset_;   // start of each population's slice
  std::vector<Eigen::Index> theta_offset_; // start of each population's θ, else -1
  Eigen::Index weights_offset_ = 0;        // start of the plastic weights
  std::vector<Eigen::Index> proj_offset_;  // start of each plastic projection's W, else -1
  std::vector<Eigen::Index> post_variable_offset_;  // start of the post variable its rule reads, else -1
  Eigen::Index population_state_size_ = 0;
  // Ranges [begin, end) of x holding weights that must stay > 0 (log-weight currents).
  std::vector<std::pair<Eigen::Index, Eigen::Index>> positive_;
  // Scratch buffers, sized once (mutable: the ODE right-hand side is const).
  double learning_rate_scale_ = 1.0;
  mutable std::vector<vector> rates_;
  mutable std::vector<vector> input_;
  mutable std::vector<vector> bias_;  // per adapted population
  std::vector<vector> external_;
};

}  // namespace ratesim
