#pragma once
// Random numbers that reproduce. Every random draw in ratesim comes from Philox4x64-10
// (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC'11), a
// counter-based generator: the four 64-bit words at counter c under key k are a fixed
// function philox4x64(c, k), with no state besides its arguments. ratesim keys it by
// (seed, stream) and addresses a draw by (index, step, unit), so a draw depends only on what
// it is for: not on the thread that draws it, nor on what was drawn before. A sequence of
// draws (`random_stream`) is the counter's index counting up; its position is its whole
// state, which is what a checkpoint keeps.
//
// The distributions below are ratesim's own, built from +, −, ×, ÷, sqrt, floor and
// ratesim's own logarithm and exponential (no libm transcendental function, no fused
// multiply-add: the library is compiled with -ffp-contract=off), so a seed gives the same
// numbers with every C++ standard library, libm and x86-64 CPU. (std::mt19937's output is
// fixed by the standard, but std::uniform_*_distribution, std::normal_distribution,
// std::poisson_distribution and std::shuffle are not: libstdc++, libc++ and MSVC differ.)
// random_stream is deliberately not a std:: UniformRandomBitGenerator, so that it cannot be
// handed to those by mistake.

#include <array>
#include <cstdint>
#include <iterator>
#include <string_view>
#include <utility>

#if !defined(__SIZEOF_INT128__)
#error "ratesim/random.hpp needs unsigned __int128 (GCC or Clang on a 64-bit target)"
#endif

namespace ratesim {

using philox_counter = std::array<std::uint64_t, 4>;
using philox_key = std::array<std::uint64_t, 2>;

namespace detail {

__extension__ using uint128 = unsigned __int128;  // (__extension__: not ISO C++, GCC and Clang)

// The high and low words of the 128-bit product a · b.
constexpr std::pair<std::uint64_t, std::uint64_t> mulhilo(std::uint64_t a, std::uint64_t b) {
  const uint128 p = static_cast<uint128>(a) * b;
  return {static_cast<std::uint64_t>(p >> 64), static_cast<std::uint64_t>(p)};
}

}  // namespace detail

// Philox4x64 with 10 rounds: Random123's philox4x64 (its multipliers and Weyl key
// increments; tests/test_random.cpp checks its published known answers and, when
// librandom123-dev is installed, agreement with its header).
constexpr philox_counter philox4x64(philox_counter c, philox_key k) {
  constexpr std::uint64_t m0 = 0xD2E7470EE14C6C93ULL, m1 = 0xCA5A826395121157ULL;
  constexpr std::uint64_t w0 = 0x9E3779B97F4A7C15ULL, w1 = 0xBB67AE8584CAA73BULL;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) k = {k[0] + w0, k[1] + w1};
    const auto [hi0, lo0] = detail::mulhilo(m0, c[0]);
    const auto [hi1, lo1] = detail::mulhilo(m1, c[2]);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
  }
  return c;
}

// A stream's identity from a name (FNV-1a over its bytes): the same on every platform, so
// an experiment can key the draws of a component by its name ("stimulus.input").
constexpr std::uint64_t stream_id(std::string_view name) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (const char ch : name) h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001B3ULL;
  return h;
}

// The draws of stream `stream` under `seed` at address (step, unit): draw i is word i % 4 of
// philox4x64({i / 4, step, unit, 0}, {seed, stream}). Streams with different seeds,
// stream ids or addresses are independent; the spiking regime's draw for one unit at one
// step is random_stream(seed, stream, step, unit), made where it is needed, no state shared.
class random_stream {
 public:
  constexpr random_stream(std::uint64_t seed, std::uint64_t stream, std::uint64_t step = 0,
                          std::uint64_t unit = 0)
      : key_{seed, stream}, step_(step), unit_(unit) {}

  // 64 random bits.
  constexpr std::uint64_t next() {
    const std::uint64_t word = position_ % 4;
    if (word == 0) block_ = philox4x64({position_ / 4, step_, unit_, 0}, key_);
    ++position_;
    return block_[word];
  }

  // How many words have been drawn. With the seed, stream and address it is the whole
  // state: seek(position()) on a stream made the same way continues with the same bits.
  constexpr std::uint64_t position() const { return position_; }
  constexpr void seek(std::uint64_t position) {
    position_ = position;
    if (position_ % 4 != 0) block_ = philox4x64({position_ / 4, step_, unit_, 0}, key_);
  }

  constexpr std::uint64_t seed() const { return key_[0]; }
  constexpr std::uint64_t stream() const { return key_[1]; }

 private:
  philox_key key_;
  std::uint64_t step_, unit_;
  std::uint64_t position_ = 0;
  philox_counter block_{};  // the block holding word position_ − 1 (when not at a boundary)
};

// ---- Distributions ------------------------------------------------------------------------

// Uniform in [0, 1): the top 53 bits of one draw, times 2^-53 (every multiple of 2^-53).
inline double uniform(random_stream& r) {
  return static_cast<double>(r.next() >> 11) * 0x1.0p-53;
}

// low + (high − low) · u with u = uniform(r): in [low, high] (high only by rounding).
inline double uniform(random_stream& r, double low, double high) {
  return low + (high - low) * uniform(r);
}

// Uniform in [0, n), n > 0, without bias (Lemire, "Fast random integer generation in an
// interval", ACM TOMACS 2019: a 64 × 64-bit product, rejecting the 2^64 mod n low values
// that would favour some results).
inline std::uint64_t uniform_index(random_stream& r, std::uint64_t n) {
  auto product = detail::mulhilo(r.next(), n);
  if (product.second < n) {
    const std::uint64_t reject_below = (0 - n) % n;  // 2^64 mod n
    while (product.second < reject_below) product = detail::mulhilo(r.next(), n);
  }
  return product.first;
}

// Standard normal (mean 0, variance 1): Marsaglia's polar method with ratesim's own
// logarithm; of each accepted pair the second value is dropped, so the stream's position
// stays its only state.
double normal(random_stream& r);

// Poisson with mean `mean` (finite, 0 <= mean <= 2^52; else parameter_error): inversion by
// sequential search for mean < 10, Hörmann's transformed rejection with squeeze (PTRS,
// Insurance: Mathematics and Economics 12, 1993) above, exact up to the rounding of
// ratesim's own exp and log.
std::uint64_t poisson(random_stream& r, double mean);

// Fisher–Yates: every permutation of [first, last) equally likely.
template <std::random_access_iterator It>
void shuffle(It first, It last, random_stream& r) {
  const auto n = static_cast<std::uint64_t>(last - first);
  for (std::uint64_t i = n; i > 1; --i) {
    const std::uint64_t j = uniform_index(r, i);
    using std::swap;
    swap(first[static_cast<std::iter_difference_t<It>>(i - 1)],
         first[static_cast<std::iter_difference_t<It>>(j)]);
  }
}

}  // namespace ratesim
