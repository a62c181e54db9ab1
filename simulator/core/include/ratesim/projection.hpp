#pragma once
// A projection carries the rates of a presynaptic population to a postsynaptic one through
// a weight matrix W (n_post × n_pre) and a synaptic current, and optionally changes W by a
// plasticity rule. Plastic weights live in the network's state vector; static ones here.

#include <ratesim/parameters.hpp>
#include <ratesim/random.hpp>
#include <ratesim/rule.hpp>
#include <ratesim/registry.hpp>
#include <ratesim/types.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ratesim {

// How a projection turns presynaptic rates into postsynaptic input current.
class synaptic_current {
 public:
  virtual ~synaptic_current() = default;
  virtual std::string_view name() const = 0;
  // Rejects weights the current cannot use; `component` prefixes the message.
  virtual void check_weights(matrix_view /*W*/, std::string_view /*component*/) const {}
  // Whether every weight must stay > 0 (a current of ln W): the network then checks plastic
  // weights after every step, as it checks the state for NaN, and refuses a weight <= 0.
  virtual bool needs_positive_weights() const { return false; }
  // out += I(W, pre). Called in the step loop: must not allocate.
  virtual void add(matrix_view W, vector_view pre, vector_span out) const = 0;
  // For a current I = F(W) · pre with F applied to each weight on its own (log_weight:
  // ln max(W, floor); linear: W): f[i] = F(w[i]) for i < n, and true (n = 0 asks only
  // whether the current has this form). False, the default, for a current of another
  // form. The spiking regime keeps F(W) and updates the currents spike by spike, which
  // needs this form. The same bits for a weight whatever n and its place in w.
  virtual bool elementwise(const double* /*w*/, double* /*f*/, std::size_t /*n*/) const {
    return false;
  }
  // A cache of what add() computes from W alone (ln W for a log-weight current), for a
  // regime that evaluates the current many times while few rows of W change between
  // evaluations (the quasi-static regime). The default keeps nothing and calls add().
  virtual std::unique_ptr<class current_cache> make_cache(Eigen::Index n_post,
                                                          Eigen::Index n_pre) const;
};

// A dense weight step W += factor · dW/dt, for current_cache::step: dW/dt given whole (dW),
// or, where q is given, in the scaling form (pre_d − W_cd) · q_c
// (plasticity_rule::scaling_form), which is then never formed.
struct weight_step {
  double factor = 1.0;
  const matrix* dW = nullptr;   // n_post × n_pre
  const vector* pre = nullptr;  // n_pre, with q
  const vector* q = nullptr;    // n_post
};

// What a synaptic current keeps between evaluations at slowly changing weights. The one who
// changes W says which rows changed; the cache then gives the same input current as
// synaptic_current::add at the new W, bit for bit, recomputing only those rows.
class current_cache {
 public:
  virtual ~current_cache() = default;
  // W (the same memory at every call) changed in the listed rows since the last refresh,
  // or in every row when `all` (always so at the first call).
  virtual void refresh(matrix_view W, const std::vector<Eigen::Index>& rows, bool all) = 0;
  // out += I(W, pre) at the W of the last refresh. Must not allocate.
  virtual void add(vector_view pre, vector_span out) const = 0;

  // Optional, for a cache that can follow a dense change of W itself: W += factor · dW/dt
  // (the plain update's bits) and the cache brought to the new W incrementally, so no
  // longer the same bits as refresh() computes but within a drift the cache bounds and
  // documents (the log-weight cache: within 1e-12 of ln W, computed anew exactly at a fixed
  // cadence). `usable`: whether every new weight is finite and, for a current that
  // needs_positive_weights, > 0. False, changing nothing, where the cache cannot (the
  // default); the caller then updates W and refreshes. W must be the refreshed one.
  virtual bool step(matrix_span /*W*/, const weight_step& /*change*/, bool& /*usable*/) {
    return false;
  }
  // W now changes only with notice (refresh): the cache may keep a copy of it, so that the
  // next refresh(all) can tell whether W really changed and, if not, keep what it holds
  // (an incrementally kept cache would otherwise lose its bits at every run's start).
  virtual void remember(matrix_view /*W*/) {}
  // What a checkpoint must hold to continue the cache bit for bit at W: empty when the
  // cache is a function of W alone (the default; a log-weight cache since its last exact
  // computation) or does not hold W's present state (W changed since remember(): computed
  // anew). restore() takes it back at the W it was saved with (empty: computed anew at the
  // next refresh) and returns false, changing nothing, for values that do not fit.
  virtual std::vector<double> state(matrix_view /*W*/) const { return {}; }
  virtual bool restore(matrix_view /*W*/, std::span<const double> state) { return state.empty(); }
};

// Creates a current for a projection of the given shape (so it can size its buffers once).
using current_factory =
    std::function<std::unique_ptr<synaptic_current>(Eigen::Index n_post, Eigen::Index n_pre)>;

// Built in: "log_weight" (I_c = Σ_d ln(W_cd) r_d, the weights are Poisson means; initial
// weights must be > 0, and a weight that learning drives to 0 or below counts as the
// smallest normal double, ln W = −708.4, so the current stays finite) and "linear"
// (I_c = Σ_d W_cd r_d).
registry<current_factory>& synaptic_currents();

// What `network::connect` takes.
struct connection {
  std::string name;
  matrix weights;                         // initial W, n_post × n_pre
  std::string current = "log_weight";     // name in synaptic_currents()
  std::unique_ptr<plasticity_rule> rule;  // null for static weights
};

class projection {
 public:
  projection(std::size_t pre, std::size_t post, connection c,
             std::unique_ptr<synaptic_current> current);

  const std::string& name() const { return name_; }
  std::string label() const;  // `projection "name"`
  std::size_t pre() const { return pre_; }    // index of the presynaptic population
  std::size_t post() const { return post_; }  // index of the postsynaptic population
  Eigen::Index rows() const { return weights_.rows(); }
  Eigen::Index cols() const { return weights_.cols(); }
  const synaptic_current& current() const { return *current_; }
  const plasticity_rule* rule() const { return rule_.get(); }
  bool plastic() const { return rule_ != nullptr; }

 private:
  friend class network;
  std::string name_;
  std::size_t pre_, post_;
  // A static projection's weights; for a plastic one, only the initial weights (the
  // live ones are in the network's state vector).
  matrix weights_;
  std::unique_ptr<synaptic_current> current_;
  std::unique_ptr<plasticity_rule> rule_;
};

// ---- Weight initialisation ------------------------------------------------------------

// W_cd = low + (high − low) u_cd, u_cd uniform in [0, 1), drawn column by column.
matrix uniform_weights(Eigen::Index n_post, Eigen::Index n_pre, double low, double high,
                       random_stream& rng);

// Every row the mean of `data` (one pattern per column) plus noise, then rescaled to sum to
// `row_sum`: W_cd ∝ m_d + noise · m̄ · u_cd with u_cd uniform in [0, 1) and m̄ the mean of m.
// Rows that start near the data's mean all take part in the competition (no dead units).
matrix data_mean_weights(matrix_view data, Eigen::Index n_post, double noise, double row_sum,
                         random_stream& rng);
// The same from the data's mean `mean` (D values), computed elsewhere (fit sums it exactly
// over data split between processes).
matrix mean_weights(const vector& mean, Eigen::Index n_post, double noise, double row_sum,
                    random_stream& rng);

// Rescales every row of W to sum to `row_sum`.
void normalize_rows(matrix_span W, double row_sum);

// Weight initialisers by name, for experiment files (weights = { init = "...", ... }): a
// factory makes W (post.size() × pre.size()) from named parameters and checks them
// (parameters::require_all_used). The built-in ones (uniform, constant, data_mean) are one
// file each in simulator/initializers/, registered in
// simulator/initializers/initializers.cpp; a user adds one with
// weight_initializers().add("my_init", factory).
class network;
class population;
struct weight_context {
  const network& net;
  const population& pre;   // the presynaptic population (W's columns)
  const population& post;  // the postsynaptic population (W's rows)
  const matrix* patterns;  // the patterns of pre's stimulus, one per column; nullptr if none
  random_stream& rng;      // in an experiment, its `seed` keyed by stream_id("projection.NAME")
};
using weight_initializer =
    std::function<matrix(const weight_context& context, const parameters& values)>;
registry<weight_initializer>& weight_initializers();

// The `row_sum` an initialiser rescales every row to: finite and >= 0 (0: rows as drawn).
double row_sum_parameter(const parameters& values, std::string_view component);

}  // namespace ratesim
