#include <ratesim/error.hpp>
#include <ratesim/mixture/bars.hpp>

#include <fmt/format.h>

#include <cmath>

namespace ratesim {

matrix bars_components(int side, double bar, double background) {
  if (side < 2) throw_parameter_error("bars_components", "side", ">= 2", side);
  if (!(std::isfinite(bar) && bar > 0.0))
    throw_parameter_error("bars_components", "bar", "finite and > 0", bar);
  if (!(std::isfinite(background) && background >= 0.0))
    throw_parameter_error("bars_components", "background", "finite and >= 0", background);
  matrix W = matrix::Constant(2 * side, side * side, background);
  for (int b = 0; b < side; ++b)
    for (int i = 0; i < side; ++i) {
      W(b, b * side + i) = bar;         // horizontal bar: row b of the image
      W(side + b, i * side + b) = bar;  // vertical bar: column b of the image
    }
  return W;
}

}  // namespace ratesim

namespace ratesim {

matrix normalized_components(matrix_view generating, double A) {
  const auto D = static_cast<double>(generating.cols());
  matrix target(generating.rows(), generating.cols());
  for (Eigen::Index c = 0; c < generating.rows(); ++c)
    target.row(c) = ((A - D) / generating.row(c).sum()) * generating.row(c).array() + 1.0;
  return target;
}

std::vector<component_match> match_components(matrix_view learned, matrix_view target) {
  if (learned.cols() != target.cols())
    throw input_error(fmt::format("match_components: learned rows have {} entries, target {}",
                                  learned.cols(), target.cols()));
  std::vector<component_match> out;
  for (Eigen::Index b = 0; b < target.rows(); ++b) {
    component_match m{0, 0.0};
    const vector distance = (learned.rowwise() - target.row(b)).cwiseAbs().rowwise().sum();
    m.error = distance.minCoeff(&m.unit) / target.row(b).cwiseAbs().sum();
    out.push_back(m);
  }
  return out;
}

}  // namespace ratesim
