#pragma once
// The one clock. Simulated time is an integer number of steps of dt; milliseconds become
// steps here and nowhere else, by one of two roundings, each for its own use:
//
// - exact_steps: a length that must be a whole number of steps: a run's duration, a
//   stimulus presentation, a sampling interval. Within 1e-9 relative of a multiple of dt
//   it is that multiple; anything else is the caller's error to report (each names its
//   own parameter), because rounding a length would change what is simulated.
// - first_step_at: the first step at or after a moment: a schedule's start and stop,
//   --stop-at and --checkpoint-every. A moment between two steps is taken at the next
//   one (ceil), and one a rounding error past a step (1e-9 of a step) still at that step,
//   so that 0.3 ms at dt = 0.1 ms is step 3, not 4.
//
// A schedule says when an observer samples, in ms (what a user writes); step_schedule is
// the same resolved on a clock, and answers "is this step due" and "which step is next".

#include <ratesim/types.hpp>

#include <limits>
#include <optional>

namespace ratesim {

// A step that never comes (an input that never changes, a schedule with no end).
inline constexpr step_count never = std::numeric_limits<step_count>::max();
// The most steps a clock counts: sums of two step counts cannot overflow.
inline constexpr step_count max_steps = step_count{1} << 62;

// The number of steps of `dt` [ms] in `ms`, when it is a whole number of them (within 1e-9
// relative) from 0 to max_steps; nullopt otherwise (negative, not finite, not a multiple).
std::optional<step_count> exact_steps(double ms, double dt);

// The first step at or after the moment `ms` >= 0: ceil(ms / dt − 1e-9); `never` for
// +infinity and for moments beyond max_steps.
step_count first_step_at(double ms, double dt);

// When to sample: at steps start, start + every, … before stop. Give `every` in ms or
// `every_steps` in clock steps (neither: every step). `every` must be a whole number of
// steps dt; start and stop are taken at the first step at or after them.
struct schedule {
  double every = 0.0;          // sampling interval [ms]
  step_count every_steps = 0;  // sampling interval [clock steps]
  double start = 0.0;          // first sample at or after this time [ms]
  double stop = std::numeric_limits<double>::infinity();  // no sample at or after [ms]
};

// A schedule on a clock: steps first, first + every, … before stop.
struct step_schedule {
  step_count first = 0, every = 1, stop = never;

  bool due(step_count step) const {
    return step >= first && step < stop && (step - first) % every == 0;
  }
  // The first due step >= `from`, or `never`.
  step_count next_due(step_count from) const {
    step_count s = first;
    if (from > first) s = first + (from - first + every - 1) / every * every;
    return s < stop ? s : never;
  }
};

}  // namespace ratesim
