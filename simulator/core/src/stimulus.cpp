#include <ratesim/error.hpp>
#include <ratesim/population.hpp>
#include <ratesim/stimulus.hpp>

#include <fmt/format.h>

#include <numeric>

namespace ratesim {

void constant_input::bind(const population& target) {
  target.check_external_input(value_, "constant input");
}

pattern_set::pattern_set(matrix patterns, params p) : patterns_(std::move(patterns)), p_(p) {
  require_positive("pattern_set", "duration", p_.duration);
  if (patterns_.cols() == 0) throw input_error("pattern_set: the set holds no patterns (it is empty)");
}

void pattern_set::bind(const population& target) {
  for (Eigen::Index n = 0; n < patterns_.cols(); ++n)
    target.check_external_input(patterns_.col(n), "pattern", n);
}

std::size_t pattern_set::index(step_count k) {
  const auto n = static_cast<step_count>(count());
  if (p_.ordering == order::sequential) return static_cast<std::size_t>(k % n);
  const step_count epoch = k / n;
  if (epoch != epoch_) {
    // A stream addressed by the epoch: any epoch can be rebuilt alone (after a resume).
    random_stream rng(p_.seed, stream_id("pattern_set.order"), static_cast<std::uint64_t>(epoch));
    order_.resize(count());
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    shuffle(order_.begin(), order_.end(), rng);
    epoch_ = epoch;
  }
  return order_[static_cast<std::size_t>(k % n)];
}

void pattern_set::pattern(step_count k, vector_span out) { out = patterns_.col(index(k)); }

generated_input::generated_input(std::size_t size, double duration, generator g)
    : size_(size), duration_(duration), generate_(std::move(g)) {
  require_positive("generated_input", "duration", duration_);
  if (!generate_) throw parameter_error("generated_input: generator must not be empty");
}

void generated_input::bind(const population& target) {
  if (target.size() != size_)
    throw input_error(fmt::format("generated_input: makes patterns of size {}, {} has {} units",
                                  size_, target.label(), target.size()));
  target_ = &target;
}

void generated_input::pattern(step_count k, vector_span out) {
  generate_(k, out);
  target_->check_external_input(out, "generated pattern", k);
}

}  // namespace ratesim

namespace ratesim {

pattern_set::params pattern_parameters(const parameters& values, std::string_view component) {
  pattern_set::params p;
  p.duration = values.get("duration", p.duration);
  const std::string order = values.get("order", "sequential");
  if (order == "shuffled")
    p.ordering = pattern_set::order::shuffled;
  else if (order != "sequential")
    throw parameter_error(
        fmt::format("{}: order: expected sequential or shuffled, got \"{}\"", component, order),
        {std::string(component), "order", order});
  p.seed = static_cast<std::uint64_t>(
      values.get_whole("seed", 0, 0, 9007199254740992.0, component));  // at most 2^53
  return p;
}

}  // namespace ratesim
