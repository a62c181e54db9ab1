#include "settling.hpp"

#include <ratesim/parallel.hpp>

namespace ratesim {

settling::settling(network& net) : net_(net), order_(net.feedforward_order()) {
  net_.state();
  const auto& projections = net_.projections();
  for (std::size_t i = 0; i < net_.population_count(); ++i) {
    incoming_.push_back(net_.incoming(i));
    const auto n = static_cast<Eigen::Index>(net_.get_population(i).size());
    rates_.emplace_back(vector::Zero(n));
    input_.emplace_back(vector::Zero(n));
  }
  for (const auto& p : projections) {
    caches_.push_back(p.current().make_cache(p.rows(), p.cols()));
    row_min_.emplace_back(vector::Zero(p.rows()));
    row_min_valid_.push_back(false);
    changed_.emplace_back().reserve(static_cast<std::size_t>(p.rows()));
  }
  all_changed_.assign(projections.size(), 1);
}

void settling::mark_all_changed() { std::fill(all_changed_.begin(), all_changed_.end(), 1); }

void settling::refresh(std::size_t k) {
  if (all_changed_[k] != 0 || !changed_[k].empty()) {
    const auto W = net_.weights(k);
    caches_[k]->refresh(W, changed_[k], all_changed_[k] != 0);
    if (all_changed_[k] != 0)
      row_min_valid_[k] = false;  // computed again when asked for
    else if (row_min_valid_[k])
      for (Eigen::Index c : changed_[k]) row_min_[k][c] = W.row(c).cwiseAbs().minCoeff();
  }
  changed_[k].clear();
  all_changed_[k] = 0;
}

bool settling::step_weights(std::size_t k, matrix_span W, const weight_step& change,
                            bool incremental) {
  bool usable = false;
  if (incremental && all_changed_[k] == 0 && changed_[k].empty() &&
      caches_[k]->step(W, change, usable)) {
    row_min_valid_[k] = false;
    if (!usable) all_changed_[k] = 1;  // checked whole, and computed anew if it goes on
    return usable;
  }
  // The plain update, with the arithmetic of the rule's derivative and W + factor · dW/dt.
  const auto rows = static_cast<std::size_t>(W.rows());
  for_each_piece(static_cast<std::size_t>(W.cols()), rows, [&](std::size_t first, std::size_t n) {
    const auto d = static_cast<Eigen::Index>(first), m = static_cast<Eigen::Index>(n);
    auto w = W.middleCols(d, m).array();
    if (change.q != nullptr)
      w += change.factor * (((-w).rowwise() + change.pre->segment(d, m).transpose().array())
                                .colwise() *
                            change.q->array());
    else
      w += change.factor * change.dW->middleCols(d, m).array();
  });
  all_changed_[k] = 1;
  return false;
}

void settling::sync() {
  for (std::size_t k = 0; k < caches_.size(); ++k) {
    refresh(k);
    caches_[k]->remember(net_.weights(k));
  }
}

std::vector<double> settling::cache_state(std::size_t k) const {
  return caches_[k]->state(net_.weights(k));
}

bool settling::restore_cache(std::size_t k, std::span<const double> state) {
  return caches_[k]->restore(net_.weights(k), state);
}

void settling::settle() {
  const auto& projections = net_.projections();
  for (std::size_t i : order_) {
    input_[i] = net_.external_input(i);
    net_.add_bias(i, input_[i]);
    for (std::size_t k : incoming_[i]) {
      refresh(k);
      caches_[k]->add(rates_[projections[k].pre()], input_[i]);
    }
    const population& pop = net_.get_population(i);
    auto x = net_.state_of(i);
    pop.fixed_point(input_[i], x);
    pop.rates(x, rates_[i]);
  }
}

}  // namespace ratesim
