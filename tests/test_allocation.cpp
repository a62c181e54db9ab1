// No heap allocation inside the step loop: every buffer is sized once. This suite replaces
// the global operator new to count allocations while a warmed-up simulation runs.

#include "circuit.hpp"
#include "scratch.hpp"

#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/models/poisson_input.hpp>
#include <ratesim/models/stochastic_wta.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/regimes/quasi_static.hpp>
#include <ratesim/regimes/spiking.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<long> allocations{0};
}

void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace ratesim {
namespace {

// Allocations made by f().
template <class F>
long count_allocations(F&& f) {
  const long before = allocations.load();
  f();
  return allocations.load() - before;
}

void build(network& net, const std::string& rule = "synaptic_scaling") {
  random_stream rng(1, 0);
  testing::build_circuit(net, {.D = 64, .C = 8, .A = 200.0, .tau_W = 100.0, .rule = rule}, rng);
  net.stimulate("input", std::make_unique<pattern_set>(
                             testing::random_patterns(64, 10, rng),
                             pattern_set::params{.duration = 1.0,
                                                 .ordering = pattern_set::order::shuffled}));
}

class StepLoop : public ::testing::TestWithParam<std::string> {};

TEST_P(StepLoop, OdeRegimeAllocatesNothingAfterWarmUp) {
  network net;
  build(net);
  ode_simulation sim(net, {.stepper = GetParam(), .dt = 0.1});
  sim.run(20.0);  // warm-up: the steppers size their buffers on first use
  EXPECT_EQ(count_allocations([&] { sim.run(50.0); }), 0);
}

INSTANTIATE_TEST_SUITE_P(Steppers, StepLoop, ::testing::Values("euler", "rk4", "dopri5"));

TEST(StepLoop, QuasiStaticRegimeAllocatesNothing) {
  for (std::size_t batch : {1u, 4u}) {
    network net;
    build(net);
    quasi_static_simulation sim(net, {.batch_size = batch});
    sim.run_presentations(30);
    EXPECT_EQ(count_allocations([&] { sim.run_presentations(100); }), 0) << "batch " << batch;
  }
}

TEST(StepLoop, ConstrainedRuleAllocatesNothing) {
  network net;
  build(net, "normalized_hebbian");
  ode_simulation sim(net, {.stepper = "dopri5", .dt = 0.1});
  sim.run(5.0);
  EXPECT_EQ(count_allocations([&] { sim.run(20.0); }), 0);
}

using SpikeRecording = testing::scratch_test;

// Spikes go into the recorder's buffer, which grows only when one step's spikes overrun
// it: allocations come with its writes (their messages; HDF5's own use malloc), never
// with the spikes.
TEST_F(SpikeRecording, AllocatesPerWriteNotPerSpike) {
  network net;
  random_stream rng(1, 0);
  net.add<poisson_input>("input", {.size = 12, .A = 24.0, .nu = 0.5});  // 12 spikes/ms
  net.add<stochastic_wta>("output", {.size = 3, .R = 0.5});
  net.connect("input", "output", {.name = "ff", .weights = matrix::Constant(3, 12, 2.0)});
  net.stimulate("input", std::make_unique<pattern_set>(testing::random_patterns(12, 10, rng),
                                                       pattern_set::params{.duration = 20.0}));
  spiking_simulation sim(net, {.dt = 0.5, .seed = 2});
  sim.run(100.0);
  const long regime = count_allocations([&] { sim.run(1000.0); });
  hdf5_recorder out(file("spikes.h5"), {.flush_every = 1024});
  out.record_spikes("input");
  out.record_spikes("output");
  sim.attach(out);
  sim.run(100.0);  // warm-up
  const std::uint64_t before = sim.spike_count(0) + sim.spike_count(1);
  const long recorded = count_allocations([&] { sim.run(1000.0); });
  const std::uint64_t spikes = sim.spike_count(0) + sim.spike_count(1) - before;
  // Writes: whole chunks, and each recording at the end of the run; a few allocations each
  // (about 4 here: 52 for 14 writes of 12,490 spikes).
  const auto writes = static_cast<long>(spikes / 1024 + 2);
  EXPECT_GT(spikes, 10000u);
  EXPECT_LE(recorded - regime, 8 * writes) << spikes << " spikes, regime " << regime;
}

}  // namespace
}  // namespace ratesim
