#pragma once
// The built-in weight initialisers, one file each, registered in initializers.cpp.

#include <ratesim/projection.hpp>

namespace ratesim::initializers {

// W_cd uniform in [`low`, `high`), rows rescaled to `row_sum` if given.
matrix uniform(const weight_context& context, const parameters& values);
// Every W_cd = `value`, rows rescaled to `row_sum` if given.
matrix constant(const weight_context& context, const parameters& values);
// The mean of the rates the presynaptic population settles to under its stimulus's
// patterns, plus `noise`, rows rescaled to `row_sum` (required).
matrix data_mean(const weight_context& context, const parameters& values);
constexpr double data_mean_noise = 0.5;  // data_mean's default `noise`
// W read from `path` (a file as `ratesim fit` reads images: IDX, FILE.h5:/dataset, .npy,
// FILE.npz:NAME or .csv), one row of the file per postsynaptic unit; rows rescaled to
// `row_sum` if given.
matrix file(const weight_context& context, const parameters& values);

}  // namespace ratesim::initializers
