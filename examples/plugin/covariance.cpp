// The covariance rule (Sejnowski 1977) as a plug-in, with fixed mean rates:
//
//   τ dW_cd/dt = (r_c − θ_post) (x_d − θ_pre)
//
// Potentiation when both rates lie on the same side of their means, depression otherwise.

#include <ratesim/error.hpp>
#include <ratesim/plugin.hpp>
#include <ratesim/rule.hpp>

namespace {

class covariance_rule : public ratesim::plasticity_rule {
 public:
  covariance_rule(double tau, double theta_pre, double theta_post)
      : tau_(tau), theta_pre_(theta_pre), theta_post_(theta_post) {
    ratesim::require_positive("rule \"covariance\"", "tau", tau_);
  }

  static std::unique_ptr<ratesim::plasticity_rule> create(const ratesim::parameters& values) {
    const double tau = values.get("tau", 1000.0);            // [ms]
    const double theta_pre = values.get("theta_pre", 0.5);   // mean presynaptic rate
    const double theta_post = values.get("theta_post", 0.5); // mean postsynaptic rate
    values.require_all_used("rule \"covariance\"");
    return std::make_unique<covariance_rule>(tau, theta_pre, theta_post);
  }

  std::string_view name() const override { return "covariance"; }
  void derivative(ratesim::matrix_view, ratesim::vector_view pre, ratesim::vector_view post,
                  ratesim::matrix_span dWdt) const override {
    dWdt.noalias() = ((post.array() - theta_post_) / tau_).matrix() *
                     (pre.array() - theta_pre_).matrix().transpose();
  }

 private:
  double tau_, theta_pre_, theta_post_;
};

}  // namespace

extern "C" const ratesim::plugin_info* ratesim_plugin() {
  static const ratesim::plugin_info info{
      ratesim::plugin_abi, ratesim::version, "covariance rule",
      [] { ratesim::plasticity_rules().add("covariance", &covariance_rule::create); }};
  return &info;
}
