#pragma once
// The generative model the circuit learns: a mixture of C Poisson distributions with a
// uniform prior, p(c) = 1/C, and p(ỹ | c, W) = Π_d Poisson(ỹ_d; W_cd).

#include <ratesim/types.hpp>

#include <random>
#include <vector>

namespace ratesim {

struct mixture_sample {
  matrix data;              // D × N, one sample per column
  std::vector<int> labels;  // the component c that generated each sample
};

// Draws n samples: c uniform in [0, C), then ỹ_d ~ Poisson(W_cd). W is C × D, W_cd ≥ 0.
mixture_sample sample_poisson_mixture(matrix_view W, std::size_t n, std::mt19937_64& rng);

}  // namespace ratesim
