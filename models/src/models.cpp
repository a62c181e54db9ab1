// The built-in population models, by name, and their factories from named parameters.

#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/rate_population.hpp>
#include <ratesim/models/softmax_competition.hpp>

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

registry<population_factory>& population_models() {
  static registry<population_factory> models = [] {
    registry<population_factory> r("population model");
    r.add("feedforward_inhibition", &feedforward_inhibition::create);
    r.add("softmax_competition", &softmax_competition::create);
    r.add("rate_population", &rate_population::create);
    return r;
  }();
  return models;
}

}  // namespace ratesim
