// The BCM rule (Bienenstock, Cooper & Munro 1982) with a fixed threshold θ, as a plug-in:
//
//   τ dW_cd/dt = r_c (r_c − θ) x_d
//
// Potentiation when the postsynaptic rate exceeds θ, depression below it.

#include <ratesim/error.hpp>
#include <ratesim/plugin.hpp>
#include <ratesim/rule.hpp>

namespace {

class bcm_rule : public ratesim::plasticity_rule {
 public:
  bcm_rule(double tau, double theta) : tau_(tau), theta_(theta) {
    ratesim::require_positive("rule \"bcm\"", "tau", tau_);
  }

  static std::unique_ptr<ratesim::plasticity_rule> create(const ratesim::parameters& values) {
    const double tau = values.get("tau", 1000.0);   // [ms]
    const double theta = values.get("theta", 1.0);  // threshold rate
    values.require_all_used("rule \"bcm\"");
    return std::make_unique<bcm_rule>(tau, theta);
  }

  std::string_view name() const override { return "bcm"; }
  void derivative(ratesim::matrix_view, ratesim::vector_view pre, ratesim::vector_view post,
                  ratesim::matrix_span dWdt) const override {
    dWdt.noalias() = (post.array() * (post.array() - theta_) / tau_).matrix() * pre.transpose();
  }

 private:
  double tau_, theta_;
};

}  // namespace

extern "C" const ratesim::plugin_info* ratesim_plugin() {
  static const ratesim::plugin_info info{
      ratesim::plugin_abi, ratesim::version, "BCM rule",
      [] { ratesim::plasticity_rules().add("bcm", &bcm_rule::create); }};
  return &info;
}
