#pragma once
// The open mini-batch of the quasi-static regime, which owns one. A mini-batch's sum is
// taken over exact_sum's fixed binary tree of its batch_size slots (ratesim/comm.hpp), one
// slot per presentation, so that it is the same bits however the slots are shared between
// the ranks of a job; a slot without a presentation (a batch cut short by the end of a
// run) adds zero. A batch_sum holds the slots [first, last) of one rank: the sums of the
// largest complete tree nodes among the slots added so far, left to right, two halves
// merged as soon as both are here (at most about log2(batch_size) + 1 at a time). Sized
// once; allocates nothing after construction.

#include <ratesim/comm.hpp>
#include <ratesim/types.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace ratesim {

class batch_sum {
 public:
  // `slots` tree leaves, of which this one holds [first, last); `length` values each.
  batch_sum(std::int64_t slots, group_range held, Eigen::Index length);

  group_range held() const { return held_; }
  bool holds(std::int64_t slot) const { return slot >= held_.first && slot < held_.last; }
  // The next slot to add.
  std::int64_t next() const { return next_; }
  // Where the next slot's values go before push() adds them.
  Eigen::Map<vector> leaf();
  void push();
  // Zero for every slot from next() up to `slot` (<= held().last), a whole node at a time.
  void skip_to(std::int64_t slot);

  // The nodes held (the node sums in node_values()).
  std::span<const tree_node> nodes() const { return {nodes_.data(), count_}; }
  Eigen::Map<const vector> node_values(std::size_t i) const;
  // Back to nothing added.
  void clear();
  // The state after adding slots [held().first, next) whose node sums, in order, are
  // `values` (as nodes() and node_values() give them); false if `values` has the wrong size.
  bool restore(std::int64_t next, std::span<const double> values);

 private:
  // Makes room for a node [next_, next_ + size) on top; merges it down after it is written.
  double* open(std::int64_t last);
  void close();

  std::int64_t slots_;
  group_range held_;
  Eigen::Index length_;
  std::int64_t next_;
  matrix sums_;                   // length × capacity, node i's sum in column i
  std::vector<tree_node> nodes_;  // capacity
  std::size_t count_ = 0;
};

}  // namespace ratesim
