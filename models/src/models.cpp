// The built-in population models, by name, and their factories from named parameters.

#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/poisson_input.hpp>
#include <ratesim/models/rate_population.hpp>
#include <ratesim/models/softmax_competition.hpp>
#include <ratesim/models/stochastic_wta.hpp>

#include <fmt/format.h>

namespace ratesim {

std::unique_ptr<population> feedforward_inhibition::create(std::string name,
                                                           const ratesim::parameters& values) {
  const std::string label = fmt::format("feedforward_inhibition \"{}\"", name);
  params p;
  p.size = size_parameter(values, label);
  p.A = values.get("A", p.A);
  p.tau_y = values.get("tau_y", p.tau_y);
  p.tau_h = values.get("tau_h", p.tau_h);
  p.h0 = values.get("h0", p.h0);
  values.require_all_used(label);
  return std::make_unique<feedforward_inhibition>(std::move(name), p);
}

std::unique_ptr<population> softmax_competition::create(std::string name,
                                                        const ratesim::parameters& values) {
  const std::string label = fmt::format("softmax_competition \"{}\"", name);
  params p;
  p.size = size_parameter(values, label);
  p.tau_u = values.get("tau_u", p.tau_u);
  values.require_all_used(label);
  return std::make_unique<softmax_competition>(std::move(name), p);
}

std::unique_ptr<population> rate_population::create(std::string name,
                                                    const ratesim::parameters& values) {
  const std::string label = fmt::format("rate_population \"{}\"", name);
  params p;
  p.size = size_parameter(values, label);
  p.tau = values.get("tau", p.tau);
  p.transfer = values.get("transfer", p.transfer);
  values.require_all_used(label);
  return std::make_unique<rate_population>(std::move(name), std::move(p));
}

std::unique_ptr<population> poisson_input::create(std::string name,
                                                  const ratesim::parameters& values) {
  const std::string label = fmt::format("poisson_input \"{}\"", name);
  params p;
  p.size = size_parameter(values, label);
  p.A = values.get("A", p.A);
  p.nu = values.get("nu", p.nu);
  p.tau_x = values.get("tau_x", p.tau_x);
  values.require_all_used(label);
  return std::make_unique<poisson_input>(std::move(name), p);
}

std::unique_ptr<population> stochastic_wta::create(std::string name,
                                                   const ratesim::parameters& values) {
  const std::string label = fmt::format("stochastic_wta \"{}\"", name);
  params p;
  p.size = size_parameter(values, label);
  p.R = values.get("R", p.R);
  p.tau_x = values.get("tau_x", p.tau_x);
  p.trace_sum = values.get("trace_sum", p.trace_sum);
  values.require_all_used(label);
  return std::make_unique<stochastic_wta>(std::move(name), p);
}

registry<population_factory>& population_models() {
  static registry<population_factory> models = [] {
    registry<population_factory> r("population model");
    const parameter_doc size{"size", "", "1", "number of units"};
    const feedforward_inhibition::params ffi;
    r.add("feedforward_inhibition", &feedforward_inhibition::create,
          {size,
           {"A", fmt::format("{}", ffi.A), "1",
            "total normalised activity sum_d y_d; must exceed size (give it)"},
           {"tau_y", fmt::format("{}", ffi.tau_y), "ms", "time constant of the input units"},
           {"tau_h", fmt::format("{}", ffi.tau_h), "ms", "time constant of the inhibitory pool"},
           {"h0", fmt::format("{}", ffi.h0), "1", "initial activity of the inhibitory pool; > 0"}});
    r.add("softmax_competition", &softmax_competition::create,
          {size, {"tau_u", fmt::format("{}", softmax_competition::params{}.tau_u), "ms",
                  "time constant of the competing units"}});
    const rate_population::params rate;
    r.add("rate_population", &rate_population::create,
          {size,
           {"tau", fmt::format("{}", rate.tau), "ms", "time constant"},
           {"transfer", rate.transfer, "", "transfer function, by name (transfer_functions())"}});
    // Spiking (the spiking regime, ratesim/spiking.hpp):
    const poisson_input::params poisson;
    r.add("poisson_input", &poisson_input::create,
          {size,
           {"A", "", "1", "sum_d y_d of the normalised input and of the traces; must exceed size"},
           {"nu", fmt::format("{}", poisson.nu), "1/ms",
            "spikes per ms per unit of y: unit d fires at rate nu y_d"},
           {"tau_x", fmt::format("{}", poisson.tau_x), "ms", "time constant of the traces"}});
    const stochastic_wta::params wta;
    r.add("stochastic_wta", &stochastic_wta::create,
          {size,
           {"R", fmt::format("{}", wta.R), "1/ms",
            "total rate; each spike goes to unit c with probability softmax(u)_c"},
           {"tau_x", fmt::format("{}", wta.tau_x), "ms", "time constant of the units' traces"},
           {"trace_sum", fmt::format("{}", wta.trace_sum), "1",
            "the traces' normalised sum as passed on (0: as they are)"}});
    return r;
  }();
  return models;
}

}  // namespace ratesim
