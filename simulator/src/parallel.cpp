#include <ratesim/parallel.hpp>

#include <algorithm>

#include <omp.h>

namespace ratesim::detail {

void for_each_piece(std::size_t n, std::size_t unit, void (*call)(void*, std::size_t, std::size_t),
                    void* work) {
  const std::size_t piece = std::max<std::size_t>(1, 8192 / std::max<std::size_t>(unit, 1));
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

}  // namespace ratesim::detail
