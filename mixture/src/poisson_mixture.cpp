#include <ratesim/comm.hpp>
#include <ratesim/error.hpp>
#include <ratesim/mixture/poisson_mixture.hpp>
#include <ratesim/projection.hpp>

#include "blas.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace ratesim {

mixture_sample sample_poisson_mixture(matrix_view W, std::size_t n, random_stream& rng) {
  if (W.rows() == 0 || W.cols() == 0) throw input_error("sample_poisson_mixture: W is empty");
  if (!W.allFinite() || (W.array() < 0.0).any() || (W.array() > 0x1p52).any())
    throw input_error("sample_poisson_mixture: W must be finite, >= 0 and <= 2^52");
  mixture_sample out{matrix(W.cols(), static_cast<Eigen::Index>(n)), std::vector<int>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(uniform_index(rng, static_cast<std::uint64_t>(W.rows())));
    out.labels[i] = c;
    for (Eigen::Index d = 0; d < W.cols(); ++d) {
      out.data(d, static_cast<Eigen::Index>(i)) = static_cast<double>(poisson(rng, W(c, d)));
    }
  }
  return out;
}

namespace {

void check_weights(matrix_view W, std::string_view who) {
  if (W.size() == 0) throw input_error(fmt::format("{}: W is empty", who));
  for (Eigen::Index d = 0; d < W.cols(); ++d)
    for (Eigen::Index c = 0; c < W.rows(); ++c)
      if (!(W(c, d) > 0.0) || !std::isfinite(W(c, d)))
        throw input_error(fmt::format("{}: W({}, {}) must be finite and > 0, got {}", who, c, d,
                                      W(c, d)));
}

void check_data(matrix_view Y, Eigen::Index D, std::string_view who) {
  if (Y.rows() != D)
    throw input_error(
        fmt::format("{}: data points have {} values, the model has D = {}", who, Y.rows(), D));
  if (Y.cols() == 0) throw input_error(fmt::format("{}: no data points", who));
  if (!Y.allFinite() || (Y.array() < 0.0).any())
    throw input_error(fmt::format("{}: data must be finite and >= 0", who));
}

void check_log_priors(const vector& log_priors, Eigen::Index C) {
  constexpr const char* who = "poisson_mixture";
  if (log_priors.size() != C)
    throw_parameter_error(who, "log_priors", fmt::format("C = {} values", C),
                          fmt::format("{} values", log_priors.size()));
  for (Eigen::Index c = 0; c < C; ++c)
    if (!std::isfinite(log_priors[c]))
      throw_parameter_error(who, fmt::format("log_priors[{}]", c), "finite", log_priors[c]);
  const double sum = log_priors.array().exp().sum();
  if (!(std::abs(sum - 1.0) <= 1e-9))
    throw parameter_error(
        fmt::format("{}: log_priors must be ln π_c with Σ_c π_c = 1 within 1e-9, got Σ_c π_c = {}",
                    who, sum),
        {who, "log_priors", fmt::format("{}", sum)});
}

// Σ_d lgamma(y_dn + 1) for every data point: the part of ln p(y_n) that no parameter
// touches, computed once per data set.
vector lgamma_sums(matrix_view Y) {
  vector out(Y.cols());
#pragma omp parallel for schedule(static)
  for (Eigen::Index n = 0; n < Y.cols(); ++n) {
    double sum = 0.0;
    for (Eigen::Index d = 0; d < Y.rows(); ++d) sum += std::lgamma(Y(d, n) + 1.0);
    out[n] = sum;
  }
  return out;
}

// The posterior of one data point from its column Σ_d y_d ln W_cd − Σ_d W_cd + ln π_c, in
// place, at inverse temperature beta; returns the log-sum-exp at beta = 1 (ln p(y) + Σ ln y!).
double posterior_in_place(Eigen::Ref<vector> column, double beta) {
  const double top = column.maxCoeff();
  if (beta == 1.0) {  // one exponential per component
    column = (column.array() - top).exp().matrix();
    const double sum = column.sum();
    column /= sum;
    return top + std::log(sum);
  }
  const double lse = top + std::log((column.array() - top).exp().sum());
  column = (beta * (column.array() - top)).exp().matrix();
  column /= column.sum();
  return lse;
}

// One pass over the data: the E-step (posterior at inverse temperature beta) and, when S
// and N are given, the M-step's statistics S_c = Σ_n p(c|y_n) y_n and N_c = Σ_n p(c|y_n).
// Returns the mean log-likelihood of (W, π) (at beta = 1).
//
// Priors that are all equal (uniform) shift every ln p(y_n) alike and leave the posterior
// alone: they are added once, to the mean, instead of to every column (fewer roundings;
// the same bits as EM before priors were learned).
//
// The data are cut into groups of `chunk` points, a function of the data set alone
// (`part`: this process may hold only some of the groups, ratesim/comm.hpp). OpenMP's
// threads take whole groups: each runs its group's two products (OpenBLAS on one thread
// inside) and the log-sum-exp between them, and its share of S and of the
// log-likelihood. The shares are added over a fixed tree of the groups (exact_sum), so
// the result is the same bits on any number of threads and processes, and no thread
// waits for another between the products.
double e_step(matrix_view Y, const vector& lgammas, const matrix& W, const vector& log_priors,
              double beta, std::size_t chunk, matrix* S, vector* N_c, matrix* posterior,
              const Eigen::MatrixXf* Y_single = nullptr, const data_part& part = {}) {
  RATESIM_ASSERT((S == nullptr) == (N_c == nullptr));
  const Eigen::Index C = W.rows(), D = Y.rows(), N = Y.cols();
  const matrix log_W = W.array().log().matrix();
  const bool uniform = (log_priors.array() == log_priors[0]).all();
  const vector offset =
      uniform ? vector(-W.rowwise().sum()) : vector(log_priors - W.rowwise().sum());
  const Eigen::MatrixXf log_W_single = Y_single ? log_W.cast<float>() : Eigen::MatrixXf();
  // Each group's share: S (C × D) and N_c (C), then the log-likelihood.
  const std::size_t share = S ? static_cast<std::size_t>(C * (D + 1)) : 0;
  const blas::one_thread blas_serial;
  detail::gemm_kernel();  // chosen here, so that a bad RATESIM_GEMM throws outside the threads
  const std::vector<double> total = sum_over_groups(
      part, N, chunk, share + 1, [&](Eigen::Index first, Eigen::Index n, std::span<double> out) {
        const auto Yb = Y.middleCols(first, n);
        matrix L(C, n);  // Σ_d y_d ln W_cd, then the posterior in place
        if (Y_single) {  // the first product in float (log W, the data), the rest in double
          Eigen::MatrixXf L_single(C, n);
          blas::product(log_W_single, Y_single->middleCols(first, n), L_single);
          L = L_single.cast<double>();
        } else {
          blas::product(log_W, Yb, L);
        }
        L.colwise() += offset;
        double ll = 0.0;
        for (Eigen::Index j = 0; j < n; ++j)
          ll += posterior_in_place(L.col(j), beta) - lgammas[first + j];
        out[share] = ll;
        if (posterior) posterior->middleCols(first, n) = L;
        if (!S) return;
        Eigen::Map<vector>(out.data() + C * D, C) = L.rowwise().sum();
        Eigen::Map<matrix> S_group(out.data(), C, D);
        if (Y_single) {  // the second product in float, its sum over groups in double
          const Eigen::MatrixXf L_single = L.cast<float>();
          Eigen::MatrixXf S_single = Eigen::MatrixXf::Zero(C, D);
          blas::product(L_single, Y_single->middleCols(first, n), S_single, true);
          S_group = S_single.cast<double>();
        } else {
          blas::product(L, Yb, S_group, true);
        }
      });
  if (S) {
    *S = Eigen::Map<const matrix>(total.data(), C, D);
    *N_c = Eigen::Map<const vector>(total.data() + C * D, C);
  }
  const Eigen::Index points = part.total < 0 ? N : part.total;
  const double mean = total[share] / static_cast<double>(points);
  return uniform ? mean + log_priors[0] : mean;
}

// EM's M-step for the priors: π_c = N_c / Σ_c' N_c' (the number of points, up to rounding),
// floored at prior_floor / C and renormalised; returns ln π_c.
vector learned_log_priors(const vector& N_c) {
  const double C = static_cast<double>(N_c.size());
  vector pi = (N_c / N_c.sum()).cwiseMax(prior_floor / C);
  pi /= pi.sum();
  return pi.array().log().matrix();
}

}  // namespace

vector uniform_log_priors(Eigen::Index C) {
  return vector::Constant(C, -std::log(static_cast<double>(C)));
}

poisson_mixture::poisson_mixture(matrix W) : W_(std::move(W)) {
  check_weights(W_, "poisson_mixture");
  log_priors_ = uniform_log_priors(W_.rows());
}

poisson_mixture::poisson_mixture(matrix W, vector log_priors)
    : W_(std::move(W)), log_priors_(std::move(log_priors)) {
  check_weights(W_, "poisson_mixture");
  check_log_priors(log_priors_, W_.rows());
}

matrix poisson_mixture::posterior(matrix_view Y) const {
  if (Y.cols() == 0 && Y.rows() == dimensions()) return matrix(components(), 0);  // a rank's empty part
  check_data(Y, dimensions(), "poisson_mixture::posterior");
  matrix R(components(), Y.cols());
  e_step(Y, vector::Zero(Y.cols()), W_, log_priors_, 1.0, default_chunk, nullptr, nullptr, &R);
  return R;
}

double poisson_mixture::log_likelihood(matrix_view Y, const data_part& part) const {
  if (Y.cols() > 0 || part.total < 0) check_data(Y, dimensions(), "poisson_mixture::log_likelihood");
  return e_step(Y, lgamma_sums(Y), W_, log_priors_, 1.0, default_chunk, nullptr, nullptr, nullptr,
                nullptr, part);
}

int units_used(matrix_view posterior, const data_part& part) {
  const Eigen::Index C = posterior.rows();
  // wins[c]: the data points whose most probable component is c.
  const std::vector<double> wins =
      sum_over_groups(part, posterior.cols(), default_chunk, static_cast<std::size_t>(C),
                      [&](Eigen::Index first, Eigen::Index n, std::span<double> out) {
                        for (Eigen::Index j = first; j < first + n; ++j) {
                          Eigen::Index c;
                          posterior.col(j).maxCoeff(&c);
                          out[static_cast<std::size_t>(c)] += 1.0;
                        }
                      });
  const double N = static_cast<double>(part.total < 0 ? posterior.cols() : part.total);
  // wins / N >= 0.1 / C as 10 C wins >= N: whole numbers, exact.
  return static_cast<int>(std::count_if(
      wins.begin(), wins.end(), [&](double w) { return 10.0 * static_cast<double>(C) * w >= N; }));
}

em_trainer::em_trainer(matrix_view Y, matrix W0, double A, std::size_t chunk, bool single_precision,
                       const data_part& part)
    : em_trainer(Y, std::move(W0), A, [&] {
        em_options o;
        o.chunk = chunk;
        o.part = part;
        o.single_precision = single_precision;
        return o;
      }()) {}

em_trainer::em_trainer(matrix_view Y, matrix W0, double A, const em_options& options)
    : Y_(Y),
      W_(std::move(W0)),
      A_(A),
      chunk_(options.chunk),
      part_(options.part),
      learn_priors_(options.learn_priors) {
  check_weights(W_, "em: initial");
  if (Y_.cols() > 0 || part_.total < 0) check_data(Y_, W_.cols(), "em");
  require_positive("em", "A", A_);
  lgammas_ = lgamma_sums(Y_);
  if (options.single_precision) Y_single_ = Y_.cast<float>();
  log_priors_ = uniform_log_priors(W_.rows());
}

double em_trainer::step(double beta) {
  const double ll =
      e_step(Y_, lgammas_, W_, log_priors_, beta, chunk_, &S_, &N_, nullptr, single(), part_);
  // M-step: W_c = A S_c / Σ_d S_cd. A component no data point chose keeps its weights; a
  // floor far below any weight that matters keeps ln W finite where the data are 0.
  for (Eigen::Index c = 0; c < S_.rows(); ++c) {
    const double total = S_.row(c).sum();
    if (total > 0.0) W_.row(c) = (A_ / total) * S_.row(c);
  }
  W_ = W_.cwiseMax(1e-12 * A_ / static_cast<double>(W_.cols()));
  if (learn_priors_) log_priors_ = learned_log_priors(N_);
  return ll;
}

double em_trainer::log_likelihood() const {
  return e_step(Y_, lgammas_, W_, log_priors_, 1.0, chunk_, nullptr, nullptr, nullptr, single(),
                part_);
}

em_result fit_em(matrix_view Y, matrix W0, double A, const em_options& options) {
  if (options.iterations < 0)
    throw_parameter_error("fit_em", "iterations", ">= 0", options.iterations);
  if (!(options.anneal_start > 0.0 && options.anneal_start <= 1.0))
    throw_parameter_error("fit_em", "anneal_start", "in (0, 1]", options.anneal_start);
  em_trainer em(Y, std::move(W0), A, options);
  auto beta_at = [&](int step) {  // inverse temperature of the E-step that makes step+1
    if (step >= options.anneal_iterations) return 1.0;
    return options.anneal_start +
           (1.0 - options.anneal_start) * step / static_cast<double>(options.anneal_iterations);
  };
  em_result result;
  double previous = 0.0;
  for (int it = 0; it <= options.iterations; ++it) {
    matrix W = em.W();  // (W, π) after `it` steps, scored by this pass
    vector log_priors = em.log_priors();
    const bool last = it == options.iterations;
    const double ll = last ? em.log_likelihood() : em.step(beta_at(it));
    result.log_likelihood.push_back(ll);
    if (it > 0 && options.on_iteration) options.on_iteration(it, W, log_priors, ll);
    const bool converged = it > 0 && beta_at(it - 1) == 1.0 && ll - previous < options.tolerance;
    if (last || converged) {
      result.W = std::move(W);
      result.log_priors = std::move(log_priors);
      break;
    }
    previous = ll;
  }
  return result;
}

}  // namespace ratesim
