// The exact sums over groups of data split between ranks (ratesim/comm.hpp): the same
// bits for any number of ranks and any order of the groups, and within rounding of the
// exact sum. The ranks are threads here, joined by an in-process communicator, so the
// tree's messages are checked without MPI (and under the sanitizers); tests/mpi/ runs
// the same through mpirun.
#include <ratesim/comm.hpp>
#include <ratesim/random.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

namespace {

using namespace ratesim;

// Mailboxes shared by the ranks of one in-process job.
struct post_office {
  std::mutex mutex;
  std::condition_variable arrived;
  std::map<std::tuple<int, int, int>, std::deque<std::vector<double>>> boxes;  // from, to, tag
};

class thread_communicator final : public communicator {
 public:
  thread_communicator(post_office& post, int rank, int size)
      : post_(post), rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void send(int to, int tag, std::span<const double> values) override {
    const std::lock_guard lock(post_.mutex);
    post_.boxes[{rank_, to, tag}].emplace_back(values.begin(), values.end());
    post_.arrived.notify_all();
  }
  void receive(int from, int tag, std::span<double> values) override {
    std::unique_lock lock(post_.mutex);
    auto& box = post_.boxes[{from, rank_, tag}];
    post_.arrived.wait(lock, [&] { return !box.empty(); });
    ASSERT_EQ(box.front().size(), values.size());
    std::copy(box.front().begin(), box.front().end(), values.begin());
    box.pop_front();
  }
  void complete_sends() override {}
  void broadcast(std::span<double> values, int root) override {
    constexpr int tag = 1 << 30;
    if (rank_ == root) {
      for (int r = 0; r < size_; ++r)
        if (r != root) send(r, tag, values);
    } else {
      receive(root, tag, values);
    }
  }
  std::int64_t max(std::int64_t) override { throw std::logic_error("not used"); }
  std::int64_t sum(std::int64_t) override { throw std::logic_error("not used"); }
  void barrier() override {}
  [[noreturn]] void abort(int) override { std::abort(); }

 private:
  post_office& post_;
  int rank_, size_;
};

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
  post_office post;
  std::vector<std::vector<double>> totals(static_cast<std::size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      thread_communicator comm(post, r, ranks);
      exact_sum sum(comm, groups, length);
      for (std::int64_t g = sum.range().last - 1; g >= sum.range().first; --g)
        sum.add(g, group_values(g, length));
      totals[static_cast<std::size_t>(r)] = sum.total();
    });
  for (auto& t : threads) t.join();
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

TEST(ExactSum, SplitDataGivesEveryRankWholeGroups) {
  post_office post;
  for (int size : {1, 2, 3, 5}) {
    Eigen::Index next = 0;
    for (int r = 0; r < size; ++r) {
      thread_communicator comm(post, r, size);
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
