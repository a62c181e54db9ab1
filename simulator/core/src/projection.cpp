#include <ratesim/error.hpp>
#include <ratesim/parallel.hpp>
#include <ratesim/projection.hpp>

#include "detail/vector_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace ratesim {
namespace {

class log_weight_current : public synaptic_current {
 public:
  log_weight_current(Eigen::Index n_post, Eigen::Index n_pre) : log_w_(n_post, n_pre) {}
  std::string_view name() const override { return "log_weight"; }
  bool needs_positive_weights() const override { return true; }

  void check_weights(matrix_view W, std::string_view component) const override {
    for (Eigen::Index d = 0; d < W.cols(); ++d)
      for (Eigen::Index c = 0; c < W.rows(); ++c)
        if (!(W(c, d) > 0.0) || !std::isfinite(W(c, d)))
          throw parameter_error(fmt::format(
              "{}: log_weight current needs finite weights > 0, got W({}, {}) = {}", component,
              c, d, W(c, d)));
  }

  void add(matrix_view W, vector_view pre, vector_span out) const override {
    // The floor: a weight that learning drives to 0 (or below) counts as the smallest
    // normal double, ln = −708.4, instead of making the current −inf or NaN.
    log_all(W, log_w_);
    add_product(log_w_, pre, out);
  }

  std::unique_ptr<current_cache> make_cache(Eigen::Index n_post, Eigen::Index n_pre) const override;

  bool elementwise(const double* w, double* f, std::size_t n) const override {
    detail::log_floored(w, f, n, floor);  // the bits of log_all's
    return true;
  }

  // (The static helpers are shared with log_weight_cache.)
  // ln max(W, floor) of every weight, into `out` (W's shape).
  static void log_all(matrix_view W, matrix& out) {
    if (W.outerStride() == W.rows()) {
      detail::log_floored(W.data(), out.data(), static_cast<std::size_t>(W.size()), floor);
      return;
    }
    for (Eigen::Index d = 0; d < W.cols(); ++d)
      detail::log_floored(W.col(d).data(), out.col(d).data(), static_cast<std::size_t>(W.rows()),
                          floor);
  }

  // out += L · pre, blocks of rows shared between the threads (each row's sum is taken
  // in the same order whichever thread takes it).
  static void add_product(const matrix& L, vector_view pre, vector_span out) {
    const auto rows = static_cast<std::size_t>(L.rows());
    const auto columns = static_cast<std::size_t>(L.cols());
    for_each_piece(rows, columns, [&](std::size_t first, std::size_t n) {
      const auto r = static_cast<Eigen::Index>(first), m = static_cast<Eigen::Index>(n);
      out.segment(r, m).noalias() += L.middleRows(r, m) * pre;
    });
  }

  static constexpr double floor = std::numeric_limits<double>::min();

 private:
  mutable matrix log_w_;  // ln W, scratch of add()
};

// ln W kept between evaluations; only changed rows are recomputed. With the nearly one-hot
// posterior of the quasi-static regime that is a few rows of C per pattern. Every entry is
// the same function of its weight (detail::log_floored) whichever rows are recomputed, so
// the cache depends on W alone: where a run is split, or resumed, never changes a bit.
class log_weight_cache : public current_cache {
 public:
  log_weight_cache(Eigen::Index n_post, Eigen::Index n_pre) : log_w_(n_post, n_pre), row_(n_pre) {}
  void refresh(matrix_view W, const std::vector<Eigen::Index>& rows, bool all) override {
    if (all) {
      log_weight_current::log_all(W, log_w_);
      return;
    }
    for (Eigen::Index c : rows) {
      row_ = W.row(c).transpose();
      detail::log_floored(row_.data(), row_.data(), static_cast<std::size_t>(row_.size()),
                          log_weight_current::floor);
      log_w_.row(c) = row_.transpose();
    }
  }
  void add(vector_view pre, vector_span out) const override {
    log_weight_current::add_product(log_w_, pre, out);
  }

 private:
  matrix log_w_;  // ln max(W, floor)
  vector row_;    // one row, gathered (rows of a column-major W are strided)
};

std::unique_ptr<current_cache> log_weight_current::make_cache(Eigen::Index n_post,
                                                              Eigen::Index n_pre) const {
  return std::make_unique<log_weight_cache>(n_post, n_pre);
}

// The default: nothing kept, add() at the W of the last refresh.
class uncached : public current_cache {
 public:
  explicit uncached(const synaptic_current& current) : current_(current) {}
  void refresh(matrix_view W, const std::vector<Eigen::Index>&, bool) override { W_.emplace(W); }
  void add(vector_view pre, vector_span out) const override { current_.add(*W_, pre, out); }

 private:
  const synaptic_current& current_;
  std::optional<matrix_view> W_;
};

class linear_current : public synaptic_current {
 public:
  std::string_view name() const override { return "linear"; }
  void check_weights(matrix_view W, std::string_view component) const override {
    if (!W.allFinite())
      throw parameter_error(fmt::format("{}: weights must be finite", component));
  }
  void add(matrix_view W, vector_view pre, vector_span out) const override {
    out.noalias() += W * pre;
  }
  bool elementwise(const double* w, double* f, std::size_t n) const override {
    std::copy(w, w + n, f);
    return true;
  }
};

}  // namespace

std::unique_ptr<current_cache> synaptic_current::make_cache(Eigen::Index, Eigen::Index) const {
  return std::make_unique<uncached>(*this);
}

registry<current_factory>& synaptic_currents() {
  static registry<current_factory> table = [] {
    registry<current_factory> t("synaptic current");
    t.add("log_weight", [](Eigen::Index rows, Eigen::Index cols) {
      return std::make_unique<log_weight_current>(rows, cols);
    });
    t.add("linear",
          [](Eigen::Index, Eigen::Index) { return std::make_unique<linear_current>(); });
    return t;
  }();
  return table;
}

projection::projection(std::size_t pre, std::size_t post, connection c,
                       std::unique_ptr<synaptic_current> current)
    : name_(std::move(c.name)),
      pre_(pre),
      post_(post),
      weights_(std::move(c.weights)),
      current_(std::move(current)),
      rule_(std::move(c.rule)) {}

std::string projection::label() const { return fmt::format("projection \"{}\"", name_); }

matrix uniform_weights(Eigen::Index n_post, Eigen::Index n_pre, double low, double high,
                       random_stream& rng) {
  if (!(std::isfinite(low) && std::isfinite(high) && low < high))
    throw parameter_error(
        fmt::format("uniform_weights: need finite low < high, got [{}, {})", low, high));
  matrix W(n_post, n_pre);
  for (Eigen::Index d = 0; d < n_pre; ++d)
    for (Eigen::Index c = 0; c < n_post; ++c) W(c, d) = uniform(rng, low, high);
  return W;
}

matrix data_mean_weights(matrix_view data, Eigen::Index n_post, double noise, double row_sum,
                         random_stream& rng) {
  if (data.cols() == 0) throw input_error("data_mean_weights: no data (0 columns)");
  return mean_weights(data.rowwise().mean(), n_post, noise, row_sum, rng);
}

matrix mean_weights(const vector& mean, Eigen::Index n_post, double noise, double row_sum,
                    random_stream& rng) {
  if (!(std::isfinite(noise) && noise >= 0.0))
    throw_parameter_error("data_mean_weights", "noise", "finite and >= 0", noise);
  require_positive("data_mean_weights", "row_sum", row_sum);
  if (!mean.allFinite() || (mean.array() < 0.0).any() || !(mean.sum() > 0.0))
    throw input_error("data_mean_weights: the data's mean must be finite, >= 0 and not all 0");
  const double scale = noise * mean.mean();
  matrix W(n_post, mean.size());
  for (Eigen::Index d = 0; d < W.cols(); ++d)
    for (Eigen::Index c = 0; c < n_post; ++c) W(c, d) = mean[d] + scale * uniform(rng);
  normalize_rows(W, row_sum);
  return W;
}

void normalize_rows(matrix_span W, double row_sum) {
  for (Eigen::Index c = 0; c < W.rows(); ++c) {
    const double sum = W.row(c).sum();
    if (!(sum > 0.0) || !std::isfinite(sum))
      throw input_error(
          fmt::format("normalize_rows: row {} sums to {}, cannot rescale it", c, sum));
    W.row(c) *= row_sum / sum;
  }
}

}  // namespace ratesim

namespace ratesim {

double row_sum_parameter(const parameters& values, std::string_view component) {
  const double row_sum = values.get("row_sum", 0.0);
  if (!(row_sum >= 0 && std::isfinite(row_sum)))
    throw_parameter_error(component, "row_sum", "finite and >= 0 (0: rows as drawn)", row_sum);
  return row_sum;
}

}  // namespace ratesim
