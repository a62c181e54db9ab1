#include "batch_sum.hpp"

#include <ratesim/error.hpp>

#include <fmt/format.h>

#include <bit>

namespace ratesim {

batch_sum::batch_sum(std::int64_t slots, group_range held, Eigen::Index length)
    : slots_(slots), held_(held), length_(length), next_(held.first) {
  // The largest nodes of slots [first, n) grow, then shrink, by at least a level each
  // (only shrink when first is 0), plus the one being merged.
  const int depth = std::bit_width(static_cast<std::uint64_t>(slots));
  const auto capacity = static_cast<Eigen::Index>((held.first == 0 ? 1 : 2) * depth + 2);
  sums_.resize(length_, capacity);
  nodes_.resize(static_cast<std::size_t>(capacity));
}

double* batch_sum::open(std::int64_t last) {
  if (next_ >= held_.last || last > held_.last || count_ == nodes_.size())
    throw error(fmt::format("batch_sum: slots [{}, {}) beyond the slots held, [{}, {})", next_,
                            last, held_.first, held_.last));
  nodes_[count_] = {next_, last};
  return sums_.col(static_cast<Eigen::Index>(count_++)).data();
}

void batch_sum::close() {
  next_ = nodes_[count_ - 1].second;
  const tree_node root{0, slots_};
  while (count_ >= 2 && nodes_[count_ - 1] != root) {
    const tree_node right = nodes_[count_ - 1], left = nodes_[count_ - 2];
    const tree_node parent = tree_parent(right, slots_);
    if (parent != tree_node{left.first, right.second}) break;  // its left half is not here
    const auto l = static_cast<Eigen::Index>(count_ - 2);
    sums_.col(l) += sums_.col(l + 1);  // a + b == b + a: only the tree fixes the grouping
    nodes_[count_ - 2] = parent;
    --count_;
  }
}

Eigen::Map<vector> batch_sum::leaf() {
  if (next_ >= held_.last)
    throw error(fmt::format("batch_sum: slot {} beyond the slots held, [{}, {})", next_,
                            held_.first, held_.last));
  return {sums_.col(static_cast<Eigen::Index>(count_)).data(), length_};
}

void batch_sum::push() {
  open(next_ + 1);
  close();
}

void batch_sum::skip_to(std::int64_t slot) {
  while (next_ < slot) {
    const tree_node n = largest_tree_node(next_, slot, slots_);
    Eigen::Map<vector>(open(n.second), length_).setZero();
    close();
  }
}

Eigen::Map<const vector> batch_sum::node_values(std::size_t i) const {
  return {sums_.col(static_cast<Eigen::Index>(i)).data(), length_};
}

void batch_sum::clear() {
  next_ = held_.first;
  count_ = 0;
}

bool batch_sum::restore(std::int64_t next, std::span<const double> values) {
  clear();
  if (next < held_.first || next > held_.last) return false;
  // The nodes that adding slots [first, next) leaves: the largest ones, left to right.
  for (std::int64_t at = held_.first; at < next; ++count_) {
    if (count_ == nodes_.size()) {
      clear();
      return false;
    }
    nodes_[count_] = largest_tree_node(at, next, slots_);
    at = nodes_[count_].second;
  }
  if (values.size() != count_ * static_cast<std::size_t>(length_)) {
    clear();
    return false;
  }
  for (std::size_t i = 0; i < count_; ++i)
    sums_.col(static_cast<Eigen::Index>(i)) =
        Eigen::Map<const vector>(values.data() + i * static_cast<std::size_t>(length_), length_);
  next_ = next;
  return true;
}

}  // namespace ratesim
