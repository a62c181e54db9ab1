// The odeint steppers behind ode_simulation, registered by name. The network is the
// odeint system; it is passed with std::cref because odeint copies systems otherwise.

#include <ratesim/error.hpp>
#include <ratesim/simulation.hpp>

#include <boost/numeric/odeint.hpp>
#include <boost/numeric/odeint/external/eigen/eigen.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace ratesim {
namespace {

namespace odeint = boost::numeric::odeint;
using algebra = odeint::vector_space_algebra;

// euler and rk4: exactly one step of dt per clock step.
template <class Stepper>
class fixed_step_integrator : public integrator {
 public:
  void advance(const network& net, vector& x, step_count k0, step_count k1,
               double dt) override {
    for (step_count k = k0; k < k1; ++k) {
      stepper_.do_step(std::cref(net), x, static_cast<double>(k) * dt, dt);
      net.constrain(x);
    }
  }

 private:
  Stepper stepper_;
};

using euler_stepper = odeint::euler<vector, double, vector, double, algebra>;
using rk4_stepper = odeint::runge_kutta4<vector, double, vector, double, algebra>;

// dopri5 with error control: adaptive steps inside [k0·dt, k1·dt], never beyond it.
class dopri5_integrator : public integrator {
  using error_stepper = odeint::runge_kutta_dopri5<vector, double, vector, double, algebra>;
  using controlled = odeint::controlled_runge_kutta<error_stepper>;
  using checker = odeint::default_error_checker<double, algebra, odeint::default_operations>;

 public:
  dopri5_integrator(double abs_tol, double rel_tol)
      : stepper_(checker(abs_tol, rel_tol)), abs_tol_(abs_tol), rel_tol_(rel_tol) {}

  void advance(const network& net, vector& x, step_count k0, step_count k1,
               double dt) override {
    double t = static_cast<double>(k0) * dt;
    const double t_end = static_cast<double>(k1) * dt;
    if (h_ <= 0.0) h_ = dt;
    stepper_.reset();  // the input may have changed: the cached derivative is stale
    int rejected = 0;
    while (t_end - t > 1e-12 * std::max(1.0, t_end)) {
      double h = std::min(h_, t_end - t);
      const bool clipped = h < h_;
      if (stepper_.try_step(std::cref(net), x, t, h) == odeint::success) {
        rejected = 0;
        if (!clipped || h > h_) h_ = h;
        if (net.constrain(x)) stepper_.reset();
      } else {
        h_ = h;
        if (++rejected > max_rejections)
          throw error(fmt::format(
              "ode_simulation: stepper dopri5 cannot meet abs_tol = {}, rel_tol = {} at "
              "t = {} ms: {} step sizes rejected in a row, the last {} ms",
              abs_tol_, rel_tol_, t, rejected, h));
      }
    }
  }

 private:
  static constexpr int max_rejections = 200;
  controlled stepper_;
  double abs_tol_, rel_tol_;
  double h_ = 0.0;  // step size to try next [ms], carried across calls
};

}  // namespace

registry<integrator_factory>& steppers() {
  static registry<integrator_factory> table = [] {
    registry<integrator_factory> t("stepper");
    t.add("euler", [](const ode_options&) {
      return std::make_unique<fixed_step_integrator<euler_stepper>>();
    });
    t.add("rk4", [](const ode_options&) {
      return std::make_unique<fixed_step_integrator<rk4_stepper>>();
    });
    t.add("dopri5", [](const ode_options& o) {
      return std::make_unique<dopri5_integrator>(o.abs_tol, o.rel_tol);
    });
    return t;
  }();
  return table;
}

}  // namespace ratesim
