#pragma once
// An observer looks at the network on a schedule of clock steps: recorders, progress
// reporters, metrics. It sees the network as const: observing never changes the result.

#include <ratesim/clock.hpp>
#include <ratesim/types.hpp>

#include <cstdint>
#include <span>

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
  // The spikes of one clock step (the spiking regime): `units` of population `population`
  // (its index in the network) fired in the step that ends at clock step `step`, in the
  // order they were drawn (a unit may appear more than once). Called before observe() of
  // the same step, only for steps with spikes. The default ignores them.
  virtual void spikes(step_count /*step*/, std::size_t /*population*/,
                      std::span<const std::uint32_t> /*units*/) {}
  // Called at the end of every run (a run boundary): push buffered data out.
  virtual void flush() = 0;
};

// An observer of spikes only: it implements spikes() and sees no state.
class spike_observer : public observer {
 public:
  void start(const network&, double) override {}
  step_count next_due(step_count) const override { return never; }
  void observe(step_count, const network&) override {}
  void flush() override {}
};

}  // namespace ratesim
