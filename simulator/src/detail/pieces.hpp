#pragma once
// Element-wise work on a long array (a weight matrix: C·D entries every step), shared
// between OpenMP's threads (OMP_NUM_THREADS). The array is cut into pieces of whole
// SIMD vectors; since each element is computed on its own, the result has the same bits
// whichever thread computes which piece, and on any number of threads.

#include <algorithm>
#include <cstddef>

#include <omp.h>

namespace ratesim::detail {

// Calls work(first, count) for pieces that cover [0, n) once each, where the n items are
// elements, or columns of `unit` elements each: in one call on the calling thread when
// there is little work (threads would cost more than they save), one thread, or the
// caller already runs in a parallel region.
template <class Work>
void for_pieces(std::size_t n, Work&& work, std::size_t unit = 1) {
  const std::size_t piece = std::max<std::size_t>(1, 8192 / std::max<std::size_t>(unit, 1));
  if (n < 4 * piece || omp_get_max_threads() == 1 || omp_in_parallel()) {
    work(std::size_t{0}, n);
    return;
  }
  const auto pieces = static_cast<std::ptrdiff_t>((n + piece - 1) / piece);
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t p = 0; p < pieces; ++p) {
    const auto first = static_cast<std::size_t>(p) * piece;
    work(first, std::min(piece, n - first));
  }
}

}  // namespace ratesim::detail
