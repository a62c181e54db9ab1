#pragma once
// The exponential and log-factorial ratesim's random distributions use (ratesim/random.hpp):
// +, −, ×, ÷, floor and ldexp only (and log_floored's scalar logarithm), so their bits do not
// depend on the libm they run with.

namespace ratesim::detail {

// e^x for x <= 0 (0 below −745.2): within 2 ulp of exp.
double exp_nonpositive(double x);

// ln k! = ln Γ(k + 1) for whole k >= 0: within 1e-15 relative (k >= 2) of lgamma.
double log_factorial(double k);

}  // namespace ratesim::detail
