#include <ratesim/error.hpp>
#include <ratesim/models/softmax_competition.hpp>

namespace ratesim {

softmax_competition::softmax_competition(std::string name, params p)
    : population("softmax_competition", std::move(name), p.size), p_(p) {
  require_positive(label(), "tau_u", p_.tau_u);
}

std::vector<state_variable> softmax_competition::state_variables() const {
  return {{"u", 0, size(), "1"}};
}

void softmax_competition::initial_state(vector_span x) const { x.setZero(); }

void softmax_competition::rates(vector_view x, vector_span r) const { softmax(x, r); }

void softmax_competition::derivative(vector_view x, vector_view input, vector_span dxdt) const {
  dxdt = (input - x) / p_.tau_u;
}

void softmax_competition::fixed_point(vector_view input, vector_span x) const { x = input; }

void softmax(vector_view u, vector_span s) {
  const double shift = u.maxCoeff();
  s = (u.array() - shift).exp().matrix();
  s /= s.sum();
}

}  // namespace ratesim
