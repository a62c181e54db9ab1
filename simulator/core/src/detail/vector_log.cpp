#include "vector_log.hpp"

#include "cpu.hpp"

#include <ratesim/parallel.hpp>

#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string_view>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ratesim::detail {
namespace {

// For normal x > 0: x = 2^e · m with m in [√½, √2), f = m − 1 (exact), s = f / (2 + f),
// ln(1 + f) = 2 atanh(s) = f − (f²/2 − s (f²/2 + R)) with R = Σ_k a_k s^2k, a_k = 2/(2k+1);
// ten terms reach below 1e-18 for |s| <= 0.1716. ln 2 is split so that e · ln2_hi is exact.
// The sum is taken by Estrin's scheme (pairs of terms, then z², z⁴, z⁸): its dependency
// chains are half as long as Horner's, which keeps more of the vector units busy.
constexpr double ln2_hi = 0x1.62e42fee00000p-1;
constexpr double ln2_lo = 0x1.a39ef35793c76p-33;
constexpr double sqrt2 = 0x1.6a09e667f3bcdp+0;
constexpr double a[10] = {2.0 / 3,  2.0 / 5,  2.0 / 7,  2.0 / 9,  2.0 / 11,
                          2.0 / 13, 2.0 / 15, 2.0 / 17, 2.0 / 19, 2.0 / 21};
constexpr std::uint64_t mantissa_bits = 0x000FFFFFFFFFFFFFULL;
constexpr std::uint64_t one_bits = 0x3FF0000000000000ULL;   // 1.0
constexpr std::uint64_t two52_bits = 0x4330000000000000ULL;  // 2^52: int → double trick
constexpr double two52_plus_bias = 0x1p52 + 1023.0;

// The reference: every vector lane computes exactly this.
double log_one(double x, double floor) {
  x = std::isnan(x) ? x : (x < floor ? floor : x);
  if (!(x <= 0x1.fffffffffffffp+1023)) return std::log(x);  // NaN, +inf
  const auto bits = std::bit_cast<std::uint64_t>(x);
  double e = std::bit_cast<double>((bits >> 52) | two52_bits) - two52_plus_bias;
  double m = std::bit_cast<double>((bits & mantissa_bits) | one_bits);
  if (m > sqrt2) {
    m = m * 0.5;
    e = e + 1.0;
  }
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
  const double p01 = a[0] + a[1] * z, p23 = a[2] + a[3] * z, p45 = a[4] + a[5] * z,
               p67 = a[6] + a[7] * z, p89 = a[8] + a[9] * z;
  const double p03 = p01 + p23 * z2, p47 = p45 + p67 * z2;
  const double R = z * ((p03 + p47 * z4) + p89 * z8);
  const double hfsq = 0.5 * f * f;
  return e * ln2_hi - ((hfsq - (s * (hfsq + R) + e * ln2_lo)) - f);
}

void log_scalar(const double* in, double* out, std::size_t n, double floor) {
  for (std::size_t i = 0; i < n; ++i) out[i] = log_one(in[i], floor);
}

#if defined(__x86_64__)

// SSE2 (every x86-64): two lanes.
void log_sse2(const double* in, double* out, std::size_t n, double floor) {
  const __m128d lo = _mm_set1_pd(floor), top = _mm_set1_pd(0x1.fffffffffffffp+1023);
  const __m128i mant = _mm_set1_epi64x(static_cast<long long>(mantissa_bits));
  const __m128i one = _mm_set1_epi64x(static_cast<long long>(one_bits));
  const __m128i two52 = _mm_set1_epi64x(static_cast<long long>(two52_bits));
  std::size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    __m128d x = _mm_max_pd(lo, _mm_loadu_pd(in + i));  // a NaN in `in` stays
    if (_mm_movemask_pd(_mm_cmple_pd(x, top)) != 3) {  // NaN or +inf: the reference
      out[i] = log_one(in[i], floor), out[i + 1] = log_one(in[i + 1], floor);
      continue;
    }
    const __m128i bits = _mm_castpd_si128(x);
    __m128d e = _mm_sub_pd(_mm_castsi128_pd(_mm_or_si128(_mm_srli_epi64(bits, 52), two52)),
                           _mm_set1_pd(two52_plus_bias));
    __m128d m = _mm_castsi128_pd(_mm_or_si128(_mm_and_si128(bits, mant), one));
    const __m128d big = _mm_cmpgt_pd(m, _mm_set1_pd(sqrt2));
    m = _mm_or_pd(_mm_and_pd(big, _mm_mul_pd(m, _mm_set1_pd(0.5))), _mm_andnot_pd(big, m));
    e = _mm_or_pd(_mm_and_pd(big, _mm_add_pd(e, _mm_set1_pd(1.0))), _mm_andnot_pd(big, e));
    const __m128d f = _mm_sub_pd(m, _mm_set1_pd(1.0));
    const __m128d s = _mm_div_pd(f, _mm_add_pd(_mm_set1_pd(2.0), f));
    const __m128d z = _mm_mul_pd(s, s);
    const __m128d z2 = _mm_mul_pd(z, z), z4 = _mm_mul_pd(z2, z2), z8 = _mm_mul_pd(z4, z4);
    __m128d pair[5];
    for (int k = 0; k < 5; ++k)
      pair[k] = _mm_add_pd(_mm_set1_pd(a[2 * k]), _mm_mul_pd(_mm_set1_pd(a[2 * k + 1]), z));
    const __m128d p03 = _mm_add_pd(pair[0], _mm_mul_pd(pair[1], z2));
    const __m128d p47 = _mm_add_pd(pair[2], _mm_mul_pd(pair[3], z2));
    const __m128d R = _mm_mul_pd(
        z, _mm_add_pd(_mm_add_pd(p03, _mm_mul_pd(p47, z4)), _mm_mul_pd(pair[4], z8)));
    const __m128d hfsq = _mm_mul_pd(_mm_mul_pd(_mm_set1_pd(0.5), f), f);
    const __m128d inner = _mm_add_pd(_mm_mul_pd(s, _mm_add_pd(hfsq, R)),
                                     _mm_mul_pd(e, _mm_set1_pd(ln2_lo)));
    _mm_storeu_pd(out + i, _mm_sub_pd(_mm_mul_pd(e, _mm_set1_pd(ln2_hi)),
                                      _mm_sub_pd(_mm_sub_pd(hfsq, inner), f)));
  }
  for (; i < n; ++i) out[i] = log_one(in[i], floor);
}

// AVX2: four lanes, the same operations (no FMA: it would change the bits).
__attribute__((target("avx2"))) void log_avx2(const double* in, double* out, std::size_t n,
                                              double floor) {
  const __m256d lo = _mm256_set1_pd(floor), top = _mm256_set1_pd(0x1.fffffffffffffp+1023);
  const __m256i mant = _mm256_set1_epi64x(static_cast<long long>(mantissa_bits));
  const __m256i one = _mm256_set1_epi64x(static_cast<long long>(one_bits));
  const __m256i two52 = _mm256_set1_epi64x(static_cast<long long>(two52_bits));
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256d x = _mm256_max_pd(lo, _mm256_loadu_pd(in + i));
    if (_mm256_movemask_pd(_mm256_cmp_pd(x, top, _CMP_LE_OQ)) != 15) {
      for (std::size_t j = i; j < i + 4; ++j) out[j] = log_one(in[j], floor);
      continue;
    }
    const __m256i bits = _mm256_castpd_si256(x);
    __m256d e = _mm256_sub_pd(
        _mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(bits, 52), two52)),
        _mm256_set1_pd(two52_plus_bias));
    __m256d m = _mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(bits, mant), one));
    const __m256d big = _mm256_cmp_pd(m, _mm256_set1_pd(sqrt2), _CMP_GT_OQ);
    m = _mm256_blendv_pd(m, _mm256_mul_pd(m, _mm256_set1_pd(0.5)), big);
    e = _mm256_blendv_pd(e, _mm256_add_pd(e, _mm256_set1_pd(1.0)), big);
    const __m256d f = _mm256_sub_pd(m, _mm256_set1_pd(1.0));
    const __m256d s = _mm256_div_pd(f, _mm256_add_pd(_mm256_set1_pd(2.0), f));
    const __m256d z = _mm256_mul_pd(s, s);
    const __m256d z2 = _mm256_mul_pd(z, z), z4 = _mm256_mul_pd(z2, z2),
                  z8 = _mm256_mul_pd(z4, z4);
    __m256d pair[5];
    for (int k = 0; k < 5; ++k)
      pair[k] = _mm256_add_pd(_mm256_set1_pd(a[2 * k]),
                              _mm256_mul_pd(_mm256_set1_pd(a[2 * k + 1]), z));
    const __m256d p03 = _mm256_add_pd(pair[0], _mm256_mul_pd(pair[1], z2));
    const __m256d p47 = _mm256_add_pd(pair[2], _mm256_mul_pd(pair[3], z2));
    const __m256d R = _mm256_mul_pd(
        z, _mm256_add_pd(_mm256_add_pd(p03, _mm256_mul_pd(p47, z4)), _mm256_mul_pd(pair[4], z8)));
    const __m256d hfsq = _mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(0.5), f), f);
    const __m256d inner = _mm256_add_pd(_mm256_mul_pd(s, _mm256_add_pd(hfsq, R)),
                                        _mm256_mul_pd(e, _mm256_set1_pd(ln2_lo)));
    _mm256_storeu_pd(out + i, _mm256_sub_pd(_mm256_mul_pd(e, _mm256_set1_pd(ln2_hi)),
                                            _mm256_sub_pd(_mm256_sub_pd(hfsq, inner), f)));
  }
  for (; i < n; ++i) out[i] = log_one(in[i], floor);
}

// AVX-512F: eight lanes, the same operations (no FMA), the choice between m and m/2 by
// a mask instead of a blend. (GCC 12 warns about its own headers' _mm512_undefined_pd,
// GCC bug 105593.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f"))) void log_avx512(const double* in, double* out,
                                                  std::size_t n, double floor) {
  const __m512d lo = _mm512_set1_pd(floor), top = _mm512_set1_pd(0x1.fffffffffffffp+1023);
  const __m512i mant = _mm512_set1_epi64(static_cast<long long>(mantissa_bits));
  const __m512i one = _mm512_set1_epi64(static_cast<long long>(one_bits));
  const __m512i two52 = _mm512_set1_epi64(static_cast<long long>(two52_bits));
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m512d x = _mm512_max_pd(lo, _mm512_loadu_pd(in + i));  // a NaN in `in` stays
    if (_mm512_cmp_pd_mask(x, top, _CMP_LE_OQ) != 0xFF) {  // NaN or +inf: the reference
      for (std::size_t j = i; j < i + 8; ++j) out[j] = log_one(in[j], floor);
      continue;
    }
    const __m512i bits = _mm512_castpd_si512(x);
    __m512d e = _mm512_sub_pd(
        _mm512_castsi512_pd(_mm512_or_si512(_mm512_srli_epi64(bits, 52), two52)),
        _mm512_set1_pd(two52_plus_bias));
    __m512d m = _mm512_castsi512_pd(_mm512_or_si512(_mm512_and_si512(bits, mant), one));
    const __mmask8 big = _mm512_cmp_pd_mask(m, _mm512_set1_pd(sqrt2), _CMP_GT_OQ);
    m = _mm512_mask_mul_pd(m, big, m, _mm512_set1_pd(0.5));
    e = _mm512_mask_add_pd(e, big, e, _mm512_set1_pd(1.0));
    const __m512d f = _mm512_sub_pd(m, _mm512_set1_pd(1.0));
    const __m512d s = _mm512_div_pd(f, _mm512_add_pd(_mm512_set1_pd(2.0), f));
    const __m512d z = _mm512_mul_pd(s, s);
    const __m512d z2 = _mm512_mul_pd(z, z), z4 = _mm512_mul_pd(z2, z2),
                  z8 = _mm512_mul_pd(z4, z4);
    __m512d pair[5];
    for (int k = 0; k < 5; ++k)
      pair[k] = _mm512_add_pd(_mm512_set1_pd(a[2 * k]),
                              _mm512_mul_pd(_mm512_set1_pd(a[2 * k + 1]), z));
    const __m512d p03 = _mm512_add_pd(pair[0], _mm512_mul_pd(pair[1], z2));
    const __m512d p47 = _mm512_add_pd(pair[2], _mm512_mul_pd(pair[3], z2));
    const __m512d R = _mm512_mul_pd(
        z, _mm512_add_pd(_mm512_add_pd(p03, _mm512_mul_pd(p47, z4)), _mm512_mul_pd(pair[4], z8)));
    const __m512d hfsq = _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(0.5), f), f);
    const __m512d inner = _mm512_add_pd(_mm512_mul_pd(s, _mm512_add_pd(hfsq, R)),
                                        _mm512_mul_pd(e, _mm512_set1_pd(ln2_lo)));
    _mm512_storeu_pd(out + i, _mm512_sub_pd(_mm512_mul_pd(e, _mm512_set1_pd(ln2_hi)),
                                            _mm512_sub_pd(_mm512_sub_pd(hfsq, inner), f)));
  }
  for (; i < n; ++i) out[i] = log_one(in[i], floor);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif

using kernel = void (*)(const double*, double*, std::size_t, double);

// ---- One step of a logarithm cache that follows its weights (log_step) ----------------
//
// ln(w'/w) = 2 atanh(z), z = (w' − w)/(w' + w) = 2 z (1 + z²/3 + … + z¹²/13); w' − w is
// exact where the series serves (w'/w within (15/17, 17/15), Sterbenz), and the next term,
// 2 z¹⁵/15, is below 1.1e-19 for |z| <= 1/16. Lanes outside that (and weights below the
// floor, where the cache holds ln floor) take the logarithm itself. The step applies the
// weights' update with the plain update's arithmetic, w + factor · dw.
constexpr double step_z_max = 1.0 / 16;
// Where z² <= 2^-54 the series' sum p (Horner's scheme below) is exactly 1: each term
// added, c_k t with c_k <= 1/3, is below half an ulp of the partial sum it joins (at most
// 2^-54/3 against 2^-57 … 2^-53), so it rounds away. Vectors whose every lane is there skip
// the series (ln w' = ln w + 2z), with the same bits (tests/test_numerics.cpp,
// LogStep.TheSeriesIsExactlyOneForTinySteps).
constexpr double step_t_tiny = 0x1p-54;
constexpr double inverse_odd[7] = {1.0,      1.0 / 3,  1.0 / 5, 1.0 / 7,
                                   1.0 / 9,  1.0 / 11, 1.0 / 13};
constexpr double largest = 0x1.fffffffffffffp+1023;

// The reference: one weight, the operations every lane of every width does.
struct step_lane {
  double next, log;
  bool exact, usable;  // the lane takes the logarithm; the new weight is finite and > 0
};
inline step_lane step_one(double w, double dwdt, double factor, double log_w, double floor) {
  const double next = w + factor * dwdt;
  const double z = (next - w) / (next + w);
  const double t = z * z;
  double p = inverse_odd[6];
  for (int k = 5; k >= 0; --k) p = p * t + inverse_odd[k];
  const double log = log_w + (z + z) * p;
  const bool series = z <= step_z_max && z >= -step_z_max && w >= floor && next >= floor;
  return {next, log, !series, next > 0.0 && next <= largest};
}

// One segment of n weights: dW/dt = dw[i], or, where q is given, (y − w[i]) · q[i] (the
// scaling form, the arithmetic of synaptic_scaling_rule::derivative).
bool log_step_scalar(double* w, const double* dw, const double* q, double y, double factor,
                     double* log_w, std::size_t n, double floor) {
  bool usable = true;
  for (std::size_t i = 0; i < n; ++i) {
    const double dwdt = q != nullptr ? (y - w[i]) * q[i] : dw[i];
    const step_lane s = step_one(w[i], dwdt, factor, log_w[i], floor);
    w[i] = s.next;
    log_w[i] = s.exact ? log_one(s.next, floor) : s.log;
    usable = usable && s.usable;
  }
  return usable;
}

// The vector form of step_one over the lanes of one SIMD width: `V` gives the width's
// element-wise operations (the same roundings as the scalar ones) and its masks; the lanes
// the series does not serve take `Log` (the same width's logarithm) for the vector, and
// the last n mod width weights `Tail`, the next narrower width's kernel (the same bits;
// with C = 100 rows a column's last 4 took a tenth of the step's time in scalar code;
// every CPU with AVX-512F has AVX2). It is
// the body of one function per instruction set, below: a macro, since compilers refuse a
// template that passes one instruction set's vectors around outside a function compiled
// for it (clang: "AVX vector return without 'avx' enabled changes the ABI").
#define RATESIM_LOG_STEP_VECTORS(V, Log, Tail)                                              \
  {                                                                                         \
    using d = V::d;                                                                         \
    using m = V::m;                                                                         \
    const d f = V::set(factor), lo = V::set(floor), z_max = V::set(step_z_max),             \
            z_min = V::set(-step_z_max), zero = V::set(0.0), top = V::set(largest),         \
            tiny = V::set(step_t_tiny);                                                     \
    m usable = V::eq(zero, zero);                                                           \
    std::size_t i = 0;                                                                      \
    for (; i + V::width <= n; i += V::width) {                                              \
      const d old = V::load(w + i);                                                         \
      const d dwdt = q != nullptr ? V::mul(V::sub(V::set(y), old), V::load(q + i))         \
                                  : V::load(dw + i);                                        \
      const d next = V::add(old, V::mul(f, dwdt));                                          \
      const d z = V::div(V::sub(next, old), V::add(next, old));                             \
      const d t = V::mul(z, z);                                                             \
      d log;                                                                                \
      if (V::all(V::le(t, tiny))) { /* the series' sum is exactly 1 */                     \
        log = V::add(V::load(log_w + i), V::add(z, z));                                     \
      } else {                                                                              \
        d p = V::add(V::mul(V::set(inverse_odd[6]), t), V::set(inverse_odd[5]));            \
        for (int k = 4; k >= 0; --k) p = V::add(V::mul(p, t), V::set(inverse_odd[k]));      \
        log = V::add(V::load(log_w + i), V::mul(V::add(z, z), p));                          \
      }                                                                                     \
      const m series = V::both(V::both(V::le(z, z_max), V::le(z_min, z)),                   \
                               V::both(V::le(lo, old), V::le(lo, next)));                   \
      usable = V::both(usable, V::both(V::lt(zero, next), V::le(next, top)));               \
      V::store(w + i, next);                                                                \
      if (!V::all(series)) { /* a lane the series does not serve */                         \
        alignas(64) double exact[V::width];                                                 \
        Log(w + i, exact, V::width, floor);                                                 \
        log = V::select(series, log, V::load(exact));                                       \
      }                                                                                     \
      V::store(log_w + i, log);                                                             \
    }                                                                                       \
    const bool tail = i == n || Tail(w + i, q != nullptr ? nullptr : dw + i,               \
                                     q != nullptr ? q + i : nullptr, y, factor, log_w + i, \
                                     n - i, floor);                                        \
    return V::all(usable) && tail;                                                          \
  }

#if defined(__x86_64__)
struct sse2_ops {
  using d = __m128d;
  using m = __m128d;
  static constexpr std::size_t width = 2;
  static d set(double x) { return _mm_set1_pd(x); }
  static d load(const double* p) { return _mm_loadu_pd(p); }
  static void store(double* p, d x) { _mm_storeu_pd(p, x); }
  static d add(d a, d b) { return _mm_add_pd(a, b); }
  static d sub(d a, d b) { return _mm_sub_pd(a, b); }
  static d mul(d a, d b) { return _mm_mul_pd(a, b); }
  static d div(d a, d b) { return _mm_div_pd(a, b); }
  static m eq(d a, d b) { return _mm_cmpeq_pd(a, b); }
  static m le(d a, d b) { return _mm_cmple_pd(a, b); }
  static m lt(d a, d b) { return _mm_cmplt_pd(a, b); }
  static m both(m a, m b) { return _mm_and_pd(a, b); }
  static bool all(m a) { return _mm_movemask_pd(a) == 3; }
  static d select(m k, d a, d b) { return _mm_or_pd(_mm_and_pd(k, a), _mm_andnot_pd(k, b)); }
};

struct avx2_ops {
  using d = __m256d;
  using m = __m256d;
  static constexpr std::size_t width = 4;
  [[gnu::target("avx2")]] static d set(double x) { return _mm256_set1_pd(x); }
  [[gnu::target("avx2")]] static d load(const double* p) { return _mm256_loadu_pd(p); }
  [[gnu::target("avx2")]] static void store(double* p, d x) { _mm256_storeu_pd(p, x); }
  [[gnu::target("avx2")]] static d add(d a, d b) { return _mm256_add_pd(a, b); }
  [[gnu::target("avx2")]] static d sub(d a, d b) { return _mm256_sub_pd(a, b); }
  [[gnu::target("avx2")]] static d mul(d a, d b) { return _mm256_mul_pd(a, b); }
  [[gnu::target("avx2")]] static d div(d a, d b) { return _mm256_div_pd(a, b); }
  [[gnu::target("avx2")]] static m eq(d a, d b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
  [[gnu::target("avx2")]] static m le(d a, d b) { return _mm256_cmp_pd(a, b, _CMP_LE_OQ); }
  [[gnu::target("avx2")]] static m lt(d a, d b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
  [[gnu::target("avx2")]] static m both(m a, m b) { return _mm256_and_pd(a, b); }
  [[gnu::target("avx2")]] static bool all(m a) { return _mm256_movemask_pd(a) == 15; }
  [[gnu::target("avx2")]] static d select(m k, d a, d b) { return _mm256_blendv_pd(b, a, k); }
};

struct avx512_ops {
  using d = __m512d;
  using m = __mmask8;
  static constexpr std::size_t width = 8;
  [[gnu::target("avx512f")]] static d set(double x) { return _mm512_set1_pd(x); }
  [[gnu::target("avx512f")]] static d load(const double* p) { return _mm512_loadu_pd(p); }
  [[gnu::target("avx512f")]] static void store(double* p, d x) { _mm512_storeu_pd(p, x); }
  [[gnu::target("avx512f")]] static d add(d a, d b) { return _mm512_add_pd(a, b); }
  [[gnu::target("avx512f")]] static d sub(d a, d b) { return _mm512_sub_pd(a, b); }
  [[gnu::target("avx512f")]] static d mul(d a, d b) { return _mm512_mul_pd(a, b); }
  [[gnu::target("avx512f")]] static d div(d a, d b) { return _mm512_div_pd(a, b); }
  [[gnu::target("avx512f")]] static m eq(d a, d b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
  [[gnu::target("avx512f")]] static m le(d a, d b) { return _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ); }
  [[gnu::target("avx512f")]] static m lt(d a, d b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
  [[gnu::target("avx512f")]] static m both(m a, m b) { return static_cast<m>(a & b); }
  [[gnu::target("avx512f")]] static bool all(m a) { return a == 0xFF; }
  [[gnu::target("avx512f")]] static d select(m k, d a, d b) { return _mm512_mask_blend_pd(k, b, a); }
};
#endif

#if defined(__x86_64__)
bool log_step_sse2(double* w, const double* dw, const double* q, double y, double factor,
                   double* log_w, std::size_t n, double floor)
    RATESIM_LOG_STEP_VECTORS(sse2_ops, log_sse2, log_step_scalar)
__attribute__((target("avx2"))) bool log_step_avx2(double* w, const double* dw, const double* q,
                                                   double y, double factor, double* log_w,
                                                   std::size_t n, double floor)
    RATESIM_LOG_STEP_VECTORS(avx2_ops, log_avx2, log_step_sse2)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f"))) bool log_step_avx512(double* w, const double* dw,
                                                       const double* q, double y,
                                                       double factor, double* log_w,
                                                       std::size_t n, double floor)
    RATESIM_LOG_STEP_VECTORS(avx512_ops, log_avx512, log_step_avx2)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif
#undef RATESIM_LOG_STEP_VECTORS

using step_kernel = bool (*)(double*, const double*, const double*, double, double, double*,
                             std::size_t, double);

struct implementation {
  const char* name;
  kernel run;
  step_kernel step;
  bool available;
};

// Every implementation, the widest last; all give the same bits.
std::array<implementation, 4> implementations() {
#if defined(__x86_64__)
  return {{{"scalar", log_scalar, log_step_scalar, true},
           {"sse2", log_sse2, log_step_sse2, true},
           {"avx2", log_avx2, log_step_avx2, cpu().avx2},
           {"avx512", log_avx512, log_step_avx512, cpu().avx512f}}};
#else
  return {{{"scalar", log_scalar, log_step_scalar, true},
           {"sse2", nullptr, nullptr, false},
           {"avx2", nullptr, nullptr, false},
           {"avx512", nullptr, nullptr, false}}};
#endif
}

// The widest this CPU has, unless RATESIM_LOG names one.
const implementation& chosen() {
  static const implementation c = [] {
    const auto all = implementations();
    std::array<kernel_option, all.size()> options;
    std::size_t widest = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
      options[i] = {all[i].name, all[i].available};
      if (all[i].available) widest = i;
    }
    return all[choose_kernel("RATESIM_LOG", options, widest)];
  }();
  return c;
}

}  // namespace

void log_floored(const double* in, double* out, std::size_t n, double floor) {
  const kernel run = chosen().run;
  ratesim::for_each_piece(n, 1, [&](std::size_t first, std::size_t count) {
    run(in + first, out + first, count, floor);
  });
}

double log_floored(double x, double floor) { return log_one(x, floor); }

namespace {

// The weights of columns [first, first + count) of a rows × columns matrix.
bool step_columns(step_kernel step, double* w, const weight_change& change, double* log_w,
                  std::size_t rows, std::size_t first, std::size_t count, double floor) {
  const std::size_t at = first * rows;
  if (change.q == nullptr)
    return step(w + at, change.dw + at, nullptr, 0.0, change.factor, log_w + at, count * rows,
                floor);
  bool usable = true;
  for (std::size_t d = first; d < first + count; ++d)
    usable = step(w + d * rows, nullptr, change.q, change.pre[d], change.factor,
                  log_w + d * rows, rows, floor) && usable;
  return usable;
}

}  // namespace

bool log_step(double* w, const weight_change& change, double* log_w, std::size_t rows,
              std::size_t columns, double floor) {
  const step_kernel step = chosen().step;
  std::atomic<bool> usable = true;
  ratesim::for_each_piece(columns, rows, [&](std::size_t first, std::size_t count) {
    if (!step_columns(step, w, change, log_w, rows, first, count, floor))
      usable.store(false, std::memory_order_relaxed);
  });
  return usable.load();
}

bool log_step_as(std::string_view isa, double* w, const weight_change& change, double* log_w,
                 std::size_t rows, std::size_t columns, double floor, bool& usable) {
  for (const implementation& i : implementations())
    if (i.name == isa && i.available)
      return usable = step_columns(i.step, w, change, log_w, rows, 0, columns, floor), true;
  return false;
}

const char* log_floored_isa() { return chosen().name; }

bool log_floored_as(std::string_view isa, const double* in, double* out, std::size_t n,
                    double floor) {
  for (const implementation& i : implementations())
    if (i.name == isa && i.available) return i.run(in, out, n, floor), true;
  return false;
}

}  // namespace ratesim::detail
