#include <ratesim/clock.hpp>

#include <cmath>

namespace ratesim {

std::optional<step_count> exact_steps(double ms, double dt) {
  const double ratio = ms / dt;
  const double rounded = std::round(ratio);
  if (!(std::isfinite(ratio) && rounded >= 0.0 && std::abs(ratio - rounded) <= 1e-9 * ratio &&
        rounded <= double(max_steps)))
    return std::nullopt;
  return static_cast<step_count>(rounded);
}

step_count first_step_at(double ms, double dt) {
  const double steps = std::ceil(ms / dt - 1e-9);
  if (!(steps < double(max_steps))) return never;  // +infinity too
  return static_cast<step_count>(steps);
}

}  // namespace ratesim
