#include <ratesim/error.hpp>
#include <ratesim/models/rate_population.hpp>

namespace ratesim {

registry<transfer_function>& transfer_functions() {
  static registry<transfer_function> table = [] {
    registry<transfer_function> t("transfer function");
    t.add("linear", [](vector_view u, vector_span r) { r = u; });
    t.add("relu", [](vector_view u, vector_span r) { r = u.cwiseMax(0.0); });
    t.add("sigmoid", [](vector_view u, vector_span r) {
      r = (1.0 / (1.0 + (-u.array()).exp())).matrix();
    });
    t.add("tanh", [](vector_view u, vector_span r) { r = u.array().tanh().matrix(); });
    t.add("softmax", &softmax);
    return t;
  }();
  return table;
}

void softmax(vector_view u, vector_span s) {
  const double shift = u.maxCoeff();
  s = (u.array() - shift).exp().matrix();
  s /= s.sum();
}

rate_population::rate_population(std::string name, params p)
    : rate_population("rate_population", std::move(name), std::move(p), "tau") {}

rate_population::rate_population(std::string kind, std::string name, params p,
                                 std::string_view tau_name)
    : population(std::move(kind), std::move(name), p.size), p_(std::move(p)) {
  require_positive(label(), tau_name, p_.tau);
  try {
    f_ = transfer_functions().get(p_.transfer);
  } catch (const lookup_error& e) {
    throw lookup_error(fmt::format("{}: transfer: {}", label(), e.what()));
  }
}

std::vector<state_variable> rate_population::state_variables() const {
  return {{"u", 0, size(), "1"}};
}

void rate_population::initial_state(vector_span x) const { x.setZero(); }

void rate_population::rates(vector_view x, vector_span r) const { f_(x, r); }

void rate_population::derivative(vector_view x, vector_view input, vector_span dxdt) const {
  dxdt = (input - x) / p_.tau;
}

void rate_population::fixed_point(vector_view input, vector_span x) const { x = input; }

}  // namespace ratesim
