// The odeint steppers behind ode_simulation, registered by name. The network is the
// odeint system; it is passed with std::cref because odeint copies systems otherwise.

#include <ratesim/error.hpp>
#include <ratesim/parallel.hpp>
#include <ratesim/regimes/ode.hpp>

#include "weight_caches.hpp"

#include <boost/numeric/odeint.hpp>
#include <boost/numeric/odeint/external/eigen/eigen.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <tuple>
#include <utility>

namespace ratesim {
namespace {

namespace odeint = boost::numeric::odeint;

// odeint's vector operations (x ← x + h·k₁, the stages of rk4 and dopri5, the error
// estimate) on Eigen vectors, piece by piece on OpenMP's threads (for_each_piece). Each
// operation odeint asks of an algebra is element-wise, so the bits are those of the
// whole-vector operation on any number of threads; the max-norm is exact in any order.
struct pieces_algebra {
  // for_eachN(s1, …, sN, op): op(s1, …, sN) on matching pieces of the N vectors.
  template <class... A>
  static void each(A&&... a) {
    constexpr std::size_t n = sizeof...(A) - 1;  // the last argument is the operation
    const auto args = std::forward_as_tuple(a...);
    auto& op = std::get<n>(args);
    for_each_piece(static_cast<std::size_t>(std::get<0>(args).size()), 1,
                   [&](std::size_t first, std::size_t count) {
                     const auto f = static_cast<Eigen::Index>(first);
                     const auto m = static_cast<Eigen::Index>(count);
                     [&]<std::size_t... i>(std::index_sequence<i...>) {
                       auto pieces = std::make_tuple(std::get<i>(args).segment(f, m)...);
                       std::apply(op, pieces);
                     }(std::make_index_sequence<n>{});
                   });
  }
  // odeint calls them by name.
  template <class... A> static void for_each1(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each2(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each3(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each4(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each5(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each6(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each7(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each8(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each9(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each10(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each11(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each12(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each13(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each14(A&&... a) { each(std::forward<A>(a)...); }
  template <class... A> static void for_each15(A&&... a) { each(std::forward<A>(a)...); }
  static double norm_inf(const vector& x) { return x.lpNorm<Eigen::Infinity>(); }
};
using algebra = pieces_algebra;

// euler and rk4: exactly one step of dt per clock step.
template <class Stepper>
class fixed_step_integrator : public integrator {
 public:
  void advance(network& net, vector& x, step_count k0, step_count k1, double dt,
               bool /*inputs_changed: these steppers cache nothing*/) override {
    for (step_count k = k0; k < k1; ++k) {
      stepper_.do_step(std::cref(net), x, static_cast<double>(k) * dt, dt);
      net.constrain(x);
      net.check_state(x, static_cast<double>(k + 1) * dt);
    }
  }

 private:
  Stepper stepper_;
};

using euler_stepper = odeint::euler<vector, double, vector, double, algebra>;

// euler, x += dt · dx/dt, with the currents' caches kept between steps (weight_caches): a
// log-weight current's ln W follows each weight step by a series (current_cache::step,
// within 1e-12 of ln W and computed anew every 1,000 steps) instead of C·D logarithms at
// every step, and a rule of the scaling form never forms dW/dt
// (plasticity_rule::scaling_form). The populations and θ take odeint's euler's bits; the
// weights W + (dt · learning-rate scale) · dW/dt. The caches are state: checkpoints keep
// them ("ode.current_cache.<projection>"), and a run that follows one without a change
// of W goes on from their bits, so where a run is split or resumed changes nothing.
class cached_euler_integrator : public integrator {
 public:
  void start_run(network& net) override {
    prepare(net);
    caches_->mark_all_changed();  // kept by the log-weight caches if W did not change
  }

  void advance(network& net, vector& x, step_count k0, step_count k1, double dt,
               bool /*inputs_changed*/) override {
    try {
      steps(net, x, k0, k1, dt);
    } catch (...) {  // W may have changed where no cache followed (a constraint that threw)
      caches_->mark_all_changed();
      throw;
    }
  }

  void finish_run(network& /*net*/) override {
    caches_->sync();  // the caches at the run's W, kept by the next run if W stays
  }

  void save(const network&, checkpoint& c) const override {
    if (caches_) caches_->save(c, "ode");
  }
  void restore(network& net, const checkpoint& c) override {
    prepare(net);
    caches_->restore(c, "ode", "ode_simulation");
  }

 private:
  void steps(network& net, vector& x, step_count k0, step_count k1, double dt) {
    const auto& projections = net.projections();
    for (step_count k = k0; k < k1; ++k) {
      net.derivative_except_weights(x, dxdt_, current_);
      // Every weight step at x (its rates and post variables) before x changes.
      const double factor = dt * net.learning_rate_scale();
      for (std::size_t j = 0; j < projections.size(); ++j) {
        const projection& p = projections[j];
        if (!p.plastic()) continue;
        const vector& pre = net.last_rates(p.pre());
        const vector& post = net.last_rates(p.post());
        if (net.scaling_form(j, x, pre, post, q_[j])) {
          change_[j] = {.factor = factor, .pre = &pre, .q = &q_[j]};
        } else {
          net.weight_derivative(j, x, pre, post, dw_[j]);
          change_[j] = {.factor = factor, .dW = &dw_[j]};
        }
      }
      x.head(head_) += dt * dxdt_.head(head_);
      bool usable = true;
      for (std::size_t j = 0; j < projections.size(); ++j)
        if (projections[j].plastic())
          usable = caches_->step_weights(j, net.weights(j), change_[j], true) && usable;
      net.constrain_intrinsic(x);
      if (net.constrain_weights(x)) {  // W changed where no cache followed: checked whole
        caches_->mark_all_changed();
        usable = false;
      }
      const double t = static_cast<double>(k + 1) * dt;
      if (usable)
        net.check_populations(x, t);
      else
        net.check_state(x, t);  // names the weight
    }
  }

  // Sized once, at the first run or restore (the network's structure is fixed by then).
  void prepare(network& net) {
    if (caches_) return;
    caches_ = std::make_unique<weight_caches>(net);
    current_ = [this](std::size_t j, vector_view pre, vector_span out) { caches_->add(j, pre, out); };
    const vector& x = net.state();
    dxdt_ = vector::Zero(x.size());
    head_ = x.size();
    for (const projection& p : net.projections()) {
      const bool plastic = p.plastic();
      q_.emplace_back(plastic ? vector(p.rows()) : vector());
      dw_.emplace_back(plastic ? matrix(p.rows(), p.cols()) : matrix());
      change_.emplace_back();
      if (plastic) head_ -= p.rows() * p.cols();
    }
  }

  std::unique_ptr<weight_caches> caches_;
  network::current_source current_;
  vector dxdt_;                       // of the populations and θ (the head of the state)
  Eigen::Index head_ = 0;             // the populations' and θ's entries in the state
  std::vector<vector> q_;             // per projection: q of a rule's scaling form
  std::vector<matrix> dw_;            // per projection: dW/dt of another rule
  std::vector<weight_step> change_;   // per projection: this step's
};
using rk4_stepper = odeint::runge_kutta4<vector, double, vector, double, algebra>;

// dopri5 with error control: adaptive steps inside every clock step [k·dt, (k+1)·dt], never
// across a tick, so the result does not depend on where a run is split. The step size and
// the first-same-as-last derivative carry over from tick to tick until the input changes.
class dopri5_integrator : public integrator {
  using error_stepper = odeint::runge_kutta_dopri5<vector, double, vector, double, algebra>;
  using controlled = odeint::controlled_runge_kutta<error_stepper>;
  using checker = odeint::default_error_checker<double, algebra, odeint::default_operations>;

 public:
  dopri5_integrator(double abs_tol, double rel_tol)
      : stepper_(checker(abs_tol, rel_tol)), abs_tol_(abs_tol), rel_tol_(rel_tol) {}

  void advance(network& net, vector& x, step_count k0, step_count k1, double dt,
               bool inputs_changed) override {
    if (h_ <= 0.0) h_ = dt;
    if (inputs_changed) stepper_.reset();  // the cached derivative is stale
    for (step_count k = k0; k < k1; ++k)
      tick(net, x, static_cast<double>(k) * dt, static_cast<double>(k + 1) * dt);
  }

  // The step size carries over; the first-same-as-last derivative is recomputed after a
  // restore, which gives the same bits (it is f at the same state).
  void save(const network&, checkpoint& c) const override {
    c.set_number("integrator.dopri5.h", h_);
  }
  void restore(network&, const checkpoint& c) override {
    const double h = c.number("integrator.dopri5.h");
    if (!(std::isfinite(h) && h >= 0.0))
      throw input_error(fmt::format("ode_simulation: the checkpoint's dopri5 step size is {}", h));
    h_ = h;
    stepper_.reset();
  }

 private:
  void tick(const network& net, vector& x, double t, double t_end) {
    int rejected = 0;
    while (t_end - t > 1e-12 * std::max(1.0, t_end)) {
      double h = std::min(h_, t_end - t);
      const bool clipped = h < h_;
      if (stepper_.try_step(std::cref(net), x, t, h) == odeint::success) {
        rejected = 0;
        if (!clipped || h > h_) h_ = h;  // a step cut short at the tick says little
        if (net.constrain(x)) stepper_.reset();
        net.check_state(x, t);
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

  static constexpr int max_rejections = 200;
  controlled stepper_;
  double abs_tol_, rel_tol_;
  double h_ = 0.0;  // step size to try next [ms], carried across calls
};

}  // namespace

registry<integrator_factory>& steppers() {
  static registry<integrator_factory> table = [] {
    registry<integrator_factory> t("stepper");
    t.add("euler", [](const ode_options& o) -> std::unique_ptr<integrator> {
      if (o.exact_log) return std::make_unique<fixed_step_integrator<euler_stepper>>();
      return std::make_unique<cached_euler_integrator>();
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
