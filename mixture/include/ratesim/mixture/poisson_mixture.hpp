#pragma once
// The generative model the circuit learns: a mixture of C Poisson distributions with
// priors p(c) = π_c (uniform, 1/C, unless given or learned) and
// p(y | c, W) = Π_d Poisson(y_d; W_cd), with lgamma(y + 1) in place of log y! so that y
// need not be integer (the normalised input is not).
//
// The E-step posterior p(c | y) = softmax_c(Σ_d y_d ln W_cd − Σ_d W_cd + ln π_c) is the
// circuit's output s_c when Σ_d W_cd is the same for every c and the output units' biases
// are ln π_c (none with uniform priors: issue 15's intrinsic plasticity learns them);
// EM's M-step, W_c ∝ Σ_n p(c|y_n) y_n rescaled to Σ_d W_cd = A, is the fixed point of its
// online learning rule.

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

// ln π_c = −ln C for each of C components: uniform priors.
vector uniform_log_priors(Eigen::Index C);

class poisson_mixture {
 public:
  // W is C × D with finite entries > 0; uniform priors, ln π_c = −ln C.
  explicit poisson_mixture(matrix W);
  // Priors given as ln π_c (C values): finite, with Σ_c π_c = 1 within 1e-9.
  poisson_mixture(matrix W, vector log_priors);

  const matrix& weights() const { return W_; }
  const vector& log_priors() const { return log_priors_; }
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
  vector log_priors_;  // ln π_c
};

// The number of components that are the most probable one (the posterior's argmax, the
// first of equals) for at least 0.1/C of the data points: count_c / N >= 0.1 / C. The
// units a circuit with these weights uses (issue 15). `posterior` is C × N, columns
// p(c | y_n) of this rank's part of the data (`part`, as in log_likelihood); the counts
// are summed exactly over the ranks, the same answer on every rank.
int units_used(matrix_view posterior, const data_part& part = {});

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
  // Learn the priors too: the M-step sets π_c = N_c / N, N_c = Σ_n p(c|y_n) (summed with
  // S, the same bits on any number of threads and ranks), floored at prior_floor and
  // renormalised. Off: the priors stay uniform.
  bool learn_priors = false;
  // Called after every step with the step number (from 1), the parameters that step
  // produced (W and ln π) and their log-likelihood.
  std::function<void(int, const matrix& W, const vector& log_priors, double)> on_iteration;
};

// The smallest prior EM learns, as a fraction of 1/C: a component no data point chooses
// keeps π_c = prior_floor / C (then renormalised), so that ln π_c stays finite (about
// −27.6 − ln C) and the component may still win data back.
inline constexpr double prior_floor = 1e-12;

struct em_result {
  matrix W;                            // the learned parameters
  vector log_priors;                   // ln π_c (−ln C each unless learn_priors)
  std::vector<double> log_likelihood;  // per data point: of W0, then after every step
};

// Fits W (C × D, rows rescaled to A), and with learn_priors π, to the data Y (D × N) from
// the start W0 and uniform priors.
em_result fit_em(matrix_view Y, matrix W0, double A, const em_options& options = {});

// EM one step at a time, for loops of one's own (fit_em is one). Each step is one pass
// over the data: it scores the current W and gathers the statistics of the next.
class em_trainer {
 public:
  // Y must outlive the trainer. `chunk` and `single_precision` as in em_options (the
  // latter keeps a float copy of Y).
  em_trainer(matrix_view Y, matrix W0, double A, std::size_t chunk = default_chunk,
             bool single_precision = false, const data_part& part = {});
  // The same with chunk, single_precision, part and learn_priors from `options`.
  em_trainer(matrix_view Y, matrix W0, double A, const em_options& options);

  // One E-step at inverse temperature `beta` (the posterior ∝ (π_c p(y|c))^β) and one
  // M-step. Returns the log-likelihood per data point of (W, π) before the step.
  double step(double beta = 1.0);
  // The log-likelihood per data point of the current (W, π) (one pass, no statistics).
  double log_likelihood() const;
  const matrix& W() const { return W_; }
  const vector& log_priors() const { return log_priors_; }

 private:
  const Eigen::MatrixXf* single() const { return Y_single_.size() ? &Y_single_ : nullptr; }

  matrix_view Y_;
  Eigen::MatrixXf Y_single_;  // Y in float, for single_precision
  vector lgammas_;  // Σ_d lgamma(y_dn + 1), computed once
  matrix W_, S_;
  vector log_priors_;  // ln π_c, uniform unless learn_priors_
  vector N_;           // N_c = Σ_n p(c|y_n) of the last E-step
  double A_;
  std::size_t chunk_;
  data_part part_;
  bool learn_priors_ = false;
};

}  // namespace ratesim
