#include <ratesim/error.hpp>
#include <ratesim/mixture/classifier.hpp>

#include <fmt/format.h>

namespace ratesim {

namespace {
void check_labels(matrix_view posteriors, const std::vector<int>& labels, int K,
                  std::string_view who) {
  if (static_cast<Eigen::Index>(labels.size()) != posteriors.cols())
    throw input_error(fmt::format("{}: {} posteriors but {} labels", who, posteriors.cols(),
                                  labels.size()));
  for (std::size_t n = 0; n < labels.size(); ++n)
    if (labels[n] < 0 || labels[n] >= K)
      throw input_error(fmt::format("{}: label {} of example {} is outside [0, {})", who,
                                    labels[n], n, K));
}
}  // namespace

mixture_classifier mixture_classifier::fit(matrix_view posteriors,
                                           const std::vector<int>& labels, int K) {
  if (K < 1) throw_parameter_error("mixture_classifier", "K", ">= 1", K);
  check_labels(posteriors, labels, K, "mixture_classifier::fit");
  matrix B = matrix::Zero(K, posteriors.rows());
  vector count = vector::Zero(K);
  for (std::size_t n = 0; n < labels.size(); ++n) {
    B.row(labels[n]) += posteriors.col(static_cast<Eigen::Index>(n)).transpose();
    count[labels[n]] += 1.0;
  }
  return from_class_sums(std::move(B), count);
}

mixture_classifier mixture_classifier::from_class_sums(matrix sums, const vector& counts) {
  for (Eigen::Index k = 0; k < sums.rows(); ++k) {
    if (!(counts[k] > 0.0))
      throw input_error(fmt::format("mixture_classifier::fit: no example of class {}", k));
    sums.row(k) /= counts[k];
  }
  return mixture_classifier(std::move(sums));
}

matrix mixture_classifier::class_probabilities(matrix_view posteriors) const {
  if (posteriors.rows() != B_.cols())
    throw input_error(fmt::format("mixture_classifier: posteriors over {} components, B has {}",
                                  posteriors.rows(), B_.cols()));
  matrix P = B_ * posteriors;
  P.array().rowwise() /= P.colwise().sum().array();
  return P;
}

std::vector<int> mixture_classifier::predict(matrix_view posteriors) const {
  const matrix P = class_probabilities(posteriors);
  std::vector<int> out(static_cast<std::size_t>(P.cols()));
  for (Eigen::Index n = 0; n < P.cols(); ++n) {
    Eigen::Index k;
    P.col(n).maxCoeff(&k);
    out[static_cast<std::size_t>(n)] = static_cast<int>(k);
  }
  return out;
}

double mixture_classifier::error(matrix_view posteriors, const std::vector<int>& labels) const {
  return static_cast<double>(mistakes(posteriors, labels)) / static_cast<double>(labels.size());
}

std::size_t mixture_classifier::mistakes(matrix_view posteriors,
                                         const std::vector<int>& labels) const {
  check_labels(posteriors, labels, classes(), "mixture_classifier::error");
  const std::vector<int> predicted = predict(posteriors);
  std::size_t wrong = 0;
  for (std::size_t n = 0; n < labels.size(); ++n) wrong += predicted[n] != labels[n];
  return wrong;
}

}  // namespace ratesim
