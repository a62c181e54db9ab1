// A plug-in that adds a stimulus source, a weight initialiser and a record kind, each used
// by components.toml through `ratesim run --plugin` (tests/plugin/run.cmake).
#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/network.hpp>
#include <ratesim/plugin.hpp>
#include <ratesim/population.hpp>
#include <ratesim/projection.hpp>
#include <ratesim/stimulus.hpp>
#include <ratesim/version.hpp>

#include <fmt/format.h>

namespace {

using namespace ratesim;

// "ramp": `count` patterns, pattern n holding (n + 1) · `step` on every unit.
std::unique_ptr<stimulus> ramp(const stimulus_context& context, const parameters& values) {
  const double count = values.get_whole("count", 3, 1, 1000, "ramp");
  const double step = values.get("step", 1.0);
  const pattern_set::params p = pattern_parameters(values, "ramp");
  values.require_all_used("ramp");
  matrix patterns(Eigen::Index(context.target.size()), Eigen::Index(count));
  for (Eigen::Index n = 0; n < patterns.cols(); ++n) patterns.col(n).setConstant(double(n + 1) * step);
  return std::make_unique<pattern_set>(std::move(patterns), p);
}

// "eye": W_cd = `value` where c == d, `off` elsewhere.
matrix eye(const weight_context& context, const parameters& values) {
  const double value = values.get("value", 1.0), off = values.get("off", 0.0);
  values.require_all_used("eye");
  matrix W = matrix::Constant(Eigen::Index(context.post.size()), Eigen::Index(context.pre.size()), off);
  W.diagonal().setConstant(value);
  return W;
}

// "rate_sum": the metric rate_sum_<population>, the sum of the population's rates.
void rate_sum(const record_context& context, const parameters& values) {
  const std::string name = values.get("population", "");
  values.require_all_used("rate_sum");
  const std::size_t index = context.net.population_index(name);
  context.recorder.record_metric(
      fmt::format("rate_sum_{}", name), 1, "1",
      [index](const network& net, vector_span out) {
        net.evaluate();
        out[0] = net.last_rates(index).sum();
      },
      context.when);
}

}  // namespace

extern "C" const ratesim::plugin_info* ratesim_plugin() {
  static const ratesim::plugin_info info{
      ratesim::plugin_abi, ratesim::version, "test components", [] {
        ratesim::stimulus_sources().add("ramp", &ramp);
        ratesim::weight_initializers().add("eye", &eye);
        ratesim::record_kinds().add("rate_sum", &rate_sum);
      }};
  return &info;
}
