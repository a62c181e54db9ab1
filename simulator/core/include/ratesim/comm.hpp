#pragma once
// Processes that share one job: the ranks of an MPI run (mpirun, srun), or this process
// alone. No MPI header is needed to use it (MPI lives in simulator/core/src/comm_mpi.cpp, built
// when CMake finds MPI), so plug-ins and the Python module build without MPI.
//
// Exact sums over data split between processes (DESIGN.md, "Exactness"): a data set of
// `total` points is cut into groups of `chunk` consecutive points (the last may be
// shorter), a function of the data alone. Each rank holds whole groups, a contiguous run
// of them. Per-group values are summed over one fixed binary tree whose leaves are the
// groups (each node is its left child plus its right child, split at the middle), so the
// total is the same bits whichever rank or thread computed which group, on any number
// of ranks and threads. Within a rank, sibling nodes are added as soon as both exist (a
// rank holds at most a few nodes at a time); across ranks, a node whose children sit on
// two ranks is added on the rank of its left child, which receives the right one; the
// root is broadcast. Every rank sends and receives at most about 2 log2(groups) nodes.

#include <ratesim/types.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

namespace ratesim {

class communicator {
 public:
  virtual ~communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Sends `values` to rank `to` without waiting for it to be received (the values are
  // copied); complete_sends() waits for every send.
  virtual void send(int to, int tag, std::span<const double> values) = 0;
  // Waits for values.size() doubles that rank `from` sent with `tag`.
  virtual void receive(int from, int tag, std::span<double> values) = 0;
  virtual void complete_sends() = 0;
  // Rank root's values, on every rank.
  virtual void broadcast(std::span<double> values, int root) = 0;
  // The largest value, and the sum, over all ranks (integers: exact in any order).
  virtual std::int64_t max(std::int64_t value) = 0;
  virtual std::int64_t sum(std::int64_t value) = 0;
  virtual void barrier() = 0;
  // Ends every rank of the job now with exit code `code`; the caller prints why first.
  [[noreturn]] virtual void abort(int code) = 0;
};

// This process alone.
communicator& serial();
// The job: MPI_COMM_WORLD when the build has MPI and the process was started by mpirun or
// srun (MPI is initialised at the first call and finalised at exit), else serial().
communicator& world();
// Whether this build has MPI.
bool built_with_mpi();

// Where a process's points sit in a data set split between the ranks of `comm`.
struct data_part {
  communicator* comm = nullptr;  // nullptr: serial(), the whole set is here
  Eigen::Index first = 0;        // index of this rank's first point in the whole set
  Eigen::Index total = -1;       // points in the whole set (-1: the points given)
};

// The groups [first, last) a rank holds: a contiguous, balanced share of `groups`.
struct group_range {
  std::int64_t first = 0, last = 0;
};
group_range rank_groups(std::int64_t groups, int rank, int size);
// The part of a set of `total` points, in groups of `chunk`, that this rank of `comm`
// holds; `count` is its number of points (0 on ranks beyond the number of groups).
struct data_slice {
  data_part part;
  Eigen::Index count = 0;
};
data_slice split_data(communicator& comm, Eigen::Index total, std::size_t chunk);

// A node of the fixed binary tree over `groups` leaves that exact_sum adds by: the groups
// [first, last); a node of two or more groups is the sum of its halves [first, mid) and
// [mid, last), mid = first + (last − first) / 2. The root is [0, groups).
using tree_node = std::pair<std::int64_t, std::int64_t>;
// The node whose half n is (n must be a node other than the root).
tree_node tree_parent(tree_node n, std::int64_t groups);
// The largest node that starts at group `first` and ends at or before `end` (> first).
tree_node largest_tree_node(std::int64_t first, std::int64_t end, std::int64_t groups);

// The exact sum of per-group vectors of `length` values (the tree above).
class exact_sum {
 public:
  exact_sum(communicator& comm, std::int64_t groups, std::size_t length);
  group_range range() const { return range_; }
  // Group g's values (range().first <= g < range().last); thread-safe, any order.
  void add(std::int64_t g, std::vector<double> values) {
    add(tree_node{g, g + 1}, std::move(values));
  }
  // The sum of the groups of node n, a node of the tree within range() (a caller that
  // has already added some of its groups up the same tree).
  void add(tree_node n, std::vector<double> values);
  // The sum over all groups of all ranks, the same bits on every rank. Collective: every
  // rank calls it once, after adding each of its groups.
  std::vector<double> total();

 private:
  using node = tree_node;
  std::vector<double> value_of(node n);  // a node this rank owns (n.first in range)
  void visit(node n, std::vector<double>& root);
  int owner(std::int64_t g) const;

  communicator& comm_;
  std::int64_t groups_;
  std::size_t length_;
  group_range range_;
  std::mutex mutex_;
  std::map<node, std::vector<double>> done_;  // complete nodes awaiting their sibling
};

// Σ over the groups of `chunk` points of the data of `part` (this rank holds
// `local_points` of them) of what fill(first, n, values) writes for the local points
// [first, first + n) of one group into `values` (`length` zeros on entry). The groups
// run on OpenMP's threads. Exact: the same bits on any number of ranks and threads.
std::vector<double> sum_over_groups(
    const data_part& part, Eigen::Index local_points, std::size_t chunk, std::size_t length,
    const std::function<void(Eigen::Index, Eigen::Index, std::span<double>)>& fill);

}  // namespace ratesim
