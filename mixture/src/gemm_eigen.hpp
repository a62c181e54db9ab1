#pragma once
// Eigen's GEMM (its packing routines and its register-blocked kernel, gebp) for one
// instruction set, included only by gemm_avx2.cpp and gemm_avx512.cpp, each compiled
// with its own target flags.
//
// Why this is safe from the one-definition rule. Eigen's templates instantiated in
// translation units compiled with different flags are different code under one name:
// the linker keeps one copy of each (a weak, COMDAT symbol), so a plain `A * B` here
// could hand AVX-512 code to the rest of the library (illegal instructions on an AVX2
// CPU), or hand AVX2 code to this file. So nothing here is instantiated with types or
// names that another translation unit could also use:
//   - Eigen's packing routines and kernel are instantiated with data mappers declared
//     here, in an anonymous namespace: types with internal linkage, so the instantiations
//     have internal linkage too, one private copy per translation unit;
//   - the loop over blocks that Eigen's general_matrix_matrix_product::run and its block
//     size heuristic would do (names shared with every other translation unit) is written
//     here, also in the anonymous namespace, with fixed block sizes;
//   - what is left of Eigen's helpers (packet loads, stores, fused multiply-adds: names
//     that carry the packet type, or always-inline accessors) is inlined.
//   - only raw pointers and sizes cross into these objects, never an Eigen object: Eigen's
//     alignment (EIGEN_MAX_ALIGN_BYTES: 64 with AVX-512, 16 in the baseline build) and so
//     its objects' layout differ between them and the rest of the library.
// The test gemm_objects_are_self_contained (tests/gemm_objects.cmake) reads the objects'
// symbols: each defines its table of entry points (`kernels`, constant-initialised) and
// no other global or weak symbol and no static initialiser, so a compiler or Eigen
// version that emitted a shared copy would fail the build's tests.

#include "gemm_kernels.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cstddef>
#include <new>

namespace ratesim::detail {
namespace {

namespace ei = Eigen::internal;

template <class T, int Order>
struct input_mapper : ei::const_blas_data_mapper<T, long, Order> {
  using ei::const_blas_data_mapper<T, long, Order>::const_blas_data_mapper;
};

template <class T>
struct output_mapper : ei::blas_data_mapper<T, long, Eigen::ColMajor, Eigen::Unaligned, 1> {
  using ei::blas_data_mapper<T, long, Eigen::ColMajor, Eigen::Unaligned, 1>::blas_data_mapper;
};

// Packed panels, aligned for the widest packet's aligned loads.
template <class T>
class panel {
 public:
  explicit panel(std::size_t n)
      : data_(static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64}))) {}
  ~panel() { ::operator delete(data_, std::align_val_t{64}); }
  panel(const panel&) = delete;
  panel& operator=(const panel&) = delete;
  T* data() const { return data_; }

 private:
  T* data_;
};

// Goto's blocking, sized as Eigen's heuristic would for a 48 KB L1 and a 1 MB L2 (on the
// shared AVX-512 EPYC these measured at least as fast as kc = 256, mc = 240, nc = 2048;
// not tuned further): a micro-panel of A (mr × kc) and one of B (kc × nr) in L1, a
// kc × nc block of B in L2, mc rows of A (every row EM has, C <= 960) packed once per kc
// slice. Fixed sizes, so the order of the sums over k (slices of kc) is the same on every
// machine.
constexpr long kc = 224, mc = 960, nc = 448;

template <class T, int B_order>
void gemm(long m, long n, long k, const T* a, long lda, const T* b, long ldb, T* c, long ldc) {
  using traits = ei::gebp_traits<T, T>;
  using A_mapper = input_mapper<T, Eigen::ColMajor>;
  using B_mapper = input_mapper<T, B_order>;
  ei::gemm_pack_lhs<T, long, A_mapper, traits::mr, traits::LhsProgress,
                    typename traits::LhsPacket4Packing, Eigen::ColMajor>
      pack_a;
  ei::gemm_pack_rhs<T, long, B_mapper, traits::nr, B_order> pack_b;
  ei::gebp_kernel<T, T, long, output_mapper<T>, traits::mr, traits::nr, false, false> kernel;
  const long kb = std::min(k, kc), mb = std::min(m, mc), nb = std::min(n, nc);
  panel<T> packed_a(static_cast<std::size_t>(kb * mb)), packed_b(static_cast<std::size_t>(kb * nb));
  // B(k0, j0) for either layout of B.
  auto b_at = [&](long k0, long j0) {
    return B_order == Eigen::ColMajor ? b + k0 + j0 * ldb : b + j0 + k0 * ldb;
  };
  for (long j0 = 0; j0 < n; j0 += nc) {
    const long nj = std::min(nc, n - j0);
    for (long k0 = 0; k0 < k; k0 += kc) {
      const long kk = std::min(kc, k - k0);
      pack_b(packed_b.data(), B_mapper(b_at(k0, j0), ldb), kk, nj);
      for (long i0 = 0; i0 < m; i0 += mc) {
        const long mi = std::min(mc, m - i0);
        pack_a(packed_a.data(), A_mapper(a + i0 + k0 * lda, lda), kk, mi);
        kernel(output_mapper<T>(c + i0 + j0 * ldc, ldc), packed_a.data(), packed_b.data(), mi, kk,
               nj, T(1));
      }
    }
  }
}

template <class T>
void gemm_entry(bool b_transposed, long m, long n, long k, const T* a, long lda, const T* b,
                long ldb, bool accumulate, T* c, long ldc) {
  if (!accumulate)
    for (long j = 0; j < n; ++j)
      for (long i = 0; i < m; ++i) c[i + j * ldc] = T(0);
  if (m == 0 || n == 0 || k == 0) return;
  if (b_transposed)
    gemm<T, Eigen::RowMajor>(m, n, k, a, lda, b, ldb, c, ldc);
  else
    gemm<T, Eigen::ColMajor>(m, n, k, a, lda, b, ldb, c, ldc);
}

}  // namespace
}  // namespace ratesim::detail
