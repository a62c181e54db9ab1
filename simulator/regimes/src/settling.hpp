#pragma once
// Settling a feedforward network: every population at its fixed point for the present
// external input, each after every population that projects to it. The quasi-static
// regime settles once per presentation and owns one of these; it is the one owner of the
// invariant "each current's cache matches W": whoever changes W through the regime says
// which rows here (changed_rows, mark_changed), and settle() refreshes the caches before
// using them. The ODE regime uses one for its clean start.

#include <ratesim/network.hpp>
#include <ratesim/projection.hpp>

#include <deque>
#include <memory>
#include <span>
#include <vector>

namespace ratesim {

class settling {
 public:
  // Throws a usage_error naming the loop if the network is not feedforward. The state
  // must be laid out; every cache starts stale.
  explicit settling(network& net);

  // Puts every population at its fixed point; currents reuse cached work for the weight
  // rows nobody marked as changed. Allocates nothing.
  void settle();
  // The rates of population i at the last settle().
  const vector& rates(std::size_t population) const { return rates_[population]; }
  // min_d |W_cd| of every row c of projection k's W as of the last settle(), computed when
  // first asked for (plasticity_rule::step_sparse).
  // `W` is projection k's weights (network::weights(k)).
  row_minima row_min(std::size_t projection, matrix_view W) {
    return row_minima(W, row_min_[projection], row_min_valid_[projection]);
  }

  // The rows of projection k's W changed since the last settle(), to be filled by the one
  // who changes them (plasticity_rule::step_sparse; its capacity is the row count).
  std::vector<Eigen::Index>& changed_rows(std::size_t projection) { return changed_[projection]; }
  // Whether W of projection k was marked as changed anywhere since the last settle().
  bool stale(std::size_t projection) const { return all_changed_[projection] != 0; }
  // W of projection k may have changed anywhere.
  void mark_changed(std::size_t projection) { all_changed_[projection] = 1; }
  // Every W may have changed (a new run, a restore, a mini-batch, a constraint).
  void mark_all_changed();

  // W += factor · dW/dt for projection k (W = network::weights(k)), its cache following
  // the change itself (current_cache::step) when `incremental`, the cache can and it holds
  // W's present state; otherwise the plain update, and W marked as changed. Whether the new
  // weights are known to be finite and usable (then no check of W is needed; else
  // stale(k) says so).
  bool step_weights(std::size_t projection, matrix_span W, const weight_step& change,
                    bool incremental);
  // Brings every cache to the present W (what settle() does first) and lets it remember W,
  // so that the next run's start keeps the caches when W did not change (the end of a run).
  void sync();
  // Projection k's cache as a checkpoint holds it (current_cache::state; empty when it
  // is a function of W), and back (false when the values do not fit). Call sync() first.
  std::vector<double> cache_state(std::size_t projection) const;
  bool restore_cache(std::size_t projection, std::span<const double> state);

 private:
  // Brings projection k's cache to W, from what was marked as changed.
  void refresh(std::size_t projection);

  network& net_;
  std::vector<std::size_t> order_;
  std::vector<std::vector<std::size_t>> incoming_;  // projections into each population
  std::vector<std::unique_ptr<current_cache>> caches_;  // per projection
  std::vector<std::vector<Eigen::Index>> changed_;      // per projection
  std::vector<char> all_changed_;                       // per projection
  std::vector<vector> row_min_;                         // per projection
  std::deque<bool> row_min_valid_;                      // per projection (a deque: bool&)
  std::vector<vector> rates_, input_;                   // per population
};

}  // namespace ratesim
