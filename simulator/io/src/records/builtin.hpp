#pragma once
// The built-in record kinds, one file each, registered in kinds.cpp.

#include <ratesim/hdf5_recorder.hpp>

namespace ratesim::records {

// A population's `variable` (a state variable, "rate" or "input"; default "rate"),
// optionally only the unit indices `units`.
void variable(const record_context& context, const parameters& values);
// Snapshots of W of `projection`.
void weights(const record_context& context, const parameters& values);
// Σ_d W_cd of `projection` for every postsynaptic unit c (the metric weight_sum_<name>).
void weight_sums(const record_context& context, const parameters& values);
// The spikes of `population` (a spiking population), in SONATA's layout.
void spikes(const record_context& context, const parameters& values);

// The `projection` a projection's record kind names (required).
std::string projection_parameter(const parameters& values, const std::string& label);
// The `population` a population's record kind names (required).
std::string population_parameter(const parameters& values, const std::string& label);

}  // namespace ratesim::records
