// The exact sums over groups of data split between ranks (ratesim/comm.hpp): the same
// bits for any number of ranks and any order of the groups, and within rounding of the
// exact sum. The ranks are threads here (thread_communicator.hpp), so the tree's messages
// are checked without MPI (and under the sanitizers); tests/mpi/ runs the same through
// mpirun.
#include "thread_communicator.hpp"

#include <ratesim/comm.hpp>
#include <ratesim/error.hpp>
#include <ratesim/random.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace {

using namespace ratesim;

// Group g's values: positive, of magnitudes from 1 to 1e6, so that the order of the
// additions changes the rounding.
std::vector<double> group_values(std::int64_t g, std::size_t length) {
  random_stream rng(static_cast<std::uint64_t>(g) * 7919 + 1, 0);
  std::vector<double> v(length);
  for (double& x : v) {
    const double mantissa = uniform(rng);  // two draws, in this order
    x = mantissa * std::pow(10.0, std::floor(6.0 * uniform(rng)));
  }
  return v;
}

// The sum over `groups` groups on `ranks` threads; each rank adds its groups in reverse.
std::vector<std::vector<double>> tree_sum(std::int64_t groups, int ranks, std::size_t length) {
  std::vector<std::vector<double>> totals(static_cast<std::size_t>(ranks));
  ratesim::testing::on_thread_ranks(ranks, [&](communicator& comm) {
    exact_sum sum(comm, groups, length);
    for (std::int64_t g = sum.range().last - 1; g >= sum.range().first; --g)
      sum.add(g, group_values(g, length));
    totals[static_cast<std::size_t>(comm.rank())] = sum.total();
  });
  return totals;
}

TEST(ExactSum, SameBitsOnAnyNumberOfRanksAndCloseToTheExactSum) {
  constexpr std::size_t length = 64;
  for (std::int64_t groups : {1, 2, 3, 5, 8, 13, 30}) {
    const std::vector<double> one = tree_sum(groups, 1, length)[0];
    for (std::size_t i = 0; i < length; ++i) {  // against a sum in long double
      long double exact = 0.0L;
      for (std::int64_t g = 0; g < groups; ++g) exact += group_values(g, length)[i];
      EXPECT_NEAR(one[i], static_cast<double>(exact), 1e-14 * static_cast<double>(exact));
    }
    for (int ranks : {2, 3, 4, 7, 10})
      for (const auto& total : tree_sum(groups, ranks, length))
        EXPECT_EQ(0, std::memcmp(total.data(), one.data(), length * sizeof(double)))
            << groups << " groups on " << ranks << " ranks";
  }
}

TEST(ExactSum, TheOrderOfAdditionsMatters) {
  // The test above could not fail if the values summed the same in any order: they do not.
  const std::int64_t groups = 30;
  const std::vector<double> tree = tree_sum(groups, 1, 64)[0];
  std::vector<double> left_to_right(64, 0.0);
  for (std::int64_t g = 0; g < groups; ++g) {
    const auto v = group_values(g, 64);
    for (std::size_t i = 0; i < 64; ++i) left_to_right[i] += v[i];
  }
  EXPECT_NE(0, std::memcmp(tree.data(), left_to_right.data(), 64 * sizeof(double)));
}

TEST(ExactSum, NodesAddedWholeGiveTheSameBits) {
  // A rank that has summed some of its groups up the tree itself (the quasi-static
  // regime's mini-batch) hands exact_sum whole nodes: the same total as the groups.
  constexpr std::int64_t groups = 13;
  constexpr std::size_t length = 64;
  const std::vector<double> leaves = tree_sum(groups, 1, length)[0];
  for (int ranks : {1, 2, 3}) {
    std::vector<std::vector<double>> totals(static_cast<std::size_t>(ranks));
    ratesim::testing::on_thread_ranks(ranks, [&](communicator& comm) {
      exact_sum sum(comm, groups, length);
      for (std::int64_t g = sum.range().first; g < sum.range().last;) {
        const tree_node n = largest_tree_node(g, sum.range().last, groups);
        std::vector<double> values(length, 0.0);
        // the node's groups summed over its own subtree (the tree of a node depends only
        // on its size), through exact_sum on this rank alone
        exact_sum part(serial(), n.second - n.first, length);
        for (std::int64_t k = n.first; k < n.second; ++k)
          part.add(k - n.first, group_values(k, length));
        sum.add(n, part.total());
        g = n.second;
      }
      totals[static_cast<std::size_t>(comm.rank())] = sum.total();
    });
    for (const auto& total : totals)
      EXPECT_EQ(0, std::memcmp(total.data(), leaves.data(), length * sizeof(double))) << ranks;
  }
  exact_sum sum(serial(), groups, length);
  EXPECT_THROW(sum.add(tree_node{0, 2}, std::vector<double>(length)), error);  // not a node
  EXPECT_THROW(sum.add(tree_node{0, 3}, std::vector<double>(length - 1)), error);
}

TEST(ExactSum, TheTreeSplitsEveryNodeAtItsMiddle) {
  EXPECT_EQ(tree_parent({0, 1}, 3), (tree_node{0, 3}));
  EXPECT_EQ(tree_parent({1, 2}, 3), (tree_node{1, 3}));
  EXPECT_EQ(tree_parent({1, 3}, 3), (tree_node{0, 3}));
  EXPECT_EQ(largest_tree_node(0, 100, 100), (tree_node{0, 100}));
  EXPECT_EQ(largest_tree_node(0, 99, 100), (tree_node{0, 50}));
  EXPECT_EQ(largest_tree_node(50, 99, 100), (tree_node{50, 75}));
  EXPECT_EQ(largest_tree_node(33, 66, 100), (tree_node{33, 34}));
}

TEST(ExactSum, SplitDataGivesEveryRankWholeGroups) {
  ratesim::testing::post_office post;
  for (int size : {1, 2, 3, 5}) {
    Eigen::Index next = 0;
    for (int r = 0; r < size; ++r) {
      ratesim::testing::thread_communicator comm(post, r, size);
      const data_slice s = split_data(comm, 6500, 2048);
      EXPECT_EQ(s.part.first, next);
      EXPECT_EQ(s.part.first % 2048, 0);
      EXPECT_EQ(s.part.total, 6500);
      next += s.count;
    }
    EXPECT_EQ(next, 6500);
  }
}

}  // namespace
