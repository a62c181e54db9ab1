#pragma once
// Classification with a learned mixture (Keck, Savin & Lücke 2012): B_kc is the mean
// posterior p(c | y) over the training examples of class k, so row k of B (K × C) sums to
// one; then p(k | y) = Σ_c B_kc p(c | y) / Σ_k' Σ_c B_k'c p(c | y). With uniform priors
// p(c) this equals the rule with p(y | c) in place of p(c | y); with priors π_c it is the
// rule with π_c p(y | c), the posteriors of the model that has them.

#include <ratesim/types.hpp>

#include <vector>

namespace ratesim {

class mixture_classifier {
 public:
  // `posteriors` is C × N (columns p(c | y_n)), `labels` the N class labels in [0, K).
  static mixture_classifier fit(matrix_view posteriors, const std::vector<int>& labels, int K);
  // From the sums of the posteriors over each class's examples (K × C) and the number of
  // examples of each class (K): how fit ends, and how data split between processes is
  // classified (the sums added exactly, ratesim/comm.hpp).
  static mixture_classifier from_class_sums(matrix sums, const vector& counts);

  const matrix& B() const { return B_; }  // K × C
  int classes() const { return static_cast<int>(B_.rows()); }

  // p(k | y_n) for every column of `posteriors`: K × N.
  matrix class_probabilities(matrix_view posteriors) const;
  std::vector<int> predict(matrix_view posteriors) const;
  // The fraction of wrongly classified examples, in [0, 1].
  double error(matrix_view posteriors, const std::vector<int>& labels) const;
  // The number of wrongly classified examples.
  std::size_t mistakes(matrix_view posteriors, const std::vector<int>& labels) const;

 private:
  explicit mixture_classifier(matrix B) : B_(std::move(B)) {}
  matrix B_;
};

}  // namespace ratesim
