#pragma once
// Settling a feedforward network: every population at its fixed point for the present
// external input, each after every population that projects to it. The quasi-static
// regime settles once per presentation and owns one of these, whose currents' caches
// (weight_caches) it changes W through. The ODE regime uses one for its clean start.

#include "weight_caches.hpp"

#include <ratesim/network.hpp>

#include <vector>

namespace ratesim {

class settling {
 public:
  // Throws a usage_error naming the loop if the network is not feedforward. The state
  // must be laid out; every cache starts stale.
  explicit settling(network& net);

  // Puts every population at its fixed point; currents reuse cached work for the weight
  // rows nobody marked as changed. Allocates nothing.
  void settle();
  // The rates of population i at the last settle().
  const vector& rates(std::size_t population) const { return rates_[population]; }
  // The currents' caches, which settle() brings to W before using them.
  weight_caches& caches() { return caches_; }

 private:
  network& net_;
  std::vector<std::size_t> order_;
  std::vector<std::vector<std::size_t>> incoming_;  // projections into each population
  weight_caches caches_;
  std::vector<vector> rates_, input_;  // per population
};

}  // namespace ratesim
