// The built-in regimes by name: one factory each, from named parameters. A new regime is a
// class derived from `simulation` in a file of its own and one line here (or, from a
// plug-in, one regimes().add call).

#include <ratesim/regimes/ode.hpp>
#include <ratesim/regimes/quasi_static.hpp>
#include <ratesim/regimes/spiking.hpp>

#include <fmt/format.h>

namespace ratesim {
namespace {

// "ode": dt, stepper, abs_tol, rel_tol, exact_log, and settle (start from the fixed point
// of the first input; needs a feedforward network).
std::unique_ptr<simulation> ode(network& net, const parameters& values) {
  ode_options o;
  o.stepper = values.get("stepper", o.stepper);
  o.dt = values.get("dt", o.dt);
  o.abs_tol = values.get("abs_tol", o.abs_tol);
  o.rel_tol = values.get("rel_tol", o.rel_tol);
  o.exact_log = values.get_flag("exact_log", o.exact_log);
  const bool settle = values.get_flag("settle", true);
  values.require_all_used("regime \"ode\"");
  auto sim = std::make_unique<ode_simulation>(net, o);
  if (settle) sim->settle();
  return sim;
}

// "quasi_static": dt, batch_size, exact_sparse, exact_log.
std::unique_ptr<simulation> quasi_static(network& net, const parameters& values) {
  quasi_static_options o;
  o.dt = values.get("dt", o.dt);
  o.batch_size = static_cast<std::size_t>(
      values.get_whole("batch_size", 1, 1, 1e9, "regime \"quasi_static\""));
  o.exact_sparse = values.get_flag("exact_sparse", o.exact_sparse);
  o.exact_log = values.get_flag("exact_log", o.exact_log);
  values.require_all_used("regime \"quasi_static\"");
  return std::make_unique<quasi_static_simulation>(net, o);
}

// "spiking": dt and seed (an experiment gives its own seed unless [run] sets one).
std::unique_ptr<simulation> spiking(network& net, const parameters& values) {
  spiking_options o;
  o.dt = values.get("dt", o.dt);
  o.seed = static_cast<std::uint64_t>(
      values.get_whole("seed", static_cast<double>(o.seed), 0, 9007199254740992.0,
                       "regime \"spiking\""));
  values.require_all_used("regime \"spiking\"");
  return std::make_unique<spiking_simulation>(net, o);
}

}  // namespace

registry<regime_factory>& regimes() {
  static registry<regime_factory> table = [] {
    registry<regime_factory> r("regime");
    const ode_options ode_defaults;
    r.add("ode", &ode,
          {{"dt", fmt::format("{}", ode_defaults.dt), "ms",
            "the clock step: the step of euler and rk4, the largest of dopri5"},
           {"stepper", fmt::format("\"{}\"", ode_defaults.stepper), "",
            "the odeint stepper, by name (euler, rk4, dopri5)"},
           {"abs_tol", fmt::format("{}", ode_defaults.abs_tol), "1", "dopri5's absolute tolerance"},
           {"rel_tol", fmt::format("{}", ode_defaults.rel_tol), "1", "dopri5's relative tolerance"},
           {"exact_log", ode_defaults.exact_log ? "true" : "false", "",
            "euler: compute ln W anew at every step instead of following it by a series"},
           {"settle", "true", "", "start at the fixed point of the first input (feedforward)"}});
    const quasi_static_options qs;
    r.add("quasi_static", &quasi_static,
          {{"dt", fmt::format("{}", qs.dt), "ms",
            "the clock resolution; a pattern's duration is a multiple"},
           {"batch_size", fmt::format("{}", qs.batch_size), "1",
            "presentations whose weight steps are summed, computed with the same weights"},
           {"exact_sparse", qs.exact_sparse ? "true" : "false", "",
            "skip weight rows whose update rounds away (the same bits either way)"},
           {"exact_log", qs.exact_log ? "true" : "false", "",
            "compute ln W anew after every step instead of following it by a series"}});
    r.add("spiking", &spiking,
          {{"dt", fmt::format("{}", spiking_options{}.dt), "ms", "clock resolution"},
           {"seed", "the experiment's seed", "",
            "keys every spike drawn (random_stream(seed, \"spikes.<population>\", step))"}});
    return r;
  }();
  return table;
}

}  // namespace ratesim
