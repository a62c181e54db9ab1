#pragma once
// Linear-algebra vocabulary shared by every component. Column vectors and column-major
// matrices of double; views into the network's flat state are Eigen::Ref or Eigen::Map.

#include <Eigen/Core>

#include <cstdint>

namespace ratesim {

using vector = Eigen::VectorXd;
using matrix = Eigen::MatrixXd;

using vector_view = Eigen::Ref<const vector>;  // read-only view, binds to segments too
using vector_span = Eigen::Ref<vector>;        // writable view
using matrix_view = Eigen::Ref<const matrix>;
using matrix_span = Eigen::Ref<matrix>;

// Simulated time is a step count; `step * dt` gives milliseconds.
using step_count = std::int64_t;

}  // namespace ratesim
