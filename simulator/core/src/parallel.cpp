#include <ratesim/parallel.hpp>

#include <algorithm>

#include <omp.h>
#include <pthread.h>

namespace ratesim {
namespace {

// GCC's OpenMP keeps its threads in a pool that fork() does not copy: a child of a process
// that has run a parallel region hangs in its first one (Python's multiprocessing forks
// by default). The child goes on with one thread instead.
void one_thread_after_fork() { omp_set_num_threads(1); }
[[maybe_unused]] const int fork_handler = pthread_atfork(nullptr, nullptr, one_thread_after_fork);

}  // namespace

std::size_t piece_items(std::size_t unit) {
  return std::max<std::size_t>(1, 8192 / std::max<std::size_t>(unit, 1));
}

namespace detail {

void for_each_piece(std::size_t n, std::size_t unit, void (*call)(void*, std::size_t, std::size_t),
                    void* work) {
  const std::size_t piece = piece_items(unit);
  if (n < 4 * piece || omp_get_max_threads() == 1 || omp_in_parallel()) {
    call(work, 0, n);
    return;
  }
  const auto pieces = static_cast<std::ptrdiff_t>((n + piece - 1) / piece);
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t p = 0; p < pieces; ++p) {
    const auto first = static_cast<std::size_t>(p) * piece;
    call(work, first, std::min(piece, n - first));
  }
}

}  // namespace detail
}  // namespace ratesim
