#pragma once
// The built-in stimulus sources, one file each, registered in sources.cpp.

#include <ratesim/stimulus.hpp>

namespace ratesim::stimuli {

// `images`: a data spec (ratesim/data.hpp: IDX, FILE.h5:/dataset, .npy, FILE.npz:NAME, .csv),
// one pattern per image.
std::unique_ptr<stimulus> file(const stimulus_context& context, const parameters& values);
// Samples of the bars test's Poisson mixture: `side`, `bar`, `background`, `samples`.
std::unique_ptr<stimulus> bars(const stimulus_context& context, const parameters& values);
struct bars_defaults {
  static constexpr double side = 5, bar = 10.0, background = 1.0, samples = 1000;
};
// `value`: one number for every unit, or an array with one per unit.
std::unique_ptr<stimulus> constant(const stimulus_context& context, const parameters& values);

}  // namespace ratesim::stimuli
