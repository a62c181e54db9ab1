#pragma once
// The generative model the circuit learns: a mixture of C Poisson distributions with a
// uniform prior, p(c) = 1/C, and p(y | c, W) = Π_d Poisson(y_d; W_cd), with lgamma(y + 1)
// in place of log y! so that y need not be integer (the normalised input is not).
//
// The E-step posterior p(c | y) = softmax_c(Σ_d y_d ln W_cd − Σ_d W_cd) is the circuit's
// output s_c when Σ_d W_cd is the same for every c; EM's M-step, W_c ∝ Σ_n p(c|y_n) y_n
// rescaled to Σ_d W_cd = A, is the fixed point of its online learning rule.

#include <ratesim/comm.hpp>
#include <ratesim/random.hpp>
#include <ratesim/types.hpp>

#include <functional>
#include <vector>

namespace ratesim {

struct mixture_sample {
  matrix data;              // D × N, one sample per column
  std::vector<int> labels;  // the component c that generated each sample
};

// Draws n samples: c uniform in [0, C), then y_d ~ Poisson(W_cd). W is C × D,
// 0 ≤ W_cd ≤ 2^52.
mixture_sample sample_poisson_mixture(matrix_view W, std::size_t n, random_stream& rng);

class poisson_mixture {
 public:
  // W is C × D with finite entries > 0.
  explicit poisson_mixture(matrix W);

  const matrix& weights() const { return W_; }
  Eigen::Index components() const { return W_.rows(); }
  Eigen::Index dimensions() const { return W_.cols(); }

  // p(c | y_n) for every data point (columns of Y, D × N): C × N.
  matrix posterior(matrix_view Y) const;
  // Mean over the data points of ln p(y_n), natural log, lgamma term included. With a
  // `part`, Y is this rank's part of a data set split between ranks (split_data with
  // default_chunk) and the mean is over the whole set, the same bits on every rank.
  double log_likelihood(matrix_view Y, const data_part& part = {}) const;

 private:
  matrix W_;
};

// Data points per group of the exact sums over the data (ratesim/comm.hpp), and per block
// of EM's matrix products.
inline constexpr std::size_t default_chunk = 2048;

// Batch EM with the constraint Σ_d W_cd = A.
struct em_options {
  int iterations = 100;       // at most this many E/M steps
  double tolerance = 0.0;     // stop once the log-likelihood gains less than this (per point)
  double anneal_start = 1.0;  // deterministic annealing: inverse temperature β at step 0
  int anneal_iterations = 0;  // β rises linearly to 1 over this many steps
  std::size_t chunk = default_chunk;  // data points per group (and per matrix product)
  // Y is this rank's part of a data set split between ranks (split_data with `chunk`):
  // every rank takes the same steps, with statistics summed exactly over all the data.
  data_part part;
  // The two matrix products in float32: about twice as fast; the log-likelihood moves by
  // about 1e-6 of itself (tests/test_mixture.cpp bounds it). The rest stays in double.
  bool single_precision = false;
  // Called after every step with the step number (from 1) and the log-likelihood of the
  // parameters that step produced.
  std::function<void(int, const matrix& W, double)> on_iteration;
};

struct em_result {
  matrix W;                            // the learned parameters
  std::vector<double> log_likelihood;  // per data point: of W0, then after every step
};

// Fits W (C × D, rows rescaled to A) to the data Y (D × N) from the start W0.
em_result fit_em(matrix_view Y, matrix W0, double A, const em_options& options = {});

// EM one step at a time, for loops of one's own (fit_em is one). Each step is one pass
// over the data: it scores the current W and gathers the statistics of the next.
class em_trainer {
 public:
  // Y must outlive the trainer. `chunk` and `single_precision` as in em_options (the
  // latter keeps a float copy of Y).
  em_trainer(matrix_view Y, matrix W0, double A, std::size_t chunk = default_chunk,
             bool single_precision = false, const data_part& part = {});

  // One E-step at inverse temperature `beta` and one M-step. Returns the log-likelihood
  // per data point of W before the step.
  double step(double beta = 1.0);
  // The log-likelihood per data point of the current W (one pass, no statistics).
  double log_likelihood() const;
  const matrix& W() const { return W_; }

 private:
  const Eigen::MatrixXf* single() const { return Y_single_.size() ? &Y_single_ : nullptr; }

  matrix_view Y_;
  Eigen::MatrixXf Y_single_;  // Y in float, for single_precision
  vector lgammas_;  // Σ_d lgamma(y_dn + 1), computed once
  matrix W_, S_;
  double A_;
  std::size_t chunk_;
  data_part part_;
};

}  // namespace ratesim
