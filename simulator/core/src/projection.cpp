#include <ratesim/error.hpp>
#include <ratesim/parallel.hpp>
#include <ratesim/projection.hpp>

#include "detail/vector_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
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
    add_product(log_w_, pre, out, partial_);
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

  // out += L · pre by fixed blocks of columns, cut as for_each_piece cuts L's columns (so
  // each thread reads the columns it updates in the weight passes, which stay in its
  // core's cache): each block's product into its own column of `partial`, then the blocks
  // added in order, so the same bits on any number of threads.
  static void add_product(const matrix& L, vector_view pre, vector_span out, matrix& partial) {
    const auto rows = static_cast<std::size_t>(L.rows());
    const auto columns = static_cast<std::size_t>(L.cols());
    const std::size_t block = piece_items(rows);
    const std::size_t blocks = (columns + block - 1) / block;
    if (partial.rows() != L.rows() || static_cast<std::size_t>(partial.cols()) != blocks)
      partial.resize(L.rows(), static_cast<Eigen::Index>(blocks));
    for_each_piece(columns, rows, [&](std::size_t first, std::size_t n) {
      for (std::size_t j = first / block; j * block < first + n; ++j) {
        const auto d = static_cast<Eigen::Index>(j * block);
        const auto m = static_cast<Eigen::Index>(std::min(block, columns - j * block));
        partial.col(static_cast<Eigen::Index>(j)).noalias() =
            L.middleCols(d, m) * pre.segment(d, m);
      }
    });
    for (std::size_t j = 0; j < blocks; ++j) out += partial.col(static_cast<Eigen::Index>(j));
  }

  static constexpr double floor = std::numeric_limits<double>::min();

 private:
  mutable matrix log_w_;    // ln W, scratch of add()
  mutable matrix partial_;  // the column blocks' products, scratch of add()
};

// ln W kept between evaluations. refresh() recomputes the rows that changed, each entry
// the same function of its weight (detail::log_floored), so a cache kept that way depends
// on W alone: where a run is split, or resumed, never changes a bit. step() follows a dense
// change instead (detail::log_step: ln(w'/w) by a short series, the logarithm itself
// where the series does not serve), about 1 ulp of drift per step, and computes the whole
// cache anew exactly every `exact_every` steps, which bounds the drift (below 1e-12 of
// max(1, |ln W|); tests/test_numerics.cpp, LogCache.*). Such a cache is state: state()
// gives it to checkpoints, and remember() lets it survive a run's start when W did not
// change.
class log_weight_cache : public current_cache {
 public:
  static constexpr std::int64_t exact_every = 1000;

  log_weight_cache(Eigen::Index n_post, Eigen::Index n_pre) : log_w_(n_post, n_pre), row_(n_pre) {}

  void refresh(matrix_view W, const std::vector<Eigen::Index>& rows, bool all) override {
    if (all) {
      if (remembered_ && same_bits(W, seen_)) return;  // nothing changed since remember()
      log_weight_current::log_all(W, log_w_);
      steps_ = 0;
    } else {
      for (Eigen::Index c : rows) {
        row_ = W.row(c).transpose();
        detail::log_floored(row_.data(), row_.data(), static_cast<std::size_t>(row_.size()),
                            log_weight_current::floor);
        log_w_.row(c) = row_.transpose();
      }
    }
    remembered_ = false;
  }

  void add(vector_view pre, vector_span out) const override {
    log_weight_current::add_product(log_w_, pre, out, partial_);
  }

  bool step(matrix_span W, const weight_step& change, bool& usable) override {
    if (W.outerStride() != W.rows()) return false;
    const detail::weight_change c{
        .factor = change.factor,
        .dw = change.q != nullptr ? nullptr : change.dW->data(),
        .pre = change.q != nullptr ? change.pre->data() : nullptr,
        .q = change.q != nullptr ? change.q->data() : nullptr};
    usable = detail::log_step(W.data(), c, log_w_.data(), static_cast<std::size_t>(W.rows()),
                              static_cast<std::size_t>(W.cols()), log_weight_current::floor);
    remembered_ = false;
    if (++steps_ == exact_every) {  // the cadence that bounds the drift
      log_weight_current::log_all(W, log_w_);
      steps_ = 0;
    }
    return true;
  }

  void remember(matrix_view W) override {
    seen_ = W;
    remembered_ = true;
  }

  std::vector<double> state(matrix_view W) const override {
    // exactly ln W, or not W's (a checkpoint is taken between runs, after remember())
    if (steps_ == 0 || !remembered_ || !same_bits(W, seen_)) return {};
    std::vector<double> s(log_w_.data(), log_w_.data() + log_w_.size());
    s.push_back(static_cast<double>(steps_));
    return s;
  }

  bool restore(matrix_view W, std::span<const double> state) override {
    if (state.empty()) {  // computed anew at the next refresh
      remembered_ = false;
      return true;
    }
    const double steps = state.back();
    if (static_cast<Eigen::Index>(state.size()) != log_w_.size() + 1 || !(steps >= 1.0) ||
        !(steps < static_cast<double>(exact_every)) || steps != std::floor(steps))
      return false;
    for (double v : state.first(state.size() - 1))
      if (!std::isfinite(v)) return false;
    std::copy(state.begin(), state.end() - 1, log_w_.data());
    steps_ = static_cast<std::int64_t>(steps);
    remember(W);
    return true;
  }

 private:
  static bool same_bits(matrix_view W, const matrix& seen) {
    if (W.rows() != seen.rows() || W.cols() != seen.cols()) return false;
    for (Eigen::Index d = 0; d < W.cols(); ++d)
      if (std::memcmp(W.col(d).data(), seen.col(d).data(),
                      static_cast<std::size_t>(W.rows()) * sizeof(double)) != 0)
        return false;
    return true;
  }

  matrix log_w_;               // ln max(W, floor), up to the drift of the steps since exact
  mutable matrix partial_;     // scratch of add()
  vector row_;                 // one row, gathered (rows of a column-major W are strided)
  std::int64_t steps_ = 0;     // incremental steps since the last exact computation
  matrix seen_;                // W at remember()
  bool remembered_ = false;    // W has not changed since remember() unless refresh says so
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
