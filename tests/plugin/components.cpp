// A plug-in that adds one component of each open kind: a stimulus source, a weight
// initialiser, a record kind (used by components.toml), a population model, an intrinsic
// rule and a regime (used by regime.toml), each from `ratesim run --plugin` and from Python
// (tests/plugin/run.cmake). Nothing in it is known to the engine.
#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/intrinsic.hpp>
#include <ratesim/network.hpp>
#include <ratesim/plugin.hpp>
#include <ratesim/population.hpp>
#include <ratesim/projection.hpp>
#include <ratesim/simulation.hpp>
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

// "rectified": τ du/dt = −u + I, rate max(u, 0); its fixed point is u = I.
class rectified : public population {
 public:
  rectified(std::string name, std::size_t size, double tau)
      : population("rectified", std::move(name), size), tau_(tau) {
    require_positive(label(), "tau", tau_);
  }
  std::vector<state_variable> state_variables() const override {
    return {{"u", 0, size(), "1"}};
  }
  void initial_state(vector_span x) const override { x.setZero(); }
  void rates(vector_view x, vector_span r) const override { r = x.cwiseMax(0.0); }
  void derivative(vector_view x, vector_view input, vector_span dxdt) const override {
    dxdt = (input - x) / tau_;
  }
  void fixed_point(vector_view input, vector_span x) const override { x = input; }

 private:
  double tau_;
};

std::unique_ptr<population> make_rectified(std::string name, const parameters& values) {
  const std::size_t size = size_parameter(values, "rectified");
  const double tau = values.get("tau", 1.0);
  values.require_all_used("rectified");
  return std::make_unique<rectified>(std::move(name), size, tau);
}

// "adaptation": rate adaptation as intrinsic plasticity, τ_a da/dt = r − a with bias −a.
class adaptation : public intrinsic_rule {
 public:
  explicit adaptation(double tau) : tau_(tau) { require_positive("adaptation", "tau", tau_); }
  std::string_view name() const override { return "adaptation"; }
  std::string_view variable() const override { return "a"; }
  void initial_state(vector_span theta) const override { theta.setZero(); }
  void bias(vector_view theta, vector_span b) const override { b = -theta; }
  void derivative(vector_view theta, vector_view rates, vector_span dtheta) const override {
    dtheta = (rates - theta) / tau_;
  }

 private:
  double tau_;
};

std::unique_ptr<intrinsic_rule> make_adaptation(const parameters& values) {
  const double tau = values.get("tau", 1.0);
  values.require_all_used("adaptation");
  return std::make_unique<adaptation>(tau);
}

// "forward_euler": x ← x + dt · f(x) every clock step, then the rules' constraints; the
// ODE regime's euler stepper written against the public interface of `simulation`, so its
// traces must equal regime "ode" with stepper "euler" bit for bit (without plastic
// log-weight projections, whose ln W that euler follows by a series; with exact_log, always).
class forward_euler : public simulation {
 public:
  forward_euler(network& net, double dt)
      : simulation(net, dt, "forward_euler"), dxdt_(vector::Zero(net.state().size())) {}

  void run_steps(step_count n) override {
    vector& x = net_.state();
    net_.check_before_run(time());
    paused_ = false;
    update_inputs(0);
    observe(steps_);
    const step_count end = steps_ + n;
    while (steps_ < end && !pause_due()) {
      update_inputs(1);
      net_(x, dxdt_, time());
      x += dt_ * dxdt_;
      net_.constrain(x);
      ++steps_;
      net_.check_state(x, time());
      observe(steps_);
    }
    finish_run();
  }

 private:
  void save_regime(checkpoint&) const override {}  // nothing but the network's state
  void restore_regime(const checkpoint&) override {}
  vector dxdt_;
};

std::unique_ptr<simulation> make_forward_euler(network& net, const parameters& values) {
  const double dt = values.get("dt", 0.1);
  values.require_all_used("regime \"forward_euler\"");
  return std::make_unique<forward_euler>(net, dt);
}

}  // namespace

extern "C" const ratesim::plugin_info* ratesim_plugin() {
  static const ratesim::plugin_info info{
      ratesim::plugin_abi, ratesim::version, "test components", [] {
        ratesim::stimulus_sources().add("ramp", &ramp);
        ratesim::weight_initializers().add("eye", &eye);
        ratesim::record_kinds().add("rate_sum", &rate_sum);
        ratesim::population_models().add("rectified", &make_rectified);
        ratesim::regimes().add("forward_euler", &make_forward_euler);
        ratesim::intrinsic_rules().add("adaptation", &make_adaptation);
      }};
  return &info;
}
