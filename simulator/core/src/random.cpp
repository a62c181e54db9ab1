#include <ratesim/error.hpp>
#include <ratesim/random.hpp>

#include "detail/random_math.hpp"
#include "detail/vector_log.hpp"

#include <array>
#include <cmath>

namespace ratesim {
namespace detail {
namespace {

// ln x for the normal doubles these distributions take (all > 2^-106).
double log_of(double x) {
  return log_floored(x, 0x1p-1022);
}

}  // namespace

double exp_nonpositive(double x) {
  // x = n ln 2 + r with |r| <= ln 2 / 2; ln 2 split so that n · ln2_hi is exact (|n| <= 1076).
  constexpr double inv_ln2 = 0x1.71547652b82fep+0;
  constexpr double ln2_hi = 0x1.62e42fee00000p-1, ln2_lo = 0x1.a39ef35793c76p-33;
  // e^r by its Taylor series to r^13 / 13!: the next term is below 2^-60 for |r| <= 0.35.
  // (1 / k!, rounded once at compile time.)
  constexpr auto coefficient = [] {
    std::array<double, 14> c{};
    double factorial = 1.0;
    for (int k = 0; k < 14; ++k) c[k] = 1.0 / (factorial *= (k > 0 ? k : 1));
    return c;
  }();
  if (std::isnan(x)) return x;
  if (!(x >= -745.2)) return 0.0;
  const double n = std::floor(x * inv_ln2 + 0.5);
  const double r = (x - n * ln2_hi) - n * ln2_lo;
  double p = coefficient[13];
  for (int k = 12; k >= 0; --k) p = p * r + coefficient[k];
  return std::ldexp(p, static_cast<int>(n));  // exact scaling by 2^n (IEEE scaleB)
}

double log_factorial(double k) {
  // Stirling's series of ln Γ(x) at x0 = x + m >= 7 with ten terms (the next is below
  // 3e-17 there), then ln Γ(x) = ln Γ(x0) − Σ ln(x0 − i): numpy's loggam, on our log.
  // Coefficients B_2j / (2j (2j − 1)).
  constexpr double b[10] = {1.0 / 12,         -1.0 / 360,        1.0 / 1260, -1.0 / 1680,
                            1.0 / 1188,       -691.0 / 360360,   1.0 / 156,  -3617.0 / 122400,
                            43867.0 / 244188, -174611.0 / 125400};
  constexpr double half_ln_2pi = 0.91893853320467274178;
  const double x = k + 1.0;
  if (x <= 2.0) return 0.0;
  double x0 = x < 7.0 ? 7.0 : x;
  const double inv_x2 = (1.0 / x0) * (1.0 / x0);
  double series = b[9];
  for (int j = 8; j >= 0; --j) series = series * inv_x2 + b[j];
  double result = series / x0 + half_ln_2pi + (x0 - 0.5) * log_of(x0) - x0;
  while (x0 > x) {
    x0 -= 1.0;
    result -= log_of(x0);
  }
  return result;
}

}  // namespace detail

double normal(random_stream& r) {
  for (;;) {
    const double x = 2.0 * uniform(r) - 1.0, y = 2.0 * uniform(r) - 1.0;  // both exact
    const double s = x * x + y * y;
    if (s < 1.0 && s > 0.0) return x * std::sqrt(-2.0 * detail::log_of(s) / s);
  }
}

namespace {

// Inversion: the smallest k with u < F(k), F summed term by term from p(0) = e^-mean.
// Stops where F stops growing (the tail left is below its rounding).
std::uint64_t poisson_inversion(random_stream& r, double mean) {
  const double u = uniform(r);
  double p = detail::exp_nonpositive(-mean), F = p;
  std::uint64_t k = 0;
  while (u >= F) {
    ++k;
    p *= mean / static_cast<double>(k);
    const double next = F + p;
    if (next == F) break;
    F = next;
  }
  return k;
}

// PTRS (Hörmann 1993, as numpy's random_poisson_ptrs): a transformed-rejection hat with a
// squeeze that accepts about 90% of the candidates at once, and the exact test
// ln V + ln(1/α) − ln(a/us² + b) <= −mean + k ln(mean) − ln k! for the rest.
std::uint64_t poisson_ptrs(random_stream& r, double mean) {
  const double slam = std::sqrt(mean), loglam = detail::log_of(mean);
  const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
  const double log_inv_alpha = detail::log_of(1.1239 + 1.1328 / (b - 3.4));
  const double vr = 0.9277 - 3.6224 / (b - 2.0);
  for (;;) {
    const double U = uniform(r) - 0.5, V = uniform(r);
    const double us = 0.5 - std::abs(U);
    const double k = std::floor((2.0 * a / us + b) * U + mean + 0.43);  // −inf when us = 0
    if (us >= 0.07 && V <= vr) return static_cast<std::uint64_t>(k);
    if (k < 0.0 || (us < 0.013 && V > us)) continue;
    if (V == 0.0 || detail::log_of(V) + log_inv_alpha - detail::log_of(a / (us * us) + b) <=
                        -mean + k * loglam - detail::log_factorial(k))
      return static_cast<std::uint64_t>(k);
  }
}

}  // namespace

std::uint64_t poisson(random_stream& r, double mean) {
  if (!(mean >= 0.0 && mean <= 0x1p52))
    throw_parameter_error("poisson", "mean", "in [0, 2^52]", mean);
  return mean < 10.0 ? poisson_inversion(r, mean) : poisson_ptrs(r, mean);
}

}  // namespace ratesim
