#pragma once
// The matrix-product kernels batch EM can run (mixture/src/gemm.cpp chooses one): the
// entry points of Eigen's GEMM compiled once per instruction set, each in a translation
// unit of its own (gemm_avx2.cpp, gemm_avx512.cpp, built with those flags). Private to
// the library.
//
// Every kernel computes C = A · op(B), or C += A · op(B) with `accumulate`, for
// column-major A (m × k, leading dimension lda), B (k × n, or n × k when `b_transposed`)
// and C (m × n); on one thread, with fixed block sizes, so its result depends only on
// its inputs (not on the thread that calls it, nor on the machine's cache sizes).

namespace ratesim::detail {

template <class T>
using gemm_function = void (*)(bool b_transposed, long m, long n, long k, const T* a, long lda,
                               const T* b, long ldb, bool accumulate, T* c, long ldc);

// One kernel's entry points, for doubles and floats.
struct gemm_entries {
  gemm_function<double> dgemm;
  gemm_function<float> sgemm;
};

// Defined only where the compiler targets x86-64; call only on a CPU that has the
// instruction sets (cpu().avx2 && cpu().fma, cpu().avx512f && cpu().fma).
namespace eigen_avx2 {
extern const gemm_entries kernels;
}
namespace eigen_avx512 {
extern const gemm_entries kernels;
}

}  // namespace ratesim::detail
