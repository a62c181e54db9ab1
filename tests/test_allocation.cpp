// No heap allocation inside the step loop: every buffer is sized once. This suite replaces
// the global operator new to count allocations while a warmed-up simulation runs.

#include "circuit.hpp"

#include <ratesim/random.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/regimes/quasi_static.hpp>

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

}  // namespace
}  // namespace ratesim
