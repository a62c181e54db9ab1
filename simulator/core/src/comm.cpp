#include <ratesim/comm.hpp>
#include <ratesim/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace ratesim {
namespace {

class serial_communicator final : public communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void send(int to, int, std::span<const double>) override { no_peer(to); }
  void receive(int from, int, std::span<double>) override { no_peer(from); }
  void complete_sends() override {}
  void broadcast(std::span<double>, int) override {}
  std::int64_t max(std::int64_t value) override { return value; }
  std::int64_t sum(std::int64_t value) override { return value; }
  void barrier() override {}
  [[noreturn]] void abort(int code) override {
    std::fflush(nullptr);
    std::_Exit(code);
  }

 private:
  [[noreturn]] static void no_peer(int other) {
    throw error(fmt::format("communicator: rank {} does not exist (one process)", other));
  }
};

}  // namespace

communicator& serial() {
  static serial_communicator one;
  return one;
}

#ifndef RATESIM_HAVE_MPI
communicator& world() { return serial(); }
bool built_with_mpi() { return false; }
#endif

group_range rank_groups(std::int64_t groups, int rank, int size) {
  return {groups * rank / size, groups * (rank + 1) / size};
}

data_slice split_data(communicator& comm, Eigen::Index total, std::size_t chunk) {
  const auto block = static_cast<std::int64_t>(std::max<std::size_t>(chunk, 1));
  const std::int64_t groups = (total + block - 1) / block;
  const group_range r = rank_groups(groups, comm.rank(), comm.size());
  const Eigen::Index first = std::min<std::int64_t>(r.first * block, total);
  const Eigen::Index last = std::min<std::int64_t>(r.last * block, total);
  return {{&comm, first, total}, last - first};
}

// ---- exact_sum ------------------------------------------------------------------------

exact_sum::exact_sum(communicator& comm, std::int64_t groups, std::size_t length)
    : comm_(comm),
      groups_(groups),
      length_(length),
      range_(rank_groups(groups, comm.rank(), comm.size())) {}

tree_node tree_parent(tree_node n, std::int64_t groups) {
  tree_node at{0, groups};
  while (true) {
    const std::int64_t mid = at.first + (at.second - at.first) / 2;
    const tree_node child = n.second <= mid ? tree_node{at.first, mid} : tree_node{mid, at.second};
    if (child == n) return at;
    at = child;
  }
}

tree_node largest_tree_node(std::int64_t first, std::int64_t end, std::int64_t groups) {
  tree_node at{0, groups};
  while (at.first != first || at.second > end) {
    const std::int64_t mid = at.first + (at.second - at.first) / 2;
    at = first < mid ? tree_node{at.first, mid} : tree_node{mid, at.second};
  }
  return at;
}

int exact_sum::owner(std::int64_t g) const {
  int low = 0, high = comm_.size() - 1;  // the first rank whose groups end after g
  while (low < high) {
    const int mid = low + (high - low) / 2;
    if (rank_groups(groups_, mid, comm_.size()).last > g)
      high = mid;
    else
      low = mid + 1;
  }
  return low;
}

void exact_sum::add(tree_node n, std::vector<double> values) {
  const bool inside = n.first >= range_.first && n.first < n.second && n.second <= range_.last;
  if (!inside || values.size() != length_ || largest_tree_node(n.first, n.second, groups_) != n)
    throw error(fmt::format("exact_sum: groups [{}, {}) with {} values; rank {} holds groups "
                            "[{}, {}) of {} values, added by nodes of the tree",
                            n.first, n.second, values.size(), comm_.rank(), range_.first,
                            range_.last, length_));
  const std::lock_guard lock(mutex_);
  const node root{0, groups_};
  while (n != root) {
    const node p = tree_parent(n, groups_);
    if (p.first < range_.first || p.second > range_.last) break;  // the rest is across ranks
    const std::int64_t mid = p.first + (p.second - p.first) / 2;
    const auto sibling = done_.find(n.first == p.first ? node{mid, p.second} : node{p.first, mid});
    if (sibling == done_.end()) break;
    // a + b == b + a in IEEE arithmetic: only the grouping matters, and the tree fixes it.
    for (std::size_t i = 0; i < length_; ++i) values[i] += sibling->second[i];
    done_.erase(sibling);
    n = p;
  }
  done_[n] = std::move(values);
}

std::vector<double> exact_sum::value_of(node n) {
  if (auto it = done_.find(n); it != done_.end()) {
    std::vector<double> v = std::move(it->second);
    done_.erase(it);
    return v;
  }
  if (n.second <= range_.last || n.second - n.first < 2)
    throw error(fmt::format("exact_sum: rank {} lacks the sum of groups [{}, {}) (not every "
                            "group was added)",
                            comm_.rank(), n.first, n.second));
  const std::int64_t mid = n.first + (n.second - n.first) / 2;
  std::vector<double> v = value_of({n.first, mid});
  std::vector<double> right;
  if (mid < range_.last) {
    right = value_of({mid, n.second});
  } else {
    right.resize(length_);
    comm_.receive(owner(mid), static_cast<int>(mid), right);
  }
  for (std::size_t i = 0; i < length_; ++i) v[i] += right[i];
  return v;
}

void exact_sum::visit(node n, std::vector<double>& root) {
  if (n.first >= range_.first && n.first < range_.last) {  // this rank owns n
    std::vector<double> v = value_of(n);
    if (n == node{0, groups_})
      root = std::move(v);
    else  // a right child whose parent starts on an earlier rank
      comm_.send(owner(tree_parent(n, groups_).first), static_cast<int>(n.first), v);
    return;
  }
  if (n.second <= range_.first || n.first >= range_.last || n.second - n.first < 2) return;
  const std::int64_t mid = n.first + (n.second - n.first) / 2;
  visit({n.first, mid}, root);
  visit({mid, n.second}, root);
}

std::vector<double> exact_sum::total() {
  std::vector<double> root(length_, 0.0);
  if (groups_ > 0) {
    visit({0, groups_}, root);
    comm_.broadcast(root, owner(0));
  }
  comm_.complete_sends();
  done_.clear();
  return root;
}

std::vector<double> sum_over_groups(
    const data_part& part, Eigen::Index local_points, std::size_t chunk, std::size_t length,
    const std::function<void(Eigen::Index, Eigen::Index, std::span<double>)>& fill) {
  communicator& comm = part.comm ? *part.comm : serial();
  const Eigen::Index total = part.total < 0 ? local_points : part.total;
  const auto block = static_cast<std::int64_t>(std::max<std::size_t>(chunk, 1));
  exact_sum sum(comm, (total + block - 1) / block, length);
  const group_range r = sum.range();
  const std::int64_t first = std::min<std::int64_t>(r.first * block, total);
  const std::int64_t count = std::min<std::int64_t>(r.last * block, total) - first;
  if (part.first != first || local_points != count)
    throw error(fmt::format(
        "sum_over_groups: rank {} of {} holds points [{}, {}) of {}; its groups of {} hold [{}, {})",
        comm.rank(), comm.size(), part.first, part.first + local_points, total, block, first,
        first + count));
  const std::int64_t groups = r.last - r.first;
#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t i = 0; i < groups; ++i) {
    std::vector<double> values(length, 0.0);
    const Eigen::Index begin = i * block;
    fill(begin, std::min<Eigen::Index>(block, local_points - begin), values);
    sum.add(r.first + i, std::move(values));
  }
  return sum.total();
}

}  // namespace ratesim
