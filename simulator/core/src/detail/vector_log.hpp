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

// A weight step W += factor · dW/dt, with dW/dt given whole (`dw`, one value per weight,
// column-major) or, where dw is null, in the scaling form (pre_d − W_cd) · q_c of synaptic
// scaling (`pre` one value per column, `q` one per row), which is then never formed.
struct weight_change {
  double factor = 1.0;
  const double* dw = nullptr;
  const double* pre = nullptr;
  const double* q = nullptr;
};

// One step of a cache of logarithms that follows its weights (the quasi-static regime's
// ln W between exact recomputations), for a column-major rows × columns matrix w: w +=
// factor · dW/dt (the plain update's bits, w + factor · dw, or w + factor · ((pre − w) q)),
// and log_w, ln max(w, floor) of the old weight up to the cache's drift, follows by
// ln(w'/w) = 2 atanh((w' − w)/(w' + w)), a series to the 13th power, where
// |(w' − w)/(w' + w)| <= 1/16 and both weights are >= floor (an error below 1e-19 besides
// the roundings, about 1 ulp of ln w per step); elsewhere log_w = log_floored(w') exactly.
// The same bits on every implementation and number of threads (shared by columns as
// for_each_piece cuts them). Returns whether every new weight is finite and > 0.
bool log_step(double* w, const weight_change& change, double* log_w, std::size_t rows,
              std::size_t columns, double floor);
// The same with a given implementation, on one thread; false if this machine lacks it,
// else `usable` is what log_step returns.
bool log_step_as(std::string_view isa, double* w, const weight_change& change, double* log_w,
                 std::size_t rows, std::size_t columns, double floor, bool& usable);

// Which implementation log_floored uses here: "avx512", "avx2", "sse2" or "scalar". The
// first call chooses; it throws parameter_error if RATESIM_LOG names an unknown
// implementation or one this machine lacks.
const char* log_floored_isa();
// The same with a given implementation (to compare them); false if this machine lacks it.
bool log_floored_as(std::string_view isa, const double* in, double* out, std::size_t n,
                    double floor);

}  // namespace ratesim::detail
