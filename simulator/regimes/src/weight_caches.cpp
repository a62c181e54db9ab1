#include "weight_caches.hpp"

#include <ratesim/error.hpp>
#include <ratesim/parallel.hpp>

#include <fmt/format.h>

#include <string>

namespace ratesim {

weight_caches::weight_caches(network& net) : net_(net) {
  net_.state();
  for (const auto& p : net_.projections()) {
    caches_.push_back(p.current().make_cache(p.rows(), p.cols()));
    row_min_.emplace_back(vector::Zero(p.rows()));
    row_min_valid_.push_back(false);
    changed_.emplace_back().reserve(static_cast<std::size_t>(p.rows()));
  }
  all_changed_.assign(caches_.size(), 1);
}

void weight_caches::mark_all_changed() { std::fill(all_changed_.begin(), all_changed_.end(), 1); }

void weight_caches::refresh(std::size_t k) {
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

void weight_caches::add(std::size_t k, vector_view pre, vector_span out) {
  refresh(k);
  caches_[k]->add(pre, out);
}

bool weight_caches::step_weights(std::size_t k, matrix_span W, const weight_step& change,
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

void weight_caches::sync() {
  for (std::size_t k = 0; k < caches_.size(); ++k) {
    refresh(k);
    caches_[k]->remember(net_.weights(k));
  }
}

namespace {
std::string cache_key(std::string_view prefix, const projection& p) {
  return fmt::format("{}.current_cache.{}", prefix, p.name());
}
}  // namespace

void weight_caches::save(checkpoint& c, std::string_view prefix) const {
  const auto& projections = net_.projections();
  for (std::size_t k = 0; k < projections.size(); ++k)
    if (auto state = caches_[k]->state(net_.weights(k)); !state.empty())
      c.set(cache_key(prefix, projections[k]), std::move(state));
}

void weight_caches::restore(const checkpoint& c, std::string_view prefix,
                            std::string_view component) {
  const auto& projections = net_.projections();
  for (std::size_t k = 0; k < projections.size(); ++k) {
    const std::string key = cache_key(prefix, projections[k]);
    std::span<const double> state;
    if (c.has(key)) state = c.numbers(key);
    if (!caches_[k]->restore(net_.weights(k), state))
      throw input_error(fmt::format("{}: the checkpoint's entry {} is damaged ({} values for "
                                    "a {} × {} cache and its step count)",
                                    component, key, state.size(), projections[k].rows(),
                                    projections[k].cols()));
  }
}

}  // namespace ratesim
