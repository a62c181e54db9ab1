#pragma once
// Element-wise work on a long array (a weight matrix: C·D entries every step), shared
// between OpenMP's threads (OMP_NUM_THREADS). The array is cut into pieces of whole SIMD
// vectors; when each element is computed on its own, the result has the same bits
// whichever thread computes which piece, and on any number of threads. Rules and
// populations may use it for their own element-wise passes (synaptic_scaling.cpp does).

#include <cstddef>
#include <type_traits>

namespace ratesim {

namespace detail {
void for_each_piece(std::size_t n, std::size_t unit, void (*call)(void*, std::size_t, std::size_t),
                    void* work);
}  // namespace detail

// The items in each piece of for_each_piece(n, unit, …) but the last: work that must not
// depend on the threads (a sum over columns taken by blocks) can be cut the same way, so
// that a thread reads in one pass the columns it wrote in another.
std::size_t piece_items(std::size_t unit);

// Calls work(first, count) for pieces that cover [0, n) once each, where the n items are
// columns of `unit` elements each (1: single elements). Runs it once, for all of [0, n),
// on the calling thread when there is little work (threads would cost more than they
// save), one thread, or the caller already runs in a parallel region. Allocates nothing.
template <class Work>
void for_each_piece(std::size_t n, std::size_t unit, Work&& work) {
  using W = std::remove_reference_t<Work>;
  detail::for_each_piece(
      n, unit,
      [](void* w, std::size_t first, std::size_t count) { (*static_cast<W*>(w))(first, count); },
      const_cast<void*>(static_cast<const void*>(&work)));
}

}  // namespace ratesim
