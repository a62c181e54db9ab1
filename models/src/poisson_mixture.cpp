#include <ratesim/error.hpp>
#include <ratesim/models/poisson_mixture.hpp>

#include <fmt/format.h>

namespace ratesim {

mixture_sample sample_poisson_mixture(matrix_view W, std::size_t n, std::mt19937_64& rng) {
  if (W.rows() == 0 || W.cols() == 0) throw input_error("sample_poisson_mixture: W is empty");
  if (!W.allFinite() || (W.array() < 0.0).any())
    throw input_error("sample_poisson_mixture: W must be finite and >= 0");
  std::uniform_int_distribution<int> pick(0, static_cast<int>(W.rows()) - 1);
  mixture_sample out{matrix(W.cols(), static_cast<Eigen::Index>(n)), std::vector<int>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    const int c = pick(rng);
    out.labels[i] = c;
    for (Eigen::Index d = 0; d < W.cols(); ++d) {
      std::poisson_distribution<int> poisson(W(c, d));
      out.data(d, static_cast<Eigen::Index>(i)) = W(c, d) > 0.0 ? poisson(rng) : 0.0;
    }
  }
  return out;
}

}  // namespace ratesim
