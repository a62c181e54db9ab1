#include "builtin.hpp"

#include <ratesim/data.hpp>
#include <ratesim/population.hpp>

#include <fmt/format.h>

namespace ratesim::initializers {

matrix file(const weight_context& context, const parameters& values) {
  const std::string label = "file";
  if (!values.contains("path"))
    throw parameter_error(label + ": path is required (a string)", {label, "path", ""});
  const std::string spec = values.get("path", std::string());
  const double row_sum = row_sum_parameter(values, label);
  values.require_all_used(label);
  // read_images gives one row of the file per column; a row of the file is a row of W.
  matrix W;
  try {
    W = read_images(spec).transpose();
  } catch (const data_error&) {
    throw;
  } catch (const input_error& e) {  // bad data in the file is the file's fault
    throw data_error(e.what(), {label, "path", spec});
  }
  const auto rows = Eigen::Index(context.post.size()), cols = Eigen::Index(context.pre.size());
  if (W.rows() != rows || W.cols() != cols)
    throw data_error(fmt::format("{}: {}: {} x {} weights, the projection needs {} x {} (post x "
                                 "pre)",
                                 label, spec, W.rows(), W.cols(), rows, cols),
                     {label, "path", spec});
  if (row_sum > 0) normalize_rows(W, row_sum);
  return W;
}

}  // namespace ratesim::initializers
