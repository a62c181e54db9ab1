#include <ratesim/error.hpp>
#include <ratesim/models/poisson_input.hpp>

#include <cmath>

#include <fmt/format.h>

namespace ratesim {
namespace {

// `p`, checked before the helper population is made (so that errors name this one).
poisson_input::params checked(const std::string& name, poisson_input::params p) {
  const std::string label = fmt::format("poisson_input \"{}\"", name);
  if (!(std::isfinite(p.A) && p.A > static_cast<double>(p.size)))
    throw_parameter_error(label, "A", fmt::format("> size = {}", p.size), p.A);
  if (!(std::isfinite(p.nu) && p.nu > 0.0))
    throw_parameter_error(label, "nu", "finite and > 0 [spikes/ms]", p.nu);
  return p;
}

}  // namespace

poisson_input::poisson_input(std::string name, params p)
    : spiking_population("poisson_input", name, p.size, p.tau_x, checked(name, p).A),
      p_(p),
      normalization_(std::move(name), {.size = p.size, .A = p.A}),
      fixed_(p.size + 1) {}

double poisson_input::total_rate(vector_view /*input*/) const { return p_.nu * p_.A; }

void poisson_input::spike_probabilities(vector_view input, vector_span p) const {
  normalization_.fixed_point(input, fixed_);
  p = fixed_.tail(size());
}

void poisson_input::check_external_input(vector_view pattern, std::string_view what,
                                         step_count index) const {
  try {
    normalization_.check_external_input(pattern, what, index);
  } catch (const input_error& e) {  // name this population, not the helper
    std::string message = e.what();
    const std::string helper = normalization_.label(), mine = label();
    if (message.rfind(helper, 0) == 0) message.replace(0, helper.size(), mine);
    throw input_error(message);
  }
}

}  // namespace ratesim
