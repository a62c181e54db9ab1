// The built-in rules and the registry that holds them. A rule defined elsewhere (in a
// user's program or a plug-in) registers itself with plasticity_rules().add(...).

#include <ratesim/plasticity/normalized_hebbian.hpp>
#include <ratesim/plasticity/oja.hpp>
#include <ratesim/plasticity/synaptic_scaling.hpp>
#include <ratesim/rule.hpp>

namespace ratesim {

registry<rule_factory>& plasticity_rules() {
  static registry<rule_factory> rules = [] {
    registry<rule_factory> r("plasticity rule");
    r.add("synaptic_scaling", &synaptic_scaling_rule::create);
    r.add("oja", &oja_rule::create);
    r.add("normalized_hebbian", &normalized_hebbian_rule::create);
    return r;
  }();
  return rules;
}

std::unique_ptr<plasticity_rule> make_rule(std::string_view name, const parameters& values) {
  return plasticity_rules().get(name)(values);
}

}  // namespace ratesim
