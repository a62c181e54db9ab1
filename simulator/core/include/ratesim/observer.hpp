#pragma once
// An observer looks at the network on a schedule of clock steps: recorders, progress
// reporters, metrics. It sees the network as const: observing never changes the result.

#include <ratesim/clock.hpp>
#include <ratesim/types.hpp>

namespace ratesim {

class network;

class observer {
 public:
  static constexpr step_count never = ratesim::never;

  virtual ~observer() = default;

  // Called once when attached to a simulation with clock step `dt` [ms], before anything
  // runs: validate the schedule and set up buffers and files here.
  virtual void start(const network& net, double dt) = 0;
  // The first step ≥ `from` at which this observer wants to see the network, or `never`.
  virtual step_count next_due(step_count from) const = 0;
  // Sees the network's state at clock step `step`.
  virtual void observe(step_count step, const network& net) = 0;
  // Called at the end of every run (a run boundary): push buffered data out.
  virtual void flush() = 0;
};

}  // namespace ratesim
