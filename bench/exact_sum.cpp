// The communication of data-parallel EM, alone: one exact sum (ratesim::exact_sum) of the
// per-group statistics, C·D + 1 doubles per group, over the ranks of an MPI job, for the
// 30 groups of Fashion-MNIST's 60,000 images. Prints, on rank 0, the median seconds of a
// sum (the groups' own additions included) per C.
//
//   mpirun -np 2 build/bench/bench_exact_sum [repetitions]
#include <ratesim/comm.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  ratesim::communicator& comm = ratesim::world();
  const int repetitions = argc > 1 ? std::atoi(argv[1]) : 21;
  const std::int64_t groups = 30, D = 784;
  for (std::int64_t C : {10, 100, 1000}) {
    const auto length = static_cast<std::size_t>(C * D + 1);
    std::vector<double> times;
    for (int rep = 0; rep < repetitions; ++rep) {
      ratesim::exact_sum sum(comm, groups, length);
      std::vector<std::vector<double>> values;
      for (std::int64_t g = sum.range().first; g < sum.range().last; ++g)
        values.emplace_back(length, 1.0 + static_cast<double>(g));
      comm.barrier();
      const auto start = std::chrono::steady_clock::now();
      for (std::int64_t g = sum.range().first; g < sum.range().last; ++g)
        sum.add(g, std::move(values[static_cast<std::size_t>(g - sum.range().first)]));
      const std::vector<double> total = sum.total();
      times.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (total[0] != 30.0 * 31.0 / 2.0) return 1;
    }
    std::sort(times.begin(), times.end());
    if (comm.rank() == 0)
      std::printf("ranks %d C %lld bytes %lld median %.6f s min %.6f s\n", comm.size(),
                  static_cast<long long>(C), static_cast<long long>(8 * C * D),
                  times[times.size() / 2], times.front());
  }
  return 0;
}
