// The vectorised logarithm behind the log-weight current: within 2 ulp of std::log over
// the whole range of normal doubles, the floor and the special values handled, and the
// same bits from every implementation (scalar, SSE2, AVX2, AVX-512F), so results and
// checkpoints do not depend on the machine's instruction set; the environment variables
// that force a kernel.

#include "detail/cpu.hpp"
#include "detail/vector_log.hpp"

#include <ratesim/error.hpp>
#include <ratesim/random.hpp>

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

namespace ratesim {
namespace {

constexpr double floor_ = std::numeric_limits<double>::min();

// Inputs that probe the algorithm: log-uniform over all normal doubles, near 1, near √2
// and √½ (where the reduction switches), powers of two, and the extremes.
std::vector<double> probes() {
  random_stream rng(42, 0);
  auto exponent = [&] { return uniform(rng, -1021.0, 1023.0); };
  auto near = [&] { return uniform(rng, -1e-3, 1e-3); };
  std::vector<double> x;
  for (int i = 0; i < 200000; ++i) x.push_back(std::exp2(exponent()));
  for (int i = 0; i < 20000; ++i) x.push_back(1.0 + near());
  for (int i = 0; i < 2000; ++i) {
    x.push_back(std::sqrt(2.0) * (1.0 + near() * 1e-9));
    x.push_back(std::sqrt(0.5) * (1.0 + near() * 1e-9));
  }
  for (int e = -1022; e <= 1023; ++e) x.push_back(std::ldexp(1.0, e));
  x.push_back(std::numeric_limits<double>::max());
  x.push_back(1.0);
  return x;
}

std::int64_t ulps(double a, double b) {
  const auto ia = std::bit_cast<std::int64_t>(a), ib = std::bit_cast<std::int64_t>(b);
  return std::abs(ia - ib);
}

TEST(VectorLog, WithinTwoUlpOfStdLog) {
  const auto x = probes();
  std::vector<double> y(x.size());
  detail::log_floored(x.data(), y.data(), x.size(), floor_);
  std::int64_t worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double exact = std::log(x[i]);
    if (exact == 0.0) {
      EXPECT_EQ(y[i], 0.0);
      continue;
    }
    worst = std::max(worst, ulps(y[i], exact));
    ASSERT_LE(ulps(y[i], exact), 2) << "ln " << x[i] << " = " << exact << ", got " << y[i];
  }
  std::printf("worst error %lld ulp over %zu inputs (%s)\n", static_cast<long long>(worst),
              x.size(), detail::log_floored_isa());
}

TEST(VectorLog, FloorAndSpecialValues) {
  const double inf = std::numeric_limits<double>::infinity(),
               nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> x{0.0, -0.0, -3.0, 1e-320, -inf, inf, nan, 2.0, 0.5};
  std::vector<double> y(x.size());
  detail::log_floored(x.data(), y.data(), x.size(), floor_);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(y[i], std::log(floor_)) << "input " << x[i];
  EXPECT_EQ(y[5], inf);
  EXPECT_TRUE(std::isnan(y[6]));
  EXPECT_LE(ulps(y[7], std::log(2.0)), 1);
  EXPECT_LE(ulps(y[8], std::log(0.5)), 1);
  std::vector<double> same = x;  // in place
  detail::log_floored(same.data(), same.data(), same.size(), floor_);
  for (std::size_t i = 0; i < x.size(); ++i)
    EXPECT_TRUE(same[i] == y[i] || (std::isnan(same[i]) && std::isnan(y[i])));
}

std::vector<double> probes_and_special_values() {
  auto x = probes();
  x.push_back(std::numeric_limits<double>::infinity());  // a special value inside a vector
  x.push_back(0.25);
  x.push_back(0.0);
  return x;
}

// Each vector implementation against the scalar reference, bit for bit; skipped where the
// CPU (or its OS) lacks the instruction set.
class VectorLogPath : public testing::TestWithParam<const char*> {};

TEST_P(VectorLogPath, GivesTheSameBitsAsTheScalarReference) {
  const char* isa = GetParam();
  const auto x = probes_and_special_values();
  std::vector<double> reference(x.size()), other(x.size());
  ASSERT_TRUE(detail::log_floored_as("scalar", x.data(), reference.data(), x.size(), floor_));
  // Every offset, so that each input meets every lane position and the scalar tail.
  for (std::size_t offset = 0; offset < 8; ++offset) {
    if (!detail::log_floored_as(isa, x.data() + offset, other.data() + offset,
                                x.size() - offset, floor_))
      GTEST_SKIP() << isa << ": this CPU or its operating system does not support it";
    for (std::size_t i = offset; i < x.size(); ++i)
      ASSERT_EQ(std::bit_cast<std::uint64_t>(other[i]), std::bit_cast<std::uint64_t>(reference[i]))
          << isa << ": ln " << x[i] << " at offset " << offset;
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, VectorLogPath, testing::Values("sse2", "avx2", "avx512"),
                         [](const auto& info) { return std::string(info.param); });

// Run by ctest once per implementation with RATESIM_LOG set (VectorLogForced.*): the
// dispatcher takes the forced one, which gives the scalar reference's bits; one this
// machine lacks is an error naming the variable and the value.
TEST(VectorLog, UsesThePathTheEnvironmentForces) {
  const char* forced = std::getenv("RATESIM_LOG");
  if (forced == nullptr) GTEST_SKIP() << "RATESIM_LOG is not set";
  const auto x = probes_and_special_values();
  std::vector<double> reference(x.size()), y(x.size());
  if (!detail::log_floored_as(forced, x.data(), y.data(), 1, floor_)) {
    try {
      detail::log_floored_isa();
      FAIL() << "RATESIM_LOG=" << forced << " is not available here but was accepted";
    } catch (const parameter_error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("RATESIM_LOG=") + forced),
                std::string::npos) << e.what();
    }
    GTEST_SKIP() << forced << ": this CPU or its operating system does not support it";
  }
  EXPECT_STREQ(detail::log_floored_isa(), forced);
  ASSERT_TRUE(detail::log_floored_as("scalar", x.data(), reference.data(), x.size(), floor_));
  detail::log_floored(x.data(), y.data(), x.size(), floor_);
  for (std::size_t i = 0; i < x.size(); ++i)
    ASSERT_EQ(std::bit_cast<std::uint64_t>(y[i]), std::bit_cast<std::uint64_t>(reference[i]))
        << forced << ": ln " << x[i];
}

TEST(KernelChoice, TheEnvironmentPicksOrNamesTheMistake) {
  const detail::kernel_option options[] = {{"plain", true}, {"wide", false}, {"other", true}};
  const char* variable = "RATESIM_TEST_KERNEL";
  ::unsetenv(variable);
  EXPECT_EQ(detail::choose_kernel(variable, options, 2), 2u);  // unset: the automatic one
  ::setenv(variable, "plain", 1);
  EXPECT_EQ(detail::choose_kernel(variable, options, 2), 0u);
  auto message = [&](const char* value) {
    ::setenv(variable, value, 1);
    try {
      detail::choose_kernel(variable, options, 2);
    } catch (const parameter_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("wide"),
            "environment: RATESIM_TEST_KERNEL=wide is not available on this machine (its CPU, "
            "operating system or this build); available: plain, other");
  EXPECT_EQ(message("avx9"),
            "environment: RATESIM_TEST_KERNEL=avx9 is unknown; known: plain, wide, other");
  ::unsetenv(variable);
}

}  // namespace
}  // namespace ratesim
