#pragma once
// The natural logarithm of many doubles at once, for the log-weight current (C·D of them
// per step). One algorithm, written once per SIMD width (scalar, SSE2, AVX2, AVX-512F; the
// widest the CPU and OS support is picked at run time, or the one the environment
// variable RATESIM_LOG names) with the same operations in the same order and no FMA, so
// every x86-64 machine gets the same bits: a checkpoint resumes bit for bit on any of
// them. Within 2 ulp of std::log.
// Long arrays are shared between OpenMP's threads (OMP_NUM_THREADS), with the same bits.

#include <cstddef>
#include <string_view>

namespace ratesim::detail {

// out[i] = ln(max(in[i], floor)) for i < n; `floor` must be a normal double > 0. A NaN
// stays NaN and +inf gives +inf. `in` and `out` may be the same array.
void log_floored(const double* in, double* out, std::size_t n, double floor);
// The same for one x: the scalar reference every version computes, so the same bits (what
// ratesim's random distributions use, ratesim/random.hpp).
double log_floored(double x, double floor);

// Which implementation log_floored uses here: "avx512", "avx2", "sse2" or "scalar". The
// first call chooses; it throws parameter_error if RATESIM_LOG names an unknown
// implementation or one this machine lacks.
const char* log_floored_isa();
// The same with a given implementation (to compare them); false if this machine lacks it.
bool log_floored_as(std::string_view isa, const double* in, double* out, std::size_t n,
                    double floor);

}  // namespace ratesim::detail
