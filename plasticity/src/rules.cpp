// The built-in rules, weight and intrinsic, and the registries that hold them. A rule defined elsewhere (in a
// user's program or a plug-in) registers itself with plasticity_rules().add(...).

#include <ratesim/intrinsic.hpp>
#include <ratesim/plasticity/bcm.hpp>
#include <ratesim/plasticity/homeostasis.hpp>
#include <ratesim/plasticity/learned_priors.hpp>
#include <ratesim/plasticity/nessler.hpp>
#include <ratesim/plasticity/normalized_hebbian.hpp>
#include <ratesim/plasticity/oja.hpp>
#include <ratesim/plasticity/sliding_threshold.hpp>
#include <ratesim/plasticity/spike_scaling.hpp>
#include <ratesim/plasticity/synaptic_scaling.hpp>
#include <ratesim/rule.hpp>

#include <fmt/format.h>

namespace ratesim {

registry<rule_factory>& plasticity_rules() {
  static registry<rule_factory> rules = [] {
    registry<rule_factory> r("plasticity rule");
    r.add("synaptic_scaling", &synaptic_scaling_rule::create,
          {{"tau", fmt::format("{}", synaptic_scaling_rule::params{}.tau), "ms",
            "learning time constant tau_W"},
           {"divide_by", "\"\"", "",
            "a variable v of the postsynaptic population (e.g. \"prior\") dividing each "
            "unit's step by its relative value: tau dW_cd/dt = s_c (y_d - W_cd) mean(v) / v_c; "
            "none when empty"}});
    r.add("oja", &oja_rule::create,
          {{"tau", fmt::format("{}", oja_rule::params{}.tau), "ms", "learning time constant"}});
    const normalized_hebbian_rule::params hebbian;
    r.add("normalized_hebbian", &normalized_hebbian_rule::create,
          {{"tau", fmt::format("{}", hebbian.tau), "ms", "learning time constant"},
           {"A", fmt::format("{}", hebbian.A), "1",
            "the row sum sum_d W_cd restored after every step"}});
    const bcm_rule::params bcm;
    r.add("bcm", &bcm_rule::create,
          {{"tau", fmt::format("{}", bcm.tau), "ms", "learning time constant"},
           {"theta", fmt::format("{}", bcm.theta), "rate",
            "a fixed threshold: tau dW_cd/dt = r_c (r_c - theta) x_d"},
           {"theta_from", "\"\"", "",
            "a variable of the postsynaptic population holding each unit's threshold "
            "(e.g. \"threshold\" of intrinsic rule sliding_threshold), instead of theta"}});
    // Spike-triggered (the spiking regime, ratesim/spiking.hpp):
    const std::string eta = fmt::format("{}", spike_scaling_rule::params{}.eta);
    r.add("spike_scaling", &spike_scaling_rule::create,
          {{"eta", eta, "1",
            "step per postsynaptic spike, in (0, 1): W_c += eta (x_hat - W_c) at a spike of c"}});
    r.add("nessler", &nessler_rule::create,
          {{"eta", eta, "1",
            "step per postsynaptic spike, in (0, 1): ln W_cd += eta (x_hat_d / W_cd - 1) at a "
            "spike of c"}});
    return r;
  }();
  return rules;
}

std::unique_ptr<plasticity_rule> make_rule(std::string_view name, const parameters& values) {
  return plasticity_rules().get(name)(values);
}

registry<intrinsic_factory>& intrinsic_rules() {
  static registry<intrinsic_factory> rules = [] {
    registry<intrinsic_factory> r("intrinsic rule");
    r.add("homeostasis", &homeostasis_rule::create,
          {{"tau", fmt::format("{}", homeostasis_rule::params{}.tau), "ms",
            "time constant tau_b of the bias"},
           {"target", "1/size", "1", "the activity m each unit is driven toward"}});
    r.add("priors", &learned_priors_rule::create,
          {{"tau", fmt::format("{}", learned_priors_rule::params{}.tau), "ms",
            "time constant tau_pi of the priors (the mean of the rates over about tau_pi)"}});
    const sliding_threshold_rule::params sliding;
    r.add("sliding_threshold", &sliding_threshold_rule::create,
          {{"tau", fmt::format("{}", sliding.tau), "ms",
            "time constant tau_theta: tau_theta dtheta_c/dt = r_c^2 - theta_c"},
           {"initial", fmt::format("{}", sliding.initial), "rate^2", "theta of a fresh network"}});
    return r;
  }();
  return rules;
}

std::unique_ptr<intrinsic_rule> make_intrinsic_rule(std::string_view name, const parameters& values) {
  return intrinsic_rules().get(name)(values);
}

}  // namespace ratesim
