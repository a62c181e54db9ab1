#pragma once
// Ranks as threads: an in-process communicator (ratesim/comm.hpp) whose ranks are threads
// of one test, so that exact sums over ranks and the regime's shared mini-batches are
// checked without MPI (and under the sanitizers); tests/mpi/ runs the same through mpirun.

#include <ratesim/comm.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

namespace ratesim::testing {

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

// Runs job(comm) on `ranks` threads, each with its own rank of one in-process job.
inline void on_thread_ranks(int ranks, const std::function<void(communicator&)>& job) {
  post_office post;
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      thread_communicator comm(post, r, ranks);
      job(comm);
    });
  for (auto& t : threads) t.join();
}

}  // namespace ratesim::testing
