#include "settling.hpp"

namespace ratesim {

settling::settling(network& net)
    : net_(net), order_(net.feedforward_order()), caches_(net) {
  for (std::size_t i = 0; i < net_.population_count(); ++i) {
    incoming_.push_back(net_.incoming(i));
    const auto n = static_cast<Eigen::Index>(net_.get_population(i).size());
    rates_.emplace_back(vector::Zero(n));
    input_.emplace_back(vector::Zero(n));
  }
}

void settling::settle() {
  const auto& projections = net_.projections();
  for (std::size_t i : order_) {
    input_[i] = net_.external_input(i);
    net_.add_bias(i, input_[i]);
    for (std::size_t k : incoming_[i]) caches_.add(k, rates_[projections[k].pre()], input_[i]);
    const population& pop = net_.get_population(i);
    auto x = net_.state_of(i);
    pop.fixed_point(input_[i], x);
    pop.rates(x, rates_[i]);
  }
}

}  // namespace ratesim
