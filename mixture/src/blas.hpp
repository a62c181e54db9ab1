#pragma once
// The matrix products of batch EM, on the kernel gemm.hpp chose for this CPU: OpenBLAS
// (Debian's build picks its kernels for the CPU at run time; called directly rather than
// through Eigen's BLAS switch, which would change Eigen's templates in one translation
// unit only), or Eigen's GEMM compiled for AVX2 or AVX-512 when OpenBLAS's core does not
// fit the CPU. Private to the library.

#include "gemm.hpp"

#include <ratesim/types.hpp>

#include <cblas.h>

#include <type_traits>

namespace ratesim::blas {

// OpenBLAS on one thread while it lives (EM runs its products on OpenMP's threads, each
// with data of its own), then as many as before.
class one_thread {
 public:
  one_thread() : before_(openblas_get_num_threads()) { openblas_set_num_threads(1); }
  ~one_thread() { openblas_set_num_threads(before_); }
  one_thread(const one_thread&) = delete;
  one_thread& operator=(const one_thread&) = delete;

 private:
  int before_;
};

// C = A · B, or C += A · Bᵀ with `accumulate_transposed` (column-major Eigen views of
// doubles or of floats).
template <class InA, class InB, class Out>
void product(const InA& A, const InB& B, Out&& C, bool accumulate_transposed = false) {
  using scalar = typename std::decay_t<Out>::Scalar;
  const auto& kernel = detail::gemm_kernel();
  const auto run = [&] {
    if constexpr (std::is_same_v<scalar, double>)
      return kernel.dgemm;
    else
      return kernel.sgemm;
  }();
  const auto n = accumulate_transposed ? B.rows() : B.cols();
  run(accumulate_transposed, A.rows(), n, A.cols(), A.data(), A.outerStride(), B.data(),
      B.outerStride(), accumulate_transposed, C.data(), C.outerStride());
}

}  // namespace ratesim::blas
