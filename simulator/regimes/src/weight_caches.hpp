#pragma once
// The caches of every projection's current (current_cache), and the one owner of the
// invariant "each cache matches W": whoever changes W through a regime says which rows
// here (changed_rows, mark_changed), or changes it through step_weights, and add()
// brings a cache to W before using it. The quasi-static regime's settling and the ODE
// regime's euler stepper each keep one.

#include <ratesim/checkpoint.hpp>
#include <ratesim/network.hpp>
#include <ratesim/projection.hpp>

#include <deque>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace ratesim {

class weight_caches {
 public:
  // The state must be laid out; every cache starts stale.
  explicit weight_caches(network& net);

  // out += projection k's current at the rates `pre` of its presynaptic population and its
  // present W (the cache brought to it first). Allocates nothing.
  void add(std::size_t projection, vector_view pre, vector_span out);
  // min_d |W_cd| of every row c of projection k's W as of the last add(), computed when
  // first asked for (plasticity_rule::step_sparse). `W` is projection k's weights
  // (network::weights(k)).
  row_minima row_min(std::size_t projection, matrix_view W) {
    return row_minima(W, row_min_[projection], row_min_valid_[projection]);
  }

  // The rows of projection k's W changed since the last add(), to be filled by the one
  // who changes them (plasticity_rule::step_sparse; its capacity is the row count).
  std::vector<Eigen::Index>& changed_rows(std::size_t projection) { return changed_[projection]; }
  // Whether W of projection k was marked as changed anywhere since the last add().
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
  // Brings every cache to the present W and lets it remember W, so that the next run's
  // start keeps the caches when W did not change (the end of a run).
  void sync();
  // The caches kept incrementally (current_cache::state, at the W of the last sync()) into
  // a checkpoint, as "<prefix>.current_cache.<projection>", and back; a damaged entry is
  // an input_error naming `component` and the entry.
  void save(checkpoint& c, std::string_view prefix) const;
  void restore(const checkpoint& c, std::string_view prefix, std::string_view component);

 private:
  // Brings projection k's cache to W, from what was marked as changed.
  void refresh(std::size_t projection);

  network& net_;
  std::vector<std::unique_ptr<current_cache>> caches_;  // per projection
  std::vector<std::vector<Eigen::Index>> changed_;      // per projection
  std::vector<char> all_changed_;                       // per projection
  std::vector<vector> row_min_;                         // per projection
  std::deque<bool> row_min_valid_;                      // per projection (a deque: bool&)
};

}  // namespace ratesim
